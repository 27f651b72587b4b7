"""Devices and sources survive restarts: a clean stop keeps everything, a
kill -9 loses at most the last flush interval, and the database opens after
every crash."""
import json
import random
import subprocess
import time

from conftest import CAPTURES, COLLECTOR, Sensor

WIFITE = [c for c in CAPTURES if c.name.startswith("wifite2")][0]


def device_list(collector):
    devices = collector.get("/devices/views/all/devices.json")
    return sorted(devices, key=lambda d: d["kismet.device.base.key"])


def test_device_list_is_identical_after_a_clean_restart(collector):
    for cap in CAPTURES:
        s = Sensor(collector, "%s:name=%s,realtime=false" % (cap, cap.stem), extra=["--disable-retry"])
        assert s.run(timeout=60) == 0, s.out
    before = device_list(collector)
    assert len(before) > 50
    assert collector.stop() == 0
    collector.start()
    after = device_list(collector)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        assert a == b, a["kismet.device.base.macaddr"]
    assert "loaded %d devices" % len(before) in collector.log()


def test_export_dumps_the_stored_devices(collector):
    s = Sensor(collector, "%s:name=exp,realtime=false" % WIFITE, extra=["--disable-retry"])
    assert s.run(timeout=60) == 0, s.out
    live = device_list(collector)
    time.sleep(2.5)  # two flush intervals
    # Read-only: works while the collector runs.
    out = subprocess.run([str(COLLECTOR), "export", "--state-dir", str(collector.state_dir)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    exported = sorted(json.loads(out.stdout), key=lambda d: d["kismet.device.base.key"])
    assert exported == live
    lines = subprocess.run([str(COLLECTOR), "export", "--state-dir", str(collector.state_dir), "--format", "itjson"],
                           capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    assert len(lines) == len(live)


def test_kill9_loop_never_loses_devices_or_breaks_the_database(collector, crafted):
    cap = crafted(400000, aps=300, clients=30000)
    # 50 s of traffic at 8 000 packets/s: the kills land while it flows.
    sensor = Sensor(collector, "%s:name=long,realtime=false,pps=8000" % cap, log_path=collector.workdir / "sensor.log")
    sensor.start()
    rng = random.Random(1234)
    last_count = 0
    try:
        for i in range(20):
            # Whatever the collector counted more than one flush interval
            # (1 s) before the kill is on disk; the kill itself comes at a
            # random moment after that.
            counted = collector.status()["kismet.system.devices.count"]
            time.sleep(2.0 + rng.uniform(0.0, 1.0))
            collector.kill9()
            collector.start()  # the database must open every time
            count = collector.status()["kismet.system.devices.count"]
            assert count >= counted, "device count went down: %d -> %d (round %d)" % (counted, count, i)
            assert count >= last_count
            last_count = count
    finally:
        sensor.stop()
    assert last_count > 0
    assert collector.log().count("loaded ") == 21
    # The packet log holds what was acknowledged, less at most one flush
    # interval (1 s at 8 000/s, plus a batch in the writer's queue) per kill:
    # the log has no WAL and turns its memtable into a file every second.
    time.sleep(1.0)
    acked = collector.sources()["long"]["kismet.datasource.num_packets"]
    rc, body = collector.http.request("GET", "/pcap/history.pcapng", user="admin", password=collector.password)
    assert rc == 200
    (collector.workdir / "log.pcapng").write_bytes(body)
    logged = len(hashes(collector.workdir / "log.pcapng"))
    assert logged <= acked
    print("acked %d logged %d" % (acked, logged))
    assert acked - logged <= 20 * (8000 + 2048), (acked, logged)


def history(collector, query, out):
    rc, body = collector.http.request("GET", "/pcap/history.pcapng?" + query, user="admin",
                                      password=collector.password)
    assert rc == 200, body[:300]
    out.write_bytes(body)
    return out


def hashes(path, display_filter=None):
    cmd = ["tshark", "-o", "frame.generate_md5_hash:TRUE", "-r", str(path), "-T", "fields", "-e", "frame.md5_hash"]
    if display_filter:
        cmd += ["-Y", display_filter]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0 and "cut short" not in res.stderr, res.stderr
    out = res.stdout.split()
    assert all(len(h) == 32 for h in out)
    return out


def epochs(path):
    res = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.time_epoch"],
                         capture_output=True, text=True, check=True)
    return [float(x) for x in res.stdout.split()]


def test_historic_pcapng_matches_tsharks_own_filters(collector, tmp_path):
    s = Sensor(collector, "%s:name=hist,realtime=false" % WIFITE, extra=["--disable-retry"])
    assert s.run(timeout=60) == 0, s.out
    time.sleep(0.5)  # the log writer runs behind ingest by a moment
    everything = history(collector, "", tmp_path / "all.pcapng")
    assert sorted(hashes(everything)) == sorted(hashes(WIFITE))
    # A time window: the middle of the capture.
    t = epochs(WIFITE)
    lo, hi = t[len(t) // 3], t[2 * len(t) // 3]
    window = history(collector, "from=%.6f&to=%.6f" % (lo, hi), tmp_path / "window.pcapng")
    want = hashes(WIFITE, "frame.time_epoch >= %.6f && frame.time_epoch <= %.6f" % (lo, hi))
    assert want and sorted(hashes(window)) == sorted(want)
    # One BSS, and one device.
    ap = max((d for d in collector.get("/devices/views/phydot11_accesspoints/devices.json")),
             key=lambda d: d["kismet.device.base.packets.total"])
    mac = ap["kismet.device.base.macaddr"].lower()
    bss = history(collector, "bssid=%s" % mac, tmp_path / "bss.pcapng")
    assert sorted(hashes(bss)) == sorted(hashes(WIFITE, "wlan.bssid == %s" % mac))
    dev = history(collector, "device=%s" % ap["kismet.device.base.key"], tmp_path / "dev.pcapng")
    assert sorted(hashes(dev)) == sorted(hashes(WIFITE, "wlan.addr == %s" % mac))
    # Kismet's names for the same thing, and a limit.
    kis = history(collector, "", tmp_path / "k.pcapng")
    rc, body = collector.http.request("GET", "/logging/kismetdb/pcap/x.pcapng?timestamp_start=%.6f&timestamp_end=%.6f"
                                      % (lo, hi), user="admin", password=collector.password)
    assert rc == 200
    (tmp_path / "k.pcapng").write_bytes(body)
    assert sorted(hashes(kis)) == sorted(want)
    limited = history(collector, "limit=10", tmp_path / "ten.pcapng")
    assert len(hashes(limited)) == 10
    rc, _ = collector.http.request("GET", "/pcap/history.pcapng?from=yesterday", user="admin",
                                   password=collector.password)
    assert rc == 400


def test_packet_log_stays_under_its_size_limit(tmp_path, crafted):
    from conftest import Collector
    cap = crafted(300000, aps=50, clients=2000)  # ~37 MB of packets
    c = Collector(tmp_path, extra_args=["--packet-log-max", "8MiB"]).start()
    try:
        # A paced replay drops its oldest packets when its ring fills (as a
        # live source does); a ring that holds the whole capture keeps the
        # count exact even on a loaded machine.
        s = Sensor(c, "%s:name=big,realtime=false,pps=100000" % cap, extra=["--buffer", "64MiB"],
                   log_path=tmp_path / "sensor.log").start()
        peak = 0
        while s.proc.poll() is None:
            peak = max(peak, c.status()["hopwire.system.packet_log.bytes"])
            time.sleep(0.2)
        assert s.wait() == 0
        st = c.status()
        peak = max(peak, st["hopwire.system.packet_log.bytes"])
        assert peak <= 8 << 20, peak
        assert c.sources()["big"]["kismet.datasource.num_packets"] == 300000  # ingest went on
        # The log kept the newest packets: history has some, not all.
        rc, body = c.http.request("GET", "/pcap/history.pcapng", user="admin", password=c.password)
        (tmp_path / "h.pcapng").write_bytes(body)
        kept = len(hashes(tmp_path / "h.pcapng"))
        assert 0 < kept < 300000
    finally:
        c.stop()

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
    sensor = Sensor(collector, "%s:name=long,realtime=false,pps=20000" % cap, log_path=collector.workdir / "sensor.log")
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

"""Full disk (issue 14): the collector's state directory on a small tmpfs
this test mounts, and a replay big enough to fill it with the packet log on.
While the store fails the collector stops acknowledging (the sensor keeps
the data in its ring and says so) and /system/status.json says "failing";
when space returns it resumes by itself, and every acknowledged packet,
every source and every device is there, before and after a restart."""
import os
import subprocess
import time

import pytest

from conftest import Collector, Sensor, frame_count

FRAMES = 1_000_000  # ~112 MB of capture, ~124 MB of packet log: well over 64 MiB
SECOND = 300_000  # the second replay fits in what the 256 MiB mount has left
DEVICES = 50 + 1000  # make_capture's APs and clients
# Packet-log shedding starts below this much free space: small, so that
# shedding does not hide the failure this test is about.
LOW_WATER = 1024 * 1024
STORAGE_KEYS = ("hopwire.system.storage.state", "hopwire.system.storage.acks_paused",
                "hopwire.system.storage.free_bytes", "hopwire.system.storage.write_errors",
                "hopwire.system.storage.last_error")


def storage(st):
    return {k: st.get(k) for k in STORAGE_KEYS}


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    d = tmp_path / "disk"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(d)], capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % (r.stderr.strip() or "mount exited with %d" % r.returncode))
    yield d
    if subprocess.run(["umount", str(d)], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["umount", "-l", str(d)], capture_output=True, timeout=30)


def kept(c):
    """What must survive: per source UUID, its name, packet count and last batch sequence; and the device count."""
    sources = {s["kismet.datasource.uuid"]: (s["kismet.datasource.name"], s["kismet.datasource.num_packets"],
                                             s["hopwire.datasource.last_seq"])
               for s in c.get("/datasource/all_sources.json")}
    return sources, c.status()["kismet.system.devices.count"]


def wait_status(c, what, done, timeout, sensor=None):
    deadline = time.monotonic() + timeout
    while True:
        st = c.status()
        if done(st):
            return st
        rc = c.proc.poll()
        assert rc is None, "collector exited with %s while waiting for %s" % (rc, what)
        if sensor is not None:
            rc = sensor.proc.poll()
            assert rc is None, "the sensor exited with %s before %s; storage: %s; sensor log:\n%s" % (
                rc, what, storage(st), sensor.output()[-2000:])
        assert time.monotonic() < deadline, "no %s within %d s; storage: %s" % (what, timeout, storage(st))
        time.sleep(0.2)


def test_full_disk_pauses_acks_resumes_by_itself_and_loses_nothing(tmp_path, small_disk, crafted):
    cap = crafted(FRAMES)
    frames = frame_count(cap)
    c = Collector(tmp_path, extra_args=["--storage-low-water", str(LOW_WATER)])
    c.state_dir = small_disk / "state"  # the log stays off the small disk
    c.start()
    sensors = []
    try:
        assert c.status()["hopwire.system.storage.state"] == "ok"
        fill = Sensor(c, "%s:name=fill,realtime=false" % cap, log_path=tmp_path / "sensor-fill.log").start()
        sensors.append(fill)

        # The disk fills: the store fails, acknowledgements stop, HTTP still answers.
        wait_status(c, "storage state 'failing' with acks paused",
                    lambda st: st.get("hopwire.system.storage.state") == "failing"
                    and st.get("hopwire.system.storage.acks_paused") is True, timeout=180, sensor=fill)
        acked = c.sources()["fill"]["kismet.datasource.num_packets"]
        assert acked < frames, "all %d frames were counted although the store is failing" % frames
        deadline = time.monotonic() + 30
        while "not acknowledging" not in fill.output().lower():
            assert fill.proc.poll() is None, "the sensor exited with %s while the store failed:\n%s" % (
                fill.proc.returncode, fill.output()[-2000:])
            assert time.monotonic() < deadline, "the sensor's log does not say the collector is not " \
                                                "acknowledging:\n%s" % fill.output()[-2000:]
            time.sleep(0.5)
        st = c.status()
        assert st["hopwire.system.storage.state"] == "failing", storage(st)

        # Space returns: ingest resumes by itself, exact.
        subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True, timeout=30)
        assert fill.wait(timeout=300) == 0, fill.out[-3000:]
        assert c.sources()["fill"]["kismet.datasource.num_packets"] == frames
        wait_status(c, "storage state 'ok' with acks flowing",
                    lambda st: st.get("hopwire.system.storage.state") == "ok"
                    and st.get("hopwire.system.storage.acks_paused") is False, timeout=60)
        before = kept(c)
        assert before[1] == DEVICES, before

        # A clean restart: the sources, their counts and the devices are all on disk.
        assert c.stop() == 0, c.log()[-3000:]
        c.start()
        assert kept(c) == before

        # A second replay on the same mount ends exact too, and survives a restart.
        cap2 = crafted(SECOND)
        second = Sensor(c, "%s:name=second,realtime=false" % cap2, log_path=tmp_path / "sensor-second.log")
        sensors.append(second)
        assert second.run(timeout=300) == 0, second.out[-3000:]
        sources, devices = kept(c)
        by_name = {name: n for name, n, _ in sources.values()}
        assert by_name == {"fill": frames, "second": frame_count(cap2)}, by_name
        assert devices == DEVICES
        after = kept(c)
        assert c.stop() == 0, c.log()[-3000:]
        c.start()
        assert kept(c) == after
        st = c.status()
        assert st["hopwire.system.storage.state"] == "ok", storage(st)
    finally:
        for s in sensors:
            s.stop()
        c.stop()

"""Store and forward: the collector is killed mid-stream and comes back on
the same state directory; nothing is lost and nothing counted twice."""
import time

from conftest import Sensor, frame_count


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def received(collector, name):
    try:
        return collector.sources().get(name, {}).get("kismet.datasource.num_packets", 0)
    except Exception:
        return 0


def test_collector_kill9_midstream_loses_nothing_and_counts_nothing_twice(workdir, crafted):
    from conftest import Collector
    frames = 200_000
    cap = crafted(frames)
    assert frame_count(cap) == frames
    collector = Collector(workdir).start()
    try:
        # Paced at 40 000 packets/s, the replay takes about 5 s; the ring is
        # large enough to hold the whole outage.
        sensor = Sensor(collector, "%s:name=survivor,pps=40000" % cap, extra=["--buffer", "64MiB"],
                        log_path=workdir / "sensor.log").start()
        wait_until(lambda: received(collector, "survivor") > 30_000, 30, "packets before the kill")
        collector.kill9()
        time.sleep(0.5)
        collector.start()
        assert sensor.wait(timeout=120) == 0, sensor.output()
        src = collector.sources()["survivor"]
        assert src["kismet.datasource.num_packets"] == frames
        assert src["hopwire.datasource.dropped_ring"] == 0
        assert src["hopwire.datasource.reconnects"] >= 1
        assert "retrying" in sensor.output()
    finally:
        collector.stop()


def test_outage_that_overflows_a_small_ring_is_accounted_exactly(workdir, crafted):
    from conftest import Collector
    frames = 200_000
    cap = crafted(frames)
    collector = Collector(workdir).start()
    try:
        # 512 KiB hold about 4 000 frames: a 3 s outage at 20 000 packets/s
        # must overflow it. Every frame is then either counted or dropped.
        sensor = Sensor(collector, "%s:name=overflow,pps=20000" % cap, extra=["--buffer", "512KiB"],
                        log_path=workdir / "sensor.log").start()
        wait_until(lambda: received(collector, "overflow") > 20_000, 30, "packets before the kill")
        collector.kill9()
        time.sleep(3)
        collector.start()
        assert sensor.wait(timeout=120) == 0, sensor.output()
        src = collector.sources()["overflow"]
        dropped = src["hopwire.datasource.dropped_ring"]
        assert dropped > 0
        assert src["kismet.datasource.num_packets"] + dropped == frames
    finally:
        collector.stop()


def test_sensor_restart_resumes_counting_on_the_same_source(collector, crafted):
    cap = crafted(20_000)
    first = Sensor(collector, "%s:name=resume,pps=20000" % cap).start()
    wait_until(lambda: received(collector, "resume") > 2_000, 30, "first packets")
    first.stop()
    partial = received(collector, "resume")
    assert 0 < partial < 20_000
    second = Sensor(collector, "%s:name=resume,realtime=false" % cap, extra=["--disable-retry"])
    assert second.run(timeout=60) == 0, second.out
    src = collector.sources()["resume"]
    # The second process is a new boot: its 20 000 frames add to what the
    # first delivered before it was stopped.
    assert src["kismet.datasource.num_packets"] == partial + 20_000

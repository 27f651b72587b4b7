"""By default every listener is on loopback."""
import subprocess
import time

from conftest import CAPTURES, Sensor


def listeners_of(pid):
    out = subprocess.run(["ss", "-H", "-ltnp"], check=True, capture_output=True, text=True).stdout
    addrs = []
    for line in out.splitlines():
        if "pid=%d," % pid in line:
            addrs.append(line.split()[3])
    return addrs


def test_collector_listens_only_on_loopback_by_default(collector):
    addrs = listeners_of(collector.proc.pid)
    assert len(addrs) == 2, addrs  # HTTP/WebSocket and legacy TCP
    for a in addrs:
        host = a.rsplit(":", 1)[0]
        assert host in ("127.0.0.1", "[::1]"), a


def test_sensor_opens_no_listener(collector, crafted):
    cap = crafted(20_000)
    sensor = Sensor(collector, "%s:name=nolisten,pps=10000" % cap).start()
    time.sleep(0.5)
    try:
        assert listeners_of(sensor.proc.pid) == []
    finally:
        sensor.stop()

"""The collector speaks systemd's sd_notify protocol to a real NOTIFY_SOCKET:
READY=1 once storage is loaded and the listeners answer, WATCHDOG=1 while
it runs, STOPPING=1 on SIGTERM."""
import signal
import socket
import subprocess
import time

from conftest import Collector


def receive(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(4096).decode()
    except socket.timeout:
        return None


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def start_unwaited(c):
    """Starts the collector without waiting for its port: the notify socket
    is what tells us it is ready."""
    log = open(c.log_path, "ab")
    c.proc = subprocess.Popen(c.args(), stdout=log, stderr=subprocess.STDOUT, env=c.env)
    log.close()


def notify_socket(path_or_name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path_or_name)
    return s


def test_ready_only_once_listening_then_watchdog_then_stopping(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = notify_socket(path)
    # 1 s watchdog: pings expected every 500 ms.
    c = Collector(tmp_path, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
    c.env.pop("WATCHDOG_PID", None)
    start_unwaited(c)
    try:
        msg = receive(sock, 30)
        assert msg is not None, "no notification within 30 s; log:\n" + c.log()
        assert msg.split("\n")[0] == "READY=1", msg
        assert "STATUS=listening on 127.0.0.1:%d" % c.port in msg
        # READY means the HTTP port answers already, at the moment it arrives.
        assert port_answers(c.port), "READY=1 sent before the HTTP port answered"
        status, _ = c.http.request("GET", "/system/status.json")
        assert status == 401  # an HTTP answer, not just an open port

        pings = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            m = receive(sock, 1.0)
            if m is not None:
                assert m == "WATCHDOG=1", m
                pings.append(time.monotonic())
        # 6 in 3 s at a 500 ms period; allow for a busy machine.
        assert len(pings) >= 4, pings
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < 1.0, gaps  # always inside the watchdog timeout
        assert min(gaps) > 0.3, gaps  # paced by the timer, not a burst

        c.proc.send_signal(signal.SIGTERM)
        stopping = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = receive(sock, 1.0)
            if m and m.startswith("STOPPING=1"):
                stopping = m
                break
        assert stopping is not None, "no STOPPING=1 after SIGTERM; log:\n" + c.log()
        assert c.proc.wait(timeout=20) == 0
    finally:
        c.stop()
        sock.close()


def test_abstract_socket_and_a_watchdog_meant_for_another_process(tmp_path):
    name = "@hopwire-test-%d" % time.monotonic_ns()
    sock = notify_socket("\0" + name[1:])
    # WATCHDOG_PID names another process (pid 1): the watchdog is not ours.
    c = Collector(tmp_path, env={"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
    start_unwaited(c)
    try:
        msg = receive(sock, 30)
        assert msg is not None and msg.startswith("READY=1"), (msg, c.log())
        assert receive(sock, 1.0) is None, "watchdog pings although WATCHDOG_PID is another process"
        c.proc.send_signal(signal.SIGTERM)
        msg = receive(sock, 20)
        assert msg is not None and msg.startswith("STOPPING=1"), msg
        assert c.proc.wait(timeout=20) == 0
    finally:
        c.stop()
        sock.close()


def test_no_notify_socket_no_change(collector):
    # The usual fixture runs without NOTIFY_SOCKET: the collector starts and
    # answers as before.
    assert "sd_notify" not in collector.log()
    assert collector.status()["hopwire.system.packets_received"] == 0

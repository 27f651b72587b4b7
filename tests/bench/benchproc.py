"""Small helpers the benchmark scripts in tests/bench share: a free loopback
port, waiting for the collector to listen, and /proc readers. Plain stdlib.

A script run as tests/bench/X.py has this directory on sys.path already:
`from benchproc import free_port` needs nothing more.
"""
import os
import socket
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    """Until 127.0.0.1:port accepts a connection: 200 tries, 50 ms apart, then SystemExit("collector did not start")."""
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("collector did not start")


def proc_status_kib(pid, key):
    """A KiB field of /proc/PID/status (VmRSS, VmHWM, ...); 0 when the process or the field is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid, gone=None):
    """User + system CPU seconds of a process and all its threads so far, from /proc/PID/stat.
    When the process is gone: `gone` if given, else the OSError."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        if gone is None:
            raise
        return gone
    return (int(fields[11]) + int(fields[12])) / CLK_TCK

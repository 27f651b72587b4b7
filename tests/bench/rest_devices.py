#!/usr/bin/env python3
"""Device list over real HTTP: a collector tracks N devices (a sensor replays
a crafted capture), then curl fetches /devices/views/all/devices.json and
/devices/last-time/TS/devices.json. Prints times and sizes; a benchmark, not
a test.

  tests/bench/rest_devices.py [--build build] [--clients 95000] [--aps 5000] [--runs 3]
"""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = pathlib.Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("collector did not start")


def curl_time(url, pw):
    out = subprocess.run(["curl", "-s", "-u", "admin:" + pw, "-o", "/dev/null", "-w", "%{time_total} %{size_download}",
                          url], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))


def curl_time_rss(url, pw, pid):
    """curl_time, and the collector's RSS growth while the answer was made:
    the peak of VmRSS sampled every 10 ms, less VmRSS just before."""
    before = rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.01)

    th = threading.Thread(target=sample)
    th.start()
    try:
        t, size = curl_time(url, pw)
    finally:
        done.set()
        th.join()
    return t, size, (peak[0] - before) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--clients", type=int, default=95000)
    ap.add_argument("--aps", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-devices", default=None, help="the collector's --max-devices (default: its own)")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        cap = tmp / "many.pcap"
        frames = (args.clients + args.aps) * 6
        subprocess.run([sys.executable, str(TOP / "tests/tools/make_capture.py"), str(cap), "--frames", str(frames),
                        "--aps", str(args.aps), "--clients", str(args.clients)], check=True)
        port = free_port()
        pw = "bench-password"
        env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD=pw)
        col = subprocess.Popen([str(build / "collector/hopwire-collector"), "--state-dir", str(tmp / "state"),
                                "--listen", "127.0.0.1:%d" % port, "--remote-capture-port", "0", "--log-level", "warn"]
                               + (["--max-devices", args.max_devices] if args.max_devices else []), env=env)
        try:
            wait_port(port)
            subprocess.run([str(build / "sensor/hopwire-sensor"), "--connect", "127.0.0.1:%d" % port, "--user", "admin",
                            "--disable-retry", "--source", "%s:name=many,realtime=false" % cap], env=dict(env, HOPWIRE_PASSWORD=pw),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            base = "http://127.0.0.1:%d" % port
            status = json.loads(subprocess.run(["curl", "-s", "-u", "admin:" + pw, base + "/system/status.json"],
                                               capture_output=True, text=True, check=True).stdout)
            n = status["kismet.system.devices.count"]
            print("devices tracked: %d, collector RSS %.1f MiB" % (n, status["hopwire.system.memory.rss_bytes"] / 1048576))
            for i in range(args.runs):
                t, size, grew = curl_time_rss(base + "/devices/views/all/devices.json", pw, col.pid)
                print("GET /devices/views/all/devices.json: %.3f s, %.1f MiB; collector RSS grew %.1f MiB during it" % (
                    t, size / 1048576, grew))
            ts = int(time.time()) + 1
            time.sleep(1.2)
            # Touch a few devices: a small capture of 100 clients.
            small = tmp / "few.pcap"
            subprocess.run([sys.executable, str(TOP / "tests/tools/make_capture.py"), str(small), "--frames", "200",
                            "--aps", "1", "--clients", "99"], check=True)
            subprocess.run([str(build / "sensor/hopwire-sensor"), "--connect", "127.0.0.1:%d" % port, "--user", "admin",
                            "--disable-retry", "--source", "%s:name=few,realtime=false" % small],
                           env=dict(env, HOPWIRE_PASSWORD=pw), check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            body = subprocess.run(["curl", "-s", "-u", "admin:" + pw, base + "/devices/last-time/%d/devices.json" % ts],
                                  capture_output=True, text=True, check=True).stdout
            changed = len(json.loads(body)["kismet.device.list"])
            for i in range(args.runs):
                t, size = curl_time(base + "/devices/last-time/%d/devices.json" % ts, pw)
                print("GET /devices/last-time/TS (%d of %d changed): %.4f s, %.1f KiB" % (changed, n, t, size / 1024))
        finally:
            col.terminate()
            col.wait()


if __name__ == "__main__":
    main()

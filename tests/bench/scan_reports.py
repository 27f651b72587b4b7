#!/usr/bin/env python3
"""Scan report throughput: batches of 1 000 reports posted in a loop over
one keep-alive connection to a collector on loopback. Prints reports/s and
latency percentiles; a benchmark, not a test.

  tests/bench/scan_reports.py [--build build] [--batches 200] [--size 1000]
"""
import argparse
import base64
import http.client
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from e2e_throughput import TOP, free_port, wait_port  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--size", type=int, default=1000)
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-scan-bench-"))
    port = free_port()
    pw = "bench-password-not-secret"
    coll = subprocess.Popen([str(build / "collector/hopwire-collector"), "--state-dir", str(work / "state"),
                             "--listen", "127.0.0.1:%d" % port, "--remote-capture-port", "0", "--log-level", "warn"],
                            env=dict(os.environ, HOPWIRE_ADMIN_PASSWORD=pw))
    try:
        wait_port(port)
        token = subprocess.run([str(build / "collector/hopwire-collector"), "token", "create", "--state-dir",
                                str(work / "state"), "--role", "scanreport", "--name", "bench"], check=True,
                               capture_output=True, text=True).stdout.strip()
        rng = random.Random(7)
        bodies = []
        for b in range(args.batches):
            reports = []
            for i in range(args.size):
                n = rng.randrange(50000)
                reports.append({"bssid": "02:%02x:%02x:%02x:00:01" % (n >> 16, (n >> 8) & 255, n & 255),
                                "ssid": "net-%d" % n, "signal": -30 - n % 60, "encryption": ["WPA2-PSK"],
                                "lat": 52.0 + n / 1e6, "lon": 13.0 + n / 1e6, "channel": 1 + n % 11})
            bodies.append(json.dumps({"source_name": "bench-phone", "reports": reports}))
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        lat = []
        t0 = time.perf_counter()
        for body in bodies:
            a = time.perf_counter()
            conn.request("POST", "/phy/phy80211/scan/scan_report.cmd", body=body, headers=headers)
            res = conn.getresponse()
            out = json.loads(res.read())
            lat.append(time.perf_counter() - a)
            if res.status != 200 or out["accepted"] != args.size:
                raise SystemExit("unexpected answer %d %r" % (res.status, out))
        total = time.perf_counter() - t0
        lat.sort()
        n = len(lat)
        print("batches: %d x %d reports over one connection" % (n, args.size))
        print("reports/s: %.0f" % (n * args.size / total))
        print("latency per batch: median %.1f ms, p99 %.1f ms, max %.1f ms" % (
            1000 * statistics.median(lat), 1000 * lat[min(n - 1, int(n * 0.99))], 1000 * lat[-1]))
    finally:
        coll.terminate()
        coll.wait()
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

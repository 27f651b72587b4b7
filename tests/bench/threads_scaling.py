#!/usr/bin/env python3
"""Ingest from several sensors at once against the collector's --threads:
for each thread count, one collector; K sensors (real hopwire-sensor
processes) each replay their own crafted capture as fast as possible
(realtime=false) at the same time, over plain WebSockets on loopback. The
captures share their APs and have distinct clients, as sensors on one site
hear the same APs and different stations. Prints, per thread count and run,
the packets/s of all sensors together (frames / wall time from the first
start to the last exit) and the collector's CPU per packet; then checks
that the collector counted every frame of every run. A benchmark, not a
test: the numbers are printed, nothing passes or fails on them.

  tests/bench/threads_scaling.py [--build build] [--threads 1,2] [--sensors 2] [--frames 500000] [--runs 3]
"""
import argparse
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchproc import cpu_seconds, free_port, wait_port

TOP = pathlib.Path(__file__).resolve().parents[2]


def start_sensor(sensor, port, token, cap, name):
    env = dict(os.environ, HOPWIRE_APIKEY=token)
    args = [str(sensor), "--connect", "127.0.0.1:%d" % port, "--disable-retry", "--log-level", "warn",
            "--source", "%s:name=%s,realtime=false" % (cap, name)]
    return subprocess.Popen(args, env=env)


def packets_counted(port, token):
    """The collector's own count of packets over all sources (/datasource/all_sources.json)."""
    req = urllib.request.Request("http://127.0.0.1:%d/datasource/all_sources.json" % port,
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        sources = json.load(r)
    return sum(s.get("kismet.datasource.num_packets", 0) for s in sources)


def run_threads(args, threads, caps, frames_each):
    build = pathlib.Path(args.build)
    collector_bin = build / "collector" / "hopwire-collector"
    sensor_bin = build / "sensor" / "hopwire-sensor"
    state = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-threads-"))
    port = free_port()
    env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD="bench-password-not-secret")
    coll = subprocess.Popen([str(collector_bin), "--state-dir", str(state), "--listen", "127.0.0.1:%d" % port,
                             "--remote-capture-port", "0", "--log-level", "warn", "--threads", str(threads)],
                            env=env)
    rows = []
    try:
        wait_port(port)
        token = subprocess.run([str(collector_bin), "token", "create", "--state-dir", str(state), "--role",
                                "datasource", "--name", "bench"], check=True, capture_output=True,
                               text=True).stdout.strip()
        reader = subprocess.run([str(collector_bin), "token", "create", "--state-dir", str(state), "--role",
                                 "readonly", "--name", "reader"], check=True, capture_output=True,
                                text=True).stdout.strip()
        expected = 0
        for i in range(args.runs):
            c0 = cpu_seconds(coll.pid)
            t0 = time.perf_counter()
            procs = [start_sensor(sensor_bin, port, token, cap, "t%d-r%d-s%d" % (threads, i, k))
                     for k, cap in enumerate(caps)]
            for p in procs:
                if p.wait() != 0:
                    raise SystemExit("a sensor failed with %d" % p.returncode)
            wall = time.perf_counter() - t0
            cpu = cpu_seconds(coll.pid) - c0
            expected += frames_each * len(caps)
            rows.append((wall, cpu))
        # Every packet acknowledged is counted before the sensor exits.
        counted = packets_counted(port, reader)
    finally:
        coll.send_signal(signal.SIGTERM)
        coll.wait()
        subprocess.run(["rm", "-rf", str(state)])
    return rows, counted, expected


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--threads", default="1,2", help="comma-separated --threads values")
    ap.add_argument("--sensors", type=int, default=2)
    ap.add_argument("--frames", type=int, default=500_000, help="frames per sensor per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--aps", type=int, default=50)
    ap.add_argument("--clients", type=int, default=1000, help="client stations per sensor's capture")
    args = ap.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-threads-caps-"))
    maker = TOP / "tests" / "tools" / "make_capture.py"
    caps = []
    for k in range(args.sensors):
        cap = work / ("s%d.pcap" % k)
        subprocess.run([sys.executable, str(maker), str(cap), "--frames", str(args.frames), "--aps",
                        str(args.aps), "--clients", str(args.clients), "--client-offset",
                        str(k * args.clients)], check=True)
        caps.append(cap)

    print("%d sensors at once, %d frames each per run (%d APs shared, %d clients each), %d cores here" % (
        args.sensors, args.frames, args.aps, args.clients, os.cpu_count()))
    for threads in [int(x) for x in args.threads.split(",")]:
        rows, counted, expected = run_threads(args, threads, caps, args.frames)
        total = args.frames * args.sensors
        rates = [total / w for w, _ in rows]
        print("--threads %d: packets/s %s (median %.0f); collector CPU %s us/packet; counted %d of %d%s" % (
            threads, ", ".join("%.0f" % r for r in rates), statistics.median(rates),
            ", ".join("%.2f" % (c / total * 1e6) for _, c in rows), counted, expected,
            "" if counted == expected else "  MISMATCH"))
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

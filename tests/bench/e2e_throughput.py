#!/usr/bin/env python3
"""End-to-end throughput over loopback: a sensor replays a crafted capture
as fast as possible (realtime=false) to a collector over a plain WebSocket.
Prints packets/s, MB/s and the sensor's peak RSS; a benchmark, not a test.

  tests/bench/e2e_throughput.py [--build build] [--frames 1000000] [--runs 3] [--config FILE]
"""
import argparse
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchproc import cpu_seconds, free_port, wait_port

TOP = pathlib.Path(__file__).resolve().parents[2]


def run_sensor(sensor, port, token, cap, name, extra=()):
    env = dict(os.environ, HOPWIRE_APIKEY=token)
    args = [str(sensor), "--connect", "127.0.0.1:%d" % port, "--disable-retry", "--log-level", "warn",
            "--source", "%s:name=%s,realtime=false" % (cap, name)] + list(extra)
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("sensor failed with %d" % os.waitstatus_to_exitcode(status))
    return elapsed, usage.ru_maxrss  # KiB


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=10_000, help="frames for the small RSS run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--aps", type=int, default=50, help="access points in the crafted mix")
    ap.add_argument("--clients", type=int, default=1000, help="client stations in the crafted mix")
    ap.add_argument("--packet-log", default=None, help="--packet-log-max for the collector (default: its own)")
    ap.add_argument("--config", default=None, help="a YAML file for the collector's --config (say `alerts: off`)")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    collector_bin = build / "collector" / "hopwire-collector"
    sensor_bin = build / "sensor" / "hopwire-sensor"

    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-bench-"))
    big = work / "big.pcap"
    small = work / "small.pcap"
    maker = TOP / "tests" / "tools" / "make_capture.py"
    subprocess.run([sys.executable, str(maker), str(big), "--frames", str(args.frames), "--aps", str(args.aps),
                    "--clients", str(args.clients)], check=True)
    subprocess.run([sys.executable, str(maker), str(small), "--frames", str(args.small)], check=True)
    big_bytes = big.stat().st_size

    state = work / "state"
    port = free_port()
    env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD="bench-password-not-secret")
    coll = subprocess.Popen([str(collector_bin), "--state-dir", str(state), "--listen", "127.0.0.1:%d" % port,
                             "--remote-capture-port", "0", "--log-level", "warn"]
                            + (["--packet-log-max", args.packet_log] if args.packet_log else [])
                            + (["--config", args.config] if args.config else []), env=env)
    try:
        wait_port(port)
        token = subprocess.run([str(collector_bin), "token", "create", "--state-dir", str(state), "--role",
                                "datasource", "--name", "bench"], check=True, capture_output=True,
                               text=True).stdout.strip()
        run_sensor(sensor_bin, port, token, small, "warmup")  # page cache, first-connect costs
        times, rss_big, cpu = [], [], []
        for i in range(args.runs):
            c0 = cpu_seconds(coll.pid)
            t, rss = run_sensor(sensor_bin, port, token, big, "big-%d" % i)
            cpu.append(cpu_seconds(coll.pid) - c0)
            times.append(t)
            rss_big.append(rss)
        rss_small = [run_sensor(sensor_bin, port, token, small, "small-%d" % i)[1] for i in range(args.runs)]
        with open("/proc/%d/status" % coll.pid) as f:
            coll_hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    finally:
        coll.send_signal(signal.SIGTERM)
        coll.wait()

    t = statistics.median(times)
    print("frames per run:            %d (%.1f MB capture file; %d APs, %d clients)" % (
        args.frames, big_bytes / 1e6, args.aps, args.clients))
    print("end-to-end time (median):  %.3f s   runs: %s" % (t, ", ".join("%.3f" % x for x in times)))
    print("throughput:                %.0f packets/s" % (args.frames / t))
    print("                           %.1f MB/s of capture file" % (big_bytes / t / 1e6))
    print("collector CPU per run:     %s s (user + system, all threads, from start to the sensor's exit)" % (
        ", ".join("%.2f" % x for x in cpu)))
    print("sensor peak RSS, %7d frames: %s KiB" % (args.frames, ", ".join(map(str, rss_big))))
    print("sensor peak RSS, %7d frames: %s KiB" % (args.small, ", ".join(map(str, rss_small))))
    print("collector peak RSS:        %d KiB" % coll_hwm)
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

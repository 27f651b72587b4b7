#!/usr/bin/env python3
"""Ingest rate with the packet log on and off: a sensor replays a crafted
capture as fast as possible into a collector started with
--packet-log-max 0 (off) or the default (on). Prints packets/s for each and
the ratio, and how many packets the log wrote and dropped; a benchmark, not
a test.

  tests/bench/packet_log_ingest.py [--build build] [--frames 1000000] [--runs 3]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from e2e_throughput import TOP, free_port, run_sensor, wait_port  # noqa: E402


def measure(build, cap, frames, runs, log_on):
    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-log-bench-"))
    port = free_port()
    pw = "bench-password-not-secret"
    args = [str(build / "collector/hopwire-collector"), "--state-dir", str(work / "state"), "--listen",
            "127.0.0.1:%d" % port, "--remote-capture-port", "0", "--log-level", "warn"]
    if not log_on:
        args += ["--packet-log-max", "0"]
    coll = subprocess.Popen(args, env=dict(os.environ, HOPWIRE_ADMIN_PASSWORD=pw))
    try:
        wait_port(port)
        token = subprocess.run([str(build / "collector/hopwire-collector"), "token", "create", "--state-dir",
                                str(work / "state"), "--role", "datasource", "--name", "bench"], check=True,
                               capture_output=True, text=True).stdout.strip()
        times = [run_sensor(build / "sensor/hopwire-sensor", port, token, cap, "run-%d" % i)[0] for i in range(runs)]
        time.sleep(1)
        status = json.loads(subprocess.run(["curl", "-s", "-u", "admin:" + pw,
                                            "http://127.0.0.1:%d/system/status.json" % port],
                                           capture_output=True, text=True, check=True).stdout)
    finally:
        coll.terminate()
        coll.wait()
        subprocess.run(["rm", "-rf", str(work)])
    return times, status


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-log-cap-"))
    cap = tmp / "big.pcap"
    subprocess.run([sys.executable, str(TOP / "tests/tools/make_capture.py"), str(cap), "--frames", str(args.frames)],
                   check=True)
    rates = {}
    for label, on in (("packet log off", False), ("packet log on", True)):
        times, status = measure(build, cap, args.frames, args.runs, on)
        rates[label] = args.frames / statistics.median(times)
        extra = ""
        if on:
            extra = "  logged %d, dropped %d, log %.1f MiB" % (
                status["hopwire.system.packet_log.packets_logged"], status["hopwire.system.packet_log.packets_dropped"],
                status["hopwire.system.packet_log.bytes"] / 1048576)
        print("%-16s %10.0f packets/s   runs: %s s%s" % (label, rates[label], ", ".join("%.3f" % t for t in times),
                                                          extra))
    print("with the log: %.1f %% of the rate without it" % (100 * rates["packet log on"] / rates["packet log off"]))
    subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()

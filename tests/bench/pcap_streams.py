#!/usr/bin/env python3
"""Ingest rate with live pcap-ng streams open: a sensor replays a crafted
capture as fast as possible while 0, 1 or 20 curl clients read
/pcap/all_packets.pcapng, and while one client reads at 1 KiB/s. Prints the
end-to-end packets/s of each case and what the streams sent and dropped; a
benchmark, not a test.

  tests/bench/pcap_streams.py [--build build] [--frames 1000000] [--runs 3]
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


def get_json(port, pw, path):
    return json.loads(subprocess.run(["curl", "-s", "-u", "admin:" + pw, "http://127.0.0.1:%d%s" % (port, path)],
                                     capture_output=True, text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-pcap-bench-"))
    cap = work / "big.pcap"
    subprocess.run([sys.executable, str(TOP / "tests/tools/make_capture.py"), str(cap), "--frames", str(args.frames)],
                   check=True)
    port = free_port()
    pw = "bench-password-not-secret"
    env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD=pw)
    coll = subprocess.Popen([str(build / "collector/hopwire-collector"), "--state-dir", str(work / "state"),
                             "--listen", "127.0.0.1:%d" % port, "--remote-capture-port", "0", "--log-level", "warn",
                             # The packet log's disk writes would add their own noise; its cost is measured
                             # by packet_log_ingest.py.
                             "--packet-log-max", "0"],
                            env=env)
    results = {}
    try:
        wait_port(port)
        token = subprocess.run([str(build / "collector/hopwire-collector"), "token", "create", "--state-dir",
                                str(work / "state"), "--role", "datasource", "--name", "bench"], check=True,
                               capture_output=True, text=True).stdout.strip()
        run_sensor(build / "sensor/hopwire-sensor", port, token, cap, "warmup")
        cases = [("no stream", 0, None), ("1 stream at 1 KiB/s", 1, "1K"), ("1 stream", 1, None),
                 ("20 streams", 20, None)]
        for label, n, rate in cases:
            times, stats = [], []
            for run in range(args.runs):
                clients = []
                for _ in range(n):
                    cmd = ["curl", "-N", "-s", "-u", "admin:" + pw, "-o", "/dev/null"]
                    if rate:
                        cmd += ["--limit-rate", rate]
                    clients.append(subprocess.Popen(cmd + ["http://127.0.0.1:%d/pcap/all_packets.pcapng" % port]))
                deadline = time.monotonic() + 20
                while len(get_json(port, pw, "/pcap/streams.json")) < n:
                    if time.monotonic() > deadline:
                        raise SystemExit("streams did not open")
                    time.sleep(0.05)
                t, _ = run_sensor(build / "sensor/hopwire-sensor", port, token, cap, "run-%s-%d" % (n, run))
                times.append(t)
                stats.append(get_json(port, pw, "/pcap/streams.json"))
                for c in clients:
                    c.terminate()
                    c.wait()
                while get_json(port, pw, "/pcap/streams.json"):
                    time.sleep(0.05)
            med = statistics.median(times)
            results[label] = args.frames / med
            extra = ""
            if n:
                sent = [s["hopwire.pcap.stream.packets_sent"] for st in stats for s in st]
                dropped = [s["hopwire.pcap.stream.packets_dropped"] for st in stats for s in st]
                extra = "  (per stream at the end of a run: sent %d-%d, dropped %d-%d)" % (
                    min(sent), max(sent), min(dropped), max(dropped))
            print("%-22s %10.0f packets/s   runs: %s s%s" % (label, args.frames / med,
                                                             ", ".join("%.3f" % x for x in times), extra))
        base = results["no stream"]
        for label in results:
            print("%-22s %5.1f %% of the rate with no stream" % (label, 100 * results[label] / base))
    finally:
        coll.terminate()
        coll.wait()
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

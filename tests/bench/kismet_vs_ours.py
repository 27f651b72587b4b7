#!/usr/bin/env python3
"""Kismet's capture tool against our sensor, same capture, same collector,
same run: kismet_cap_pcapfile (../shared/kismet/bin, Kismet 2025-09-R1)
replays a crafted capture over the WebSocket (a datasource token as
--apikey) and over the legacy TCP port, and hopwire-sensor replays it over
the WebSocket (realtime=false). Each replay is timed from the process start
until the collector's source has every packet (polled every 20 ms); the
collector's CPU time per packet is read from /proc. Prints a table; a
benchmark, not a test.

  tests/bench/kismet_vs_ours.py [--build build] [--frames 300000] [--runs 3]
"""
import argparse
import base64
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
import uuid as uuidlib

from benchproc import cpu_seconds, free_port, wait_port

TOP = pathlib.Path(__file__).resolve().parents[2]
PCAPFILE = TOP.parent / "shared" / "kismet" / "bin" / "kismet_cap_pcapfile"
PASSWORD = "bench-password-not-secret"
LOG = pathlib.Path(tempfile.gettempdir()) / "hopwire-kismet-bench-tools.log"  # the replays' output


class Api:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.auth = "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode()

    def packets(self, name):
        req = urllib.request.Request(self.base + "/datasource/all_sources.json", headers={"Authorization": self.auth})
        with urllib.request.urlopen(req, timeout=10) as r:
            for s in json.load(r):
                if s["kismet.datasource.name"] == name:
                    return s["kismet.datasource.num_packets"]
        return 0


def timed(api, coll_pid, name, frames, args, env=None, timeout=600):
    """Starts `args`; returns (seconds until `name` has every frame, collector CPU s, tool CPU s)."""
    cpu0 = cpu_seconds(coll_pid)
    t0 = time.perf_counter()
    log = open(LOG, "ab")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    usage = None  # the tool's, once it has exited (reaped here, for its rusage)
    try:
        while True:
            got = api.packets(name)
            if got >= frames:
                break
            if usage is None:
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    usage = ru
            if usage is not None and api.packets(name) < frames:
                time.sleep(2)  # the last batch may be on its way
                if api.packets(name) < frames:
                    raise SystemExit("%s exited with %d of %d packets" % (args[0], api.packets(name), frames))
            if time.perf_counter() - t0 > timeout:
                raise SystemExit("%s: %d of %d packets after %d s" % (args[0], got, frames, timeout))
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(coll_pid) - cpu0
    finally:
        if usage is None:
            # Kismet's tool idles at the end of its file. (Not Popen's
            # send_signal: it would reap the child and lose its rusage.)
            os.kill(proc.pid, signal.SIGTERM)
            _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped above; keeps Popen from waiting again
    return elapsed, cpu, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--frames", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not PCAPFILE.exists():
        raise SystemExit("Kismet's capture tool is missing: %s (../shared/kismet)" % PCAPFILE)
    build = pathlib.Path(args.build)
    collector_bin = build / "collector" / "hopwire-collector"
    sensor_bin = build / "sensor" / "hopwire-sensor"

    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-kismet-bench-"))
    cap = work / "bench.pcap"
    subprocess.run([sys.executable, str(TOP / "tests" / "tools" / "make_capture.py"), str(cap), "--frames",
                    str(args.frames)], check=True, stdout=subprocess.DEVNULL)
    state = work / "state"
    port, tcp_port = free_port(), free_port()
    env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD=PASSWORD)
    coll = subprocess.Popen([str(collector_bin), "--state-dir", str(state), "--listen", "127.0.0.1:%d" % port,
                             "--remote-capture-port", str(tcp_port), "--kismet-sensors", "--log-level", "warn"],
                            env=env, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        token = subprocess.run([str(collector_bin), "token", "create", "--state-dir", str(state), "--role",
                                "datasource", "--name", "bench"], check=True, capture_output=True,
                               text=True).stdout.strip()
        api = Api(port)

        def ours(name):
            return timed(api, coll.pid, name, args.frames,
                         [str(sensor_bin), "--connect", "127.0.0.1:%d" % port, "--disable-retry", "--log-level",
                          "warn", "--source", "%s:name=%s,realtime=false,uuid=%s" % (cap, name, uuidlib.uuid4())],
                         env=dict(os.environ, HOPWIRE_APIKEY=token))

        def kismet(name, tcp):
            a = [str(PCAPFILE), "--connect", "127.0.0.1:%d" % (tcp_port if tcp else port), "--disable-retry",
                 "--source=%s:name=%s,uuid=%s" % (cap, name, uuidlib.uuid4())]
            return timed(api, coll.pid, name, args.frames, a + (["--tcp"] if tcp else ["--apikey", token]))

        variants = [("hopwire-sensor, WebSocket", ours),
                    ("kismet_cap_pcapfile, WebSocket", lambda n: kismet(n, False)),
                    ("kismet_cap_pcapfile, TCP", lambda n: kismet(n, True))]
        results = {v: [] for v, _ in variants}
        for run in range(args.runs):
            for i, (label, fn) in enumerate(variants):
                results[label].append(fn("r%d-%d" % (run, i)))

        print("%d frames (%.1f MB), %d runs each, interleaved; median of runs" %
              (args.frames, cap.stat().st_size / 1e6, args.runs))
        print("%-32s %12s %10s %22s %18s" % ("replay", "packets/s", "seconds", "collector CPU us/pkt",
                                             "tool CPU us/pkt"))
        for label, _ in variants:
            r = results[label]
            secs = statistics.median(x[0] for x in r)
            ccpu = statistics.median(x[1] for x in r)
            tcpu = statistics.median(x[2] for x in r)
            print("%-32s %12.0f %10.2f %22.2f %18.2f" % (label, args.frames / secs, secs, ccpu / args.frames * 1e6,
                                                          tcpu / args.frames * 1e6))
        print("(all runs, packets/s: %s)" % "; ".join(
            "%s: %s" % (label, ", ".join("%.0f" % (args.frames / x[0]) for x in results[label]))
            for label, _ in variants))
    finally:
        coll.send_signal(signal.SIGTERM)
        coll.wait(timeout=30)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Device list over real HTTP: a collector tracks N devices (a sensor replays
a crafted capture), then curl fetches /devices/views/all/devices.json and
/devices/last-time/TS/devices.json. Prints times and sizes; a benchmark, not
a test.

  tests/bench/rest_devices.py [--build build] [--clients 95000] [--aps 5000] [--runs 3]
                              [--max-devices N] [--ingest-during [--ingest-frames N]] [--replays N]

--replays N replays the capture N more times as the same source once the
devices exist, and prints each replay's rate and the collector's CPU.

--ingest-during then measures ingest against the full list (issue 18: at
1 000 000 devices, ingest while a full list is made at least 80 % of idle).
With the devices held, each run replays a capture twice, as fast as possible
(realtime=false): idle, with no list being pulled, then during, with
/devices/views/all/devices.json pulled back-to-back by one client from just
before the sensor starts until it ends, so the whole replay overlaps list
work. The capture is the one that made the devices (or, with --ingest-frames
N, N frames of the same mix), replayed as the same source: every station in
it is already tracked and already seen by that source, so the device count,
and the size of each list, stays put, and the tracker does what it does for
known devices spread over the whole table. (Another frame count pairs the
stations with other APs and SSIDs: no new devices, but lists a little
larger, 56 -> 65 MiB at 20 000 clients with 400 000 frames.)

Ingest is the collector's hopwire.system.packets_received over a replay
(checked against the capture's frame count; the link thread decodes and
tracks a batch before it counts and acknowledges it) divided by the time
the sensor streamed: from the collector's Welcome to the last Ack, both
from the sensor's log (ms), which leaves out its start and login (0.1-1 s
on a busy machine). Prints packets/s for both, during/idle, the sensor's
whole run and the collector's CPU over it, the lists' times and how much of
the streaming they covered. The sensor, the collector and curl share the
machine: on few cores a list's CPU alone can hold ingest down.
"""
import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchproc import cpu_seconds, free_port, wait_port

TOP = pathlib.Path(__file__).resolve().parents[2]


def curl_time(url, pw):
    out = subprocess.run(["curl", "-s", "-u", "admin:" + pw, "-o", "/dev/null", "-w", "%{time_total} %{size_download}",
                          url], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def curl_json(url, pw):
    return json.loads(subprocess.run(["curl", "-s", "-u", "admin:" + pw, url], capture_output=True, text=True,
                                     check=True).stdout)


def log_time(line):
    """Unix time of a hopwire log line ("2026-01-01T00:00:00.000 info ...")."""
    return datetime.datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def run_sensor(build, port, env, pw, cap, name):
    """Replays cap as fast as possible to its end (every batch acknowledged).
    Returns the sensor's wall time in seconds and, from its log, the Unix
    times it was let in (Welcome) and had the last batch acknowledged, or
    None when its log does not say."""
    t0 = time.perf_counter()
    log = subprocess.run([str(build / "sensor/hopwire-sensor"), "--connect", "127.0.0.1:%d" % port, "--user", "admin",
                          "--disable-retry", "--log-level", "info", "--source", "%s:name=%s,realtime=false" % (cap, name)],
                         env=dict(env, HOPWIRE_PASSWORD=pw), check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout.splitlines()
    wall = time.perf_counter() - t0
    up = [log_time(l) for l in log if " connected to " in l]
    done = [log_time(l) for l in log if " replay complete: " in l]
    return wall, (up[0], done[-1]) if len(up) == 1 and done else None


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


def pull_lists(url, pw, started, stop, lists):
    """Fetches url back-to-back until stop is set. Sets started as the first
    curl starts; appends (start, end, HTTP status, curl's time_total, bytes)
    per answer, start and end Unix times."""
    while not stop.is_set():
        t0 = time.time()
        started.set()
        out = subprocess.run(["curl", "-s", "-u", "admin:" + pw, "-o", "/dev/null", "-w",
                              "%{http_code} %{time_total} %{size_download}", url],
                             capture_output=True, text=True).stdout.split()  # a failed curl says 000
        lists.append((t0, time.time(), int(out[0]), float(out[1]), int(out[2])))


def wait_sources_idle(base, pw):
    """Until no source has a live link (a sensor that just ended is let go)."""
    for _ in range(500):
        if not any(s["kismet.datasource.running"] for s in curl_json(base + "/datasource/all_sources.json", pw)):
            return
        time.sleep(0.02)
    sys.exit("a source stayed connected")


def ingest(build, port, env, pw, base, pid, cap, list_url=None):
    """One replay of cap as source "many", the one that made the devices (a
    new source would add itself to every device's seen-by list and grow the
    lists). With list_url, that list is pulled back-to-back from just before
    the sensor starts until it ends. Returns the packets the collector
    counted, the streaming window (Unix times, run_sensor; the sensor's
    whole run when its log does not say), the sensor's wall time, the
    collector's CPU seconds over the sensor's run, and the lists
    (pull_lists)."""
    wait_sources_idle(base, pw)
    before = curl_json(base + "/system/status.json", pw)["hopwire.system.packets_received"]
    lists, started, stop = [], threading.Event(), threading.Event()
    th = None
    if list_url:
        th = threading.Thread(target=pull_lists, args=(list_url, pw, started, stop, lists))
        th.start()
        started.wait()
        time.sleep(0.1)  # the request is in: the collector is making the list
    c0 = cpu_seconds(pid)
    s0 = time.time()
    try:
        wall, window = run_sensor(build, port, env, pw, cap, "many")
    finally:
        s1 = time.time()
        cpu = cpu_seconds(pid) - c0
        stop.set()
        if th:
            th.join()  # lets the list in flight finish
    after = curl_json(base + "/system/status.json", pw)["hopwire.system.packets_received"]
    return after - before, window or (s0, s1), wall, cpu, lists


def report_ingest(build, port, env, pw, base, pid, tmp, cap, frames, args):
    if args.ingest_frames:
        cap = tmp / "ingest.pcap"
        frames = args.ingest_frames
        subprocess.run([sys.executable, str(TOP / "tests/tools/make_capture.py"), str(cap), "--frames", str(frames),
                        "--aps", str(args.aps), "--clients", str(args.clients)], check=True)
    url = base + "/devices/views/all/devices.json"
    n = curl_json(base + "/system/status.json", pw)["kismet.system.devices.count"]
    print("ingest: %d frames of %d APs, %d clients (all tracked already), realtime=false, idle and while %s "
          "is pulled back-to-back (%d devices)" % (frames, args.aps, args.clients, url[len(base):], n))
    ratios = []
    for i in range(args.runs):
        for what in ("idle", "during"):
            got, (s0, s1), wall, cpu, lists = ingest(build, port, env, pw, base, pid, cap,
                                                     url if what == "during" else None)
            rate = got / (s1 - s0)
            if what == "idle":
                idle = rate
            else:
                ratios.append(rate / idle)
            print("  run %d %-7s %d packets in %.3f s: %.0f packets/s%s%s; sensor ran %.3f s, collector CPU %.2f s" % (
                i + 1, what + ":", got, s1 - s0, rate, "" if got == frames else " (expected %d)" % frames,
                ", %.1f %% of idle" % (100 * ratios[-1]) if what == "during" else "", wall, cpu))
            if not lists:
                continue
            covered = sum(max(0.0, min(b, s1) - max(a, s0)) for a, b, _, _, _ in lists) / (s1 - s0)
            times = sorted(x[3] for x in lists)
            bad = sorted({x[2] for x in lists if x[2] != 200})
            print("    %d lists covering %.0f %% of it, %.1f MiB each%s: %s s" % (
                len(lists), 100 * covered, statistics.median(x[4] for x in lists) / 1048576,
                ", SOME NOT 200: %s" % bad if bad else "",
                ", ".join("%.3f" % x[3] for x in lists) if len(lists) <= 12 else
                "min %.3f, median %.3f, max %.3f" % (times[0], statistics.median(times), times[-1])))
    print("ingest during / idle: %.1f %% (median of runs: %s); issue 18 asks at least 80 %%" % (
        100 * statistics.median(ratios), ", ".join("%.1f" % (100 * r) for r in ratios)))
    status = curl_json(base + "/system/status.json", pw)
    print("devices tracked after: %d (evicted so far: %d)" % (
        status["kismet.system.devices.count"], status["hopwire.system.devices.evicted"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--clients", type=int, default=95000)
    ap.add_argument("--aps", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-devices", default=None, help="the collector's --max-devices (default: its own)")
    ap.add_argument("--ingest-during", action="store_true",
                    help="also measure ingest idle and while full lists are pulled (see the docstring)")
    ap.add_argument("--replays", type=int, default=0,
                    help="only replay the capture this many times more over the devices it made, printing "
                         "packets/s and the collector's CPU for each, then stop (no lists)")
    ap.add_argument("--ingest-frames", type=int, default=0,
                    help="frames per ingest replay (default: replay the capture that made the devices)")
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
            run_sensor(build, port, env, pw, cap, "many")
            base = "http://127.0.0.1:%d" % port
            for i in range(args.replays):
                c0 = cpu_seconds(col.pid)
                wall, _ = run_sensor(build, port, env, pw, cap, "many")
                print("replay %d over known devices: %.1f s, %.0f packets/s, collector CPU %.1f s" % (
                    i + 1, wall, frames / wall, cpu_seconds(col.pid) - c0), flush=True)
            if args.replays:
                return
            status = curl_json(base + "/system/status.json", pw)
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
            run_sensor(build, port, env, pw, small, "few")
            body = subprocess.run(["curl", "-s", "-u", "admin:" + pw, base + "/devices/last-time/%d/devices.json" % ts],
                                  capture_output=True, text=True, check=True).stdout
            changed = len(json.loads(body)["kismet.device.list"])
            for i in range(args.runs):
                t, size = curl_time(base + "/devices/last-time/%d/devices.json" % ts, pw)
                print("GET /devices/last-time/TS (%d of %d changed): %.4f s, %.1f KiB" % (changed, n, t, size / 1024))
            if args.ingest_during:
                report_ingest(build, port, env, pw, base, col.pid, tmp, cap, frames, args)
        finally:
            col.terminate()
            col.wait()


if __name__ == "__main__":
    main()

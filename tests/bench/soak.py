#!/usr/bin/env python3
"""Soak: N sensors stream paced replays of crafted captures into one
collector (many distinct station MACs, so devices churn), clients pull device
lists and pcap-ng streams in loops, and partway through the collector is
killed with SIGKILL and restarted. Prints the collector's RSS every minute
and, at the end, the packets the sensors sent against those the collector
counted. A benchmark: it prints numbers and never passes or fails on timing.

Each sensor runs one paced replay after another, always with the same source
UUID, cycling through --cycle captures of its own (sensor i plays captures i,
i+1, ... i+cycle-1, then i again). That makes "sent" exact: a replay that
exits 0 had every frame acknowledged, and the collector must count exactly
those (minus any the sensor's ring dropped, which is printed too). A sensor
that keeps its place hears the same stations again, so after the first cycle
the state the collector must keep (devices, their seen-by entries) stops
growing and RSS can be judged; devices churn through --max-devices, below the
number of distinct stations, so the longest idle are evicted and recreated all
the time.

  tests/bench/soak.py [--build build] [--sensors 50] [--minutes 30] [--pps 200]
                      [--devices 100000] [--run-seconds 60] [--pullers 4] [--streamers 2]

  smoke run, about 2 minutes:
  tests/bench/soak.py --minutes 2 --sensors 5 --devices 5000 --run-seconds 20
"""
import argparse
import base64
import json
import math
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid as uuidlib

from benchproc import free_port, proc_status_kib

TOP = pathlib.Path(__file__).resolve().parents[2]
PASSWORD = "soak-password-not-secret"


class Collector:
    def __init__(self, build, work, extra):
        self.bin = build / "collector" / "hopwire-collector"
        self.state = work / "state"
        self.port = free_port()
        self.log = work / "collector.log"
        self.extra = extra
        self.proc = None
        self.base = "http://127.0.0.1:%d" % self.port

    def start(self, timeout=120):
        env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD=PASSWORD)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.bin), "--state-dir", str(self.state), "--listen",
                                          "127.0.0.1:%d" % self.port, "--remote-capture-port", "0",
                                          "--log-level", "warn"] + self.extra,
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                sys.exit("collector exited with %d; see %s" % (self.proc.returncode, self.log))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return time.monotonic() - t0
            except OSError:
                time.sleep(0.05)
        sys.exit("collector did not listen within %d s" % timeout)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def token(self, role, name):
        return subprocess.run([str(self.bin), "token", "create", "--state-dir", str(self.state), "--role", role,
                               "--name", name], check=True, capture_output=True, text=True).stdout.strip()

    def get_json(self, path, timeout=60):
        auth = "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode()
        req = urllib.request.Request(self.base + path, headers={"Authorization": auth})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())


class SensorSlot:
    """One sensor: paced replays one after another, one source UUID."""

    def __init__(self, i, args, sensor_bin, port, token, captures, frames, work):
        self.i = i
        self.name = "soak-%03d" % i
        self.uuid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "hopwire-soak/%d" % i))
        self.args, self.sensor_bin, self.port, self.token = args, sensor_bin, port, token
        self.captures, self.frames = captures, frames
        self.log = work / ("sensor-%03d.log" % i)
        self.proc = None
        self.runs = 0
        self.sent = 0  # frames of runs that exited 0
        self.failed = []  # exit codes of runs that did not

    def launch(self):
        cap = self.captures[(self.i + self.runs % self.args.cycle) % len(self.captures)]
        self.runs += 1
        env = dict(os.environ, HOPWIRE_APIKEY=self.token)
        env.pop("HOPWIRE_PASSWORD", None)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.sensor_bin), "--connect", "127.0.0.1:%d" % self.port,
                                          "--log-level", "warn", "--source",
                                          "%s:name=%s,uuid=%s,pps=%d" % (cap, self.name, self.uuid, self.args.pps)],
                                         stdout=log, stderr=subprocess.STDOUT, env=env)

    def poll(self):
        """True when no run is in flight."""
        if self.proc is None:
            return True
        rc = self.proc.poll()
        if rc is None:
            return False
        if rc == 0:
            self.sent += self.frames
        else:
            self.failed.append(rc)
        self.proc = None
        return True


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.v = {}
        self.latencies = []

    def add(self, key, n=1):
        with self.lock:
            self.v[key] = self.v.get(key, 0) + n

    def latency(self, s):
        with self.lock:
            self.latencies.append(s)

    def take(self):
        """Counts since the last take, and the latencies."""
        with self.lock:
            v, lat = self.v, self.latencies
            self.v, self.latencies = {}, []
        return v, lat


def error_name(e):
    if isinstance(e, urllib.error.HTTPError):
        return "HTTP%d" % e.code
    if isinstance(e, urllib.error.URLError) and isinstance(e.reason, OSError):
        return type(e.reason).__name__
    return type(e).__name__


def read_all(resp, budget=None):
    n = 0
    t0 = time.monotonic()
    while True:
        chunk = resp.read(1 << 16)
        if not chunk:
            return n
        n += len(chunk)
        if budget is not None and time.monotonic() - t0 > budget:
            return n


def puller(stop, base_fn, token, counters, args):
    """Pulls device lists in a loop: every --full-every-th pull the full list, else what a UI table asks for."""
    table = json.dumps({"fields": ["kismet.device.base.macaddr", "kismet.device.base.name",
                                   "kismet.device.base.last_time", "kismet.device.base.packets.total"]}).encode()
    n = 0
    while not stop.is_set():
        n += 1
        full = args.full_every > 0 and n % args.full_every == 0
        if full:
            req = urllib.request.Request(base_fn() + "/devices/views/all/devices.json",
                                         headers={"Authorization": "Bearer " + token})
        elif n % 2:
            req = urllib.request.Request(base_fn() + "/devices/views/all/devices.json", data=table,
                                         headers={"Authorization": "Bearer " + token,
                                                  "Content-Type": "application/json"})
        else:
            req = urllib.request.Request(base_fn() + "/devices/last-time/-60/devices.json", data=table,
                                         headers={"Authorization": "Bearer " + token,
                                                  "Content-Type": "application/json"})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                counters.add("list_bytes", read_all(r))
            counters.add("lists_full" if full else "lists")
            counters.latency(time.monotonic() - t0)
        except Exception as e:  # noqa: BLE001 (a dying collector can end a read any way; count it)
            counters.add("list_error:%s" % error_name(e))
            stop.wait(1.0)
        stop.wait(args.pull_interval)


def streamer(stop, base_fn, token, counters, args, slots, k):
    """Holds a pcap-ng stream for --stream-seconds, then opens the next: all packets, or one source's."""
    n = 0
    while not stop.is_set():
        n += 1
        if n % 2:
            path = "/pcap/all_packets.pcapng"
        else:
            path = "/datasource/pcap/by-uuid/%s/packets.pcapng" % slots[(k + n) % len(slots)].uuid
        req = urllib.request.Request(base_fn() + path, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                got = read_all(r, budget=args.stream_seconds)
            counters.add("stream_bytes", got)
            counters.add("streams")
        except Exception as e:  # noqa: BLE001 (a dying collector can end a read any way; count it)
            counters.add("stream_error:%s" % error_name(e))
            stop.wait(1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--sensors", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--pps", type=int, default=200, help="packets per second per sensor")
    ap.add_argument("--run-seconds", type=int, default=60, help="length of one replay; then the next capture")
    ap.add_argument("--devices", type=int, default=100_000, help="distinct station MACs over all captures")
    ap.add_argument("--aps", type=int, default=50)
    ap.add_argument("--cycle", type=int, default=2, help="captures each sensor cycles through")
    ap.add_argument("--max-devices", type=int, default=80_000,
                    help="the collector's device limit (below --devices: eviction churns; -1: its default)")
    ap.add_argument("--pullers", type=int, default=4, help="clients pulling device lists")
    ap.add_argument("--pull-interval", type=float, default=1.0)
    ap.add_argument("--full-every", type=int, default=5, help="every Nth pull is the full list (0: never)")
    ap.add_argument("--streamers", type=int, default=2, help="clients reading pcap-ng streams")
    ap.add_argument("--stream-seconds", type=float, default=30)
    ap.add_argument("--kill-at", type=float, default=None, help="minute of the kill -9 (default: half way; <0: none)")
    ap.add_argument("--drain-timeout", type=float, default=None,
                    help="seconds to wait at the end for replays in flight (default: 3 x --run-seconds + 120)")
    ap.add_argument("--collector-arg", action="append", default=[], help="extra collector option (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    sensor_bin = build / "sensor" / "hopwire-sensor"
    kill_at = args.minutes / 2 if args.kill_at is None else args.kill_at
    drain_timeout = args.drain_timeout if args.drain_timeout is not None else 3 * args.run_seconds + 120

    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-soak-"))
    frames = max(4, args.pps * args.run_seconds)
    per_capture = max(1, min(args.devices, frames // 4))  # probes name every station of a capture once
    ncap = math.ceil(args.devices / per_capture)
    captures = []
    for k in range(ncap):
        cap = work / ("cap-%03d.pcap" % k)
        subprocess.run([sys.executable, str(TOP / "tests" / "tools" / "make_capture.py"), str(cap), "--frames",
                        str(frames), "--aps", str(args.aps), "--clients", str(per_capture), "--client-offset",
                        str(k * per_capture)], check=True)
        captures.append(cap)
    print("soak: %d sensors x %d packets/s for %.1f min; %d captures of %d frames, %d stations each "
          "(%d distinct devices with the APs); %d list pullers, %d pcap-ng streamers; kill -9 at minute %s"
          % (args.sensors, args.pps, args.minutes, ncap, frames, per_capture, ncap * per_capture + args.aps,
             args.pullers, args.streamers, "%.1f" % kill_at if kill_at >= 0 else "never"), flush=True)

    extra = list(args.collector_arg)
    if args.max_devices >= 0:
        extra += ["--max-devices", str(args.max_devices)]
    col = Collector(build, work, extra)
    col.start()
    sensor_token = col.token("datasource", "soak-sensors")
    reader_token = col.token("readonly", "soak-clients")
    slots = [SensorSlot(i, args, sensor_bin, col.port, sensor_token, captures, frames, work)
             for i in range(args.sensors)]
    stop_clients = threading.Event()
    stop_launch = threading.Event()
    counters = Counters()
    base_fn = lambda: col.base  # noqa: E731 (the port stays the same across the restart)

    t_start = time.monotonic()

    def manage():
        # Staggered first starts, so runs do not all end at once.
        first = {s.i: t_start + s.i * args.run_seconds / max(1, args.sensors) for s in slots}
        while not stop_launch.is_set():
            now = time.monotonic()
            for s in slots:
                if s.poll() and now >= first[s.i] and not stop_launch.is_set():
                    s.launch()
            stop_launch.wait(0.2)

    threads = [threading.Thread(target=manage, daemon=True)]
    threads += [threading.Thread(target=puller, args=(stop_clients, base_fn, reader_token, counters, args),
                                 daemon=True) for _ in range(args.pullers)]
    threads += [threading.Thread(target=streamer, args=(stop_clients, base_fn, reader_token, counters, args, slots, k),
                                 daemon=True) for k in range(args.streamers)]
    for t in threads:
        t.start()

    print("%6s %9s %9s %9s %9s %12s %8s %8s %8s %9s %8s %8s  %s" % (
        "minute", "rss MiB", "hwm MiB", "devices", "evicted", "pkts/s", "lists", "full", "p99 s", "pcap MiB", "runs ok",
        "failed", "errors"), flush=True)
    end = t_start + args.minutes * 60
    killed = kill_at < 0
    next_report = t_start
    last_packets, last_t = None, t_start
    try:
        crashes = 0
        while True:
            now = time.monotonic()
            if col.proc.poll() is not None:
                crashes += 1
                print("   --- the collector died by itself (exit %d) at minute %.1f; restarting it"
                      % (col.proc.returncode, (now - t_start) / 60), flush=True)
                col.start()
                last_packets = None
            if now >= next_report or now >= end:
                v, lat = counters.take()
                rss = proc_status_kib(col.proc.pid, "VmRSS") / 1024
                hwm = proc_status_kib(col.proc.pid, "VmHWM") / 1024
                try:
                    st = col.get_json("/system/status.json")
                    devices = st.get("kismet.system.devices.count", 0)
                    evicted = st.get("hopwire.system.devices.evicted", 0)
                    packets = sum(s["kismet.datasource.num_packets"] for s in col.get_json(
                        "/datasource/all_sources.json"))
                except (OSError, urllib.error.URLError, ValueError):
                    devices, evicted, packets = -1, -1, None
                rate = ""
                if packets is not None and last_packets is not None:
                    rate = "%.0f" % ((packets - last_packets) / max(1e-6, now - last_t))
                last_packets, last_t = packets, now
                lat.sort()
                p99 = "%.2f" % lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else "-"
                errs = {k: n for k, n in v.items() if ":" in k}
                print("%6.1f %9.1f %9.1f %9d %9d %12s %8d %8d %8s %9.1f %8d %8d  %s" % (
                    (now - t_start) / 60, rss, hwm, devices, evicted, rate, v.get("lists", 0), v.get("lists_full", 0), p99,
                    v.get("stream_bytes", 0) / 1048576, sum(s.sent // frames for s in slots),
                    sum(len(s.failed) for s in slots), " ".join("%s=%d" % kv for kv in sorted(errs.items())) or "-"),
                    flush=True)
                next_report += 60
            if not killed and now - t_start >= kill_at * 60:
                killed = True
                pid = col.proc.pid
                t0 = time.monotonic()
                col.kill9()
                start_s = col.start()
                print("   --- kill -9 of the collector (pid %d) at minute %.1f; the new one (pid %d) listened after "
                      "%.2f s, %.2f s after the kill" % (pid, (t0 - t_start) / 60, col.proc.pid, start_s,
                                                         time.monotonic() - t0), flush=True)
                last_packets = None
            if now >= end:
                break
            time.sleep(min(1.0, max(0.05, min(next_report, end) - time.monotonic())))

        # Drain: no new replays; the ones in flight finish (each exits once all its frames are acknowledged).
        stop_launch.set()
        stop_clients.set()
        threads[0].join(timeout=10)
        t0 = time.monotonic()
        while not all(s.poll() for s in slots) and time.monotonic() - t0 < drain_timeout:
            time.sleep(0.5)
        unfinished = [s for s in slots if s.proc is not None]
        for s in unfinished:
            s.proc.send_signal(signal.SIGTERM)
            try:
                s.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait()
        print("drained in %.1f s; %d replays still running after %.0f s were stopped" % (
            time.monotonic() - t0, len(unfinished), drain_timeout), flush=True)
        for t in threads[1:]:
            t.join(timeout=max(10, args.stream_seconds + 10))

        if col.proc.poll() is not None:
            print("the collector died during the soak (exit %d); restarting it to read what it kept"
                  % col.proc.returncode, flush=True)
            col.start()
        sources = {s["kismet.datasource.uuid"]: s for s in col.get_json("/datasource/all_sources.json")}
        st = col.get_json("/system/status.json")
        sent = sum(s.sent for s in slots)
        counted = dropped = 0
        mismatched = []
        for s in slots:
            src = sources.get(s.uuid, {})
            n = src.get("kismet.datasource.num_packets", 0)
            d = src.get("hopwire.datasource.dropped_ring", 0)
            counted += n
            dropped += d
            if n + d != s.sent:
                mismatched.append("%s: sent %d, counted %d, ring dropped %d, failed runs %s%s" % (
                    s.name, s.sent, n, d, s.failed or "none", ", stopped mid-run" if s in unfinished else ""))
        failed_runs = sum(len(s.failed) for s in slots)
        print()
        print("collector RSS at the end:      %.1f MiB (peak %.1f MiB)" % (
            proc_status_kib(col.proc.pid, "VmRSS") / 1024, proc_status_kib(col.proc.pid, "VmHWM") / 1024))
        print("devices:                        %d (evicted %d); expected distinct: %d" % (
            st.get("kismet.system.devices.count", 0), st.get("hopwire.system.devices.evicted", 0),
            ncap * per_capture + args.aps))
        print("storage write errors:           %s" % st.get("hopwire.system.storage.write_errors"))
        print("collector deaths besides ours:  %d" % crashes)
        print("replays:                        %d exited 0, %d failed, %d stopped unfinished" % (
            sum(s.runs for s in slots) - failed_runs - len(unfinished), failed_runs, len(unfinished)))
        print("packets sent by sensors:        %d (frames of replays that exited 0)" % sent)
        print("packets counted by collector:   %d" % counted)
        print("dropped by sensor rings:        %d" % dropped)
        print("lost (sent - dropped - counted): %d%s" % (
            sent - dropped - counted,
            "" if not (failed_runs or unfinished) else
            "  (inexact: failed or stopped replays are counted by the collector but not in 'sent')"))
        for line in mismatched[:20]:
            print("  " + line)
    finally:
        stop_launch.set()
        stop_clients.set()
        for s in slots:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
        col.stop()
        if args.keep:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

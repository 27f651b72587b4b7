#!/usr/bin/env python3
"""Many links (issue 18): --links sensor processes, one paced replay each at
--pps packets/s, stream into one collector on loopback for --seconds with
every link up at once. Prints the collector's RSS before the sensors, once
every link is up and every --report seconds, its CPU over the window in which
every link was up, the sensors' total RSS, and at the end the packets the
sensors sent against those the collector counted, and the reconnects seen.
A benchmark: it prints numbers and never passes or fails on timing, but it
exits 1 when a packet went uncounted, a link reconnected, a link never came
up or a sensor failed.

Each sensor replays a crafted capture once (loop=false) at pps=N, with its own
name and source UUID. That makes "sent" exact: a replay that exits 0 had every
frame acknowledged, its log says how many it captured, acknowledged and lost
in its ring, and the collector's count for that source must equal the frames
of the capture. Sensors start in batches of --batch every --batch-interval
seconds, so the collector is not flooded with handshakes; a batch's capture
is longer by pps x --batch-interval frames for every batch after it, so all
replays end together, --settle seconds after the measured window. The
window starts when the collector reports every link live and lasts --seconds
(shorter, and said so, if the ramp was late). Every sensor hears the same
--aps access points and --clients stations, so the devices the collector
tracks, and their seen-by entries (devices x links), do not grow with time.

Reconnects are counted from both ends: the collector's per-source
`hopwire.datasource.reconnects` and `links_accepted`, and the sensors'
"connected to" log lines (info level) and "retrying" warnings.

The sensors run on the same machine as the collector: on a small one they
compete for the cores, and the report says how busy the machine was. The
collector runs with its defaults (packet log on: about 130 bytes a packet in
the work directory under /tmp, some 8 GB for 1 000 links x 200 packets/s x
320 s; --collector-arg=--packet-log-max=0 turns it off).

The script raises its soft descriptor limit to the hard one (the collector
inherits it and sizes --max-connections from it), and raises the collector's
--max-connections-per-address (default 1024, and every sensor here comes from
127.0.0.1) when --links needs more.

  tests/bench/many_links.py [--build build] [--links 1000] [--pps 200] [--seconds 300]
                            [--batch 50] [--batch-interval 1] [--report 30]

  smoke run, about a minute:
  tests/bench/many_links.py --links 50 --seconds 30

With --swarm, every link runs in one process, build/tests/hopwire_link_swarm
(tests/bench/link_swarm.cc): the sensor's own link code for each link, on
one io thread, its ring fed from one pacing thread in bursts (--burst-ms)
instead of a capture thread per sensor process. A thousand sensor processes
do not fit beside the collector on a two-core machine; a thousand links in
one process do. Counts come from its per-link lines at the end instead of
the sensors' logs; everything the collector is measured by is the same.
"""
import argparse
import base64
import datetime
import http.client
import json
import os
import pathlib
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

from benchproc import CLK_TCK, cpu_seconds, free_port, proc_status_kib

TOP = pathlib.Path(__file__).resolve().parents[2]
PASSWORD = "many-links-password-not-secret"
PER_ADDRESS_DEFAULT = 1024  # the collector's --max-connections-per-address
REST_MARGIN = 64  # connections beyond the links: a reconnect's overlap, other clients
REST_SOURCE = "127.0.0.2"  # this script's own requests come from here, not from the sensors' address

REPLAY_DONE = re.compile(r"replay complete: (\d+) packets captured, (\d+) acknowledged, (\d+) dropped by the ring")
CONNECTED = re.compile(r"^(\S+) info connected to ")


def proc_rollup_kib(pid, keys):
    """Sum of some /proc/PID/smaps_rollup fields (Pss, Private_Dirty, ...), KiB."""
    n = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k = line.split(":", 1)[0]
                if k in keys:
                    n += int(line.split()[1])
    except OSError:
        pass
    return n


def machine_cpu():
    """CPU seconds of all cores from /proc/stat: busy, irq + softirq (loopback TCP is mostly that), steal, total."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    v += [0] * (8 - len(v))
    user, nice, system, idle, iowait, irq, softirq, steal = v
    busy = user + nice + system + irq + softirq + steal
    return dict(busy=busy / CLK_TCK, irq=(irq + softirq) / CLK_TCK, steal=steal / CLK_TCK,
                total=(busy + idle + iowait) / CLK_TCK)


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def mib(kib):
    return kib / 1024


class CollectorDied(Exception):
    pass


class RestError(Exception):
    pass


class Collector:
    def __init__(self, build, work, extra):
        self.bin = build / "collector" / "hopwire-collector"
        self.state = work / "state"
        self.port = free_port()
        self.log = work / "collector.log"
        self.extra = extra
        self.proc = None
        self.base = "http://127.0.0.1:%d" % self.port
        self.reader = None  # a readonly token, once start() made one

    def start(self, timeout=120):
        env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD=PASSWORD)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.bin), "--state-dir", str(self.state), "--listen",
                                          "127.0.0.1:%d" % self.port, "--remote-capture-port", "0",
                                          "--log-level", "warn"] + self.extra,
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            self.check()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return time.monotonic() - t0
            except OSError:
                time.sleep(0.05)
        sys.exit("collector did not listen within %d s" % timeout)

    def check(self):
        if self.proc.poll() is not None:
            raise CollectorDied("the collector exited with %d; see %s" % (self.proc.returncode, self.log))

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

    def get_json(self, path, timeout=60, tries=3):
        """GET a JSON answer. From 127.0.0.2, so that --max-connections-per-address, which every sensor
        link from 127.0.0.1 counts against, never refuses the measurements; retried on errors."""
        if self.reader:
            auth = "Bearer " + self.reader
        else:
            auth = "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode()
        for attempt in range(tries):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                              source_address=(REST_SOURCE, 0))
            try:
                conn.request("GET", path, headers={"Authorization": auth})
                r = conn.getresponse()
                body = r.read()
                if r.status == 200:
                    return json.loads(body)
                why = "HTTP %d: %s" % (r.status, body[:200].decode(errors="replace").strip())
            except (OSError, http.client.HTTPException, ValueError) as e:
                why = "%s: %s" % (type(e).__name__, e)
            finally:
                conn.close()
            self.check()
            if attempt + 1 < tries:
                time.sleep(1.0)
        raise RestError("GET %s failed: %s" % (path, why))

    def status(self):
        return self.get_json("/system/status.json")

    def sources(self):
        return {s["kismet.datasource.uuid"]: s for s in self.get_json("/datasource/all_sources.json")}


class Sensor:
    """One sensor process: one source, one paced replay of `frames` frames."""

    def __init__(self, i, batch, capture, frames, args, sensor_bin, port, token, work):
        self.i, self.batch, self.capture, self.frames = i, batch, capture, frames
        self.name = "link-%04d" % i
        self.uuid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "hopwire-many-links/%d" % i))
        self.args, self.sensor_bin, self.port, self.token = args, sensor_bin, port, token
        self.log = work / "sensors" / ("%s.log" % self.name)
        self.proc = None
        self.launched = None  # wall clock (time.time) of the launch
        self.rc = None
        self.stopped = False  # we had to SIGTERM it

    def launch(self):
        env = dict(os.environ, HOPWIRE_APIKEY=self.token)
        env.pop("HOPWIRE_PASSWORD", None)
        cmd = [str(self.sensor_bin), "--connect", "127.0.0.1:%d" % self.port, "--log-level", "info", "--source",
               "%s:name=%s,uuid=%s,pps=%s,loop=false" % (self.capture, self.name, self.uuid, self.args.pps)]
        if self.args.sensor_buffer:
            cmd += ["--buffer", self.args.sensor_buffer]
        self.launched = time.time()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def running(self):
        if self.proc is None:
            return False
        if self.rc is None:
            self.rc = self.proc.poll()
        return self.rc is None

    def stop(self):
        if self.running():
            self.stopped = True
            self.proc.send_signal(signal.SIGTERM)

    def read_log(self):
        """(connect times as Unix seconds, retry warnings, (captured, acked, dropped) or None, last warning or
        error line, the warning and error lines)."""
        connects, retries, done, last_problem, problems = [], 0, None, "", []
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return connects, retries, done, "no log", ["no log"]
        for line in text.splitlines():
            m = CONNECTED.match(line)
            if m:
                try:
                    connects.append(datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp())
                except ValueError:
                    connects.append(0.0)
                continue
            m = REPLAY_DONE.search(line)
            if m:
                done = tuple(int(x) for x in m.groups())
                continue
            if "retrying in" in line:
                retries += 1
            if " warning " in line or " error " in line or line.startswith("hopwire-sensor:"):
                last_problem = line
                problems.append(line)
        return connects, retries, done, last_problem, problems


class Swarm:
    """One hopwire_link_swarm process carrying every link (--swarm)."""

    LINE = re.compile(r"^link (\S+) uuid=\S+ rc=(-?\d+) welcomes=(\d+) first_welcome=([\d.]+) retries=(\d+) "
                      r"captured=(\d+) acked=(\d+) dropped=(\d+)$")

    def __init__(self, binary, work, capture, links, args, port, token):
        self.out = work / "swarm.out"
        self.log = work / "swarm.log"
        spec = work / "swarm.spec"
        spec.write_text("".join("%s %s %d %.3f\n" % (l.name, l.uuid, l.frames, l.batch * args.batch_interval)
                                for l in links))
        self.cmd = [str(binary), "--connect", "127.0.0.1:%d" % port, "--capture", str(capture), "--spec", str(spec),
                    "--pps", str(args.pps), "--burst-ms", str(args.burst_ms), "--log-level", "warn"]
        if args.sensor_buffer:
            self.cmd += ["--buffer", str(parse_bytes(args.sensor_buffer))]
        self.env = dict(os.environ, HOPWIRE_APIKEY=token)
        self.env.pop("HOPWIRE_PASSWORD", None)
        self.proc = None
        self.started = None
        self.results = None
        self.term_sent = False

    def start(self):
        self.started = time.time()
        with open(self.out, "ab") as out, open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=log, stdin=subprocess.DEVNULL, env=self.env)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive() and not self.term_sent:
            self.term_sent = True
            self.proc.send_signal(signal.SIGTERM)

    def result(self, name):
        if self.results is None and not self.alive():
            self.results = {}
            for line in self.out.read_text(errors="replace").splitlines():
                m = self.LINE.match(line)
                if m:
                    self.results[m.group(1)] = m.groups()[1:]
        return (self.results or {}).get(name)

    def problems(self):
        try:
            return [l for l in self.log.read_text(errors="replace").splitlines()
                    if l.strip() and "link swarm:" not in l]
        except OSError:
            return ["no log"]


class SwarmLink:
    """A link of the swarm, standing where a Sensor stands in the rest of this script."""

    def __init__(self, i, batch, frames, swarm_holder):
        self.i, self.batch, self.frames = i, batch, frames
        self.name = "link-%04d" % i
        self.uuid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "hopwire-many-links/%d" % i))
        self.holder = swarm_holder  # [Swarm], set once the collector is up
        self.launched = None
        self.stopped = False
        self._rc = None

    @property
    def proc(self):
        return self.holder[0].proc

    @property
    def rc(self):
        if self._rc is None and not self.running():
            r = self.holder[0].result(self.name)
            self._rc = int(r[0]) if r else -1
        return self._rc

    @rc.setter
    def rc(self, v):
        pass  # the swarm's line says it

    def launch(self):
        self.launched = self.holder[0].started + self.batch * self.holder[1]

    def running(self):
        return self.holder[0].alive()

    def stop(self):
        if self.running():
            self.stopped = True
            self.holder[0].stop()

    def read_log(self):
        r = self.holder[0].result(self.name)
        problems = self.holder[0].problems() if self.i == 0 else []
        if not r:
            return [], 0, None, "no line from the swarm", problems
        rc, welcomes, first, retries, captured, acked, dropped = r
        connects = [float(first)] * int(welcomes)
        done = (int(captured), int(acked), int(dropped)) if int(rc) == 0 else None
        return connects, int(retries), done, (problems[-1] if problems else ""), problems


def parse_bytes(text):
    m = re.fullmatch(r"(\d+)\s*([KMG]i?B?)?", text.strip(), re.I)
    if not m:
        sys.exit("cannot read the size %r (e.g. 512KiB)" % text)
    return int(m.group(1)) * {None: 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[
        m.group(2)[0].lower() if m.group(2) else None]


def running_pids(sensors):
    """The processes carrying the links still running: one per sensor, or the one swarm."""
    return {s.proc.pid for s in sensors if s.running()}


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))]


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard


def collector_default_max_connections(soft):
    """What the collector takes for --max-connections by default (collector/net/http_server.cc)."""
    if soft == resource.RLIM_INFINITY:
        return 4096
    reserve = max(128, soft // 4)
    return max(64, soft - reserve if soft > reserve else 0)


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--links", type=int, default=1000, help="sensor processes, one source and one link each")
    ap.add_argument("--pps", type=int, default=200, help="packets per second per link")
    ap.add_argument("--seconds", type=float, default=300, help="the window with every link up")
    ap.add_argument("--batch", type=int, default=50, help="sensors started at once")
    ap.add_argument("--batch-interval", type=float, default=1.0, help="seconds between batches")
    ap.add_argument("--settle", type=float, default=10.0,
                    help="seconds the replays are planned to run past the window (room for a late ramp)")
    ap.add_argument("--up-timeout", type=float, default=60.0,
                    help="seconds after the last batch to wait for every link to be live")
    ap.add_argument("--drain-timeout", type=float, default=120.0,
                    help="seconds to wait at the end for the replays to be acknowledged and exit")
    ap.add_argument("--report", type=float, default=30.0, help="seconds between report lines")
    ap.add_argument("--aps", type=int, default=10, help="access points every sensor hears")
    ap.add_argument("--clients", type=int, default=40, help="stations every sensor hears")
    ap.add_argument("--sensor-buffer", default=None, help="each sensor's --buffer (default: the sensor's, 4MiB)")
    ap.add_argument("--collector-arg", action="append", default=[], help="extra collector option (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, state)")
    ap.add_argument("--swarm", action="store_true",
                    help="every link in one hopwire_link_swarm process instead of a sensor process each")
    ap.add_argument("--burst-ms", type=int, default=50, help="--swarm: milliseconds between a link's pushes")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    sensor_bin = build / "sensor" / "hopwire-sensor"
    n = args.links
    if n < 1 or args.batch < 1 or args.pps < 1:
        sys.exit("--links, --batch and --pps must be at least 1")

    # Limits: descriptors (the collector inherits ours), its connection caps, tasks, memory.
    fd_was, fd_soft, fd_hard = raise_fd_limit()
    extra = list(args.collector_arg)
    notes = ["descriptor limit %s -> %d (hard %s)" % (fd_was, fd_soft, fd_hard)]
    need = n + REST_MARGIN
    default_max = collector_default_max_connections(fd_soft)
    if default_max < need:
        notes.append("WARNING: the collector's default --max-connections at this descriptor limit is %d, below "
                     "the %d needed; raise `ulimit -Hn` (passing a larger --max-connections would eat the "
                     "descriptors RocksDB needs)" % (default_max, need))
    else:
        notes.append("collector --max-connections default %d (from the descriptor limit) >= %d needed"
                     % (default_max, need))
    if not any(a.startswith("--max-connections-per-address") for a in extra):
        if PER_ADDRESS_DEFAULT < need:
            extra += ["--max-connections-per-address", str(need)]
            notes.append("collector --max-connections-per-address raised from %d to %d (every link comes from "
                         "127.0.0.1)" % (PER_ADDRESS_DEFAULT, need))
        else:
            notes.append("collector --max-connections-per-address %d (default) >= %d needed"
                         % (PER_ADDRESS_DEFAULT, need))
    nproc_soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    if nproc_soft != resource.RLIM_INFINITY and nproc_soft < 3 * n + 200:
        notes.append("WARNING: RLIMIT_NPROC %d may be too low for %d sensors (2-3 threads each)" % (nproc_soft, n))
    avail = mem_available_kib()
    if avail and avail < n * 16 * 1024:
        notes.append("WARNING: %.0f MiB available, the sensors may take ~%d MiB (~16 MiB RSS each)"
                     % (mib(avail), n * 16))

    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-many-links-"))
    (work / "sensors").mkdir()
    col = Collector(build, work, extra)
    sensors = []
    exit_code = 0
    try:
        # One capture per batch: batch b runs (batches after it) x interval longer, so all end together.
        nbatches = (n + args.batch - 1) // args.batch
        ramp = (nbatches - 1) * args.batch_interval
        frames_of = []
        for b in range(nbatches):
            frames = max(4, round(args.pps * (args.seconds + args.settle + (nbatches - 1 - b) * args.batch_interval)))
            cap = work / ("batch-%03d.pcap" % b)
            subprocess.run([sys.executable, str(TOP / "tests" / "tools" / "make_capture.py"), str(cap), "--frames",
                            str(frames), "--aps", str(args.aps), "--clients", str(args.clients)], check=True)
            frames_of.append((cap, frames))

        print("many links: %d sensors x %d packets/s (%d packets/s offered), window %.0f s with every link up; "
              "batches of %d every %.1f s (ramp %.0f s); captures of %d-%d frames, %d APs + %d stations heard by "
              "every sensor" % (n, args.pps, n * args.pps, args.seconds, args.batch, args.batch_interval, ramp,
                                frames_of[-1][1], frames_of[0][1], args.aps, args.clients), flush=True)
        for line in notes:
            print("  limits: " + line, flush=True)
        if extra:
            print("  collector options added: %s" % " ".join(extra), flush=True)

        col.start()
        sensor_token = col.token("datasource", "many-links-sensors")
        col.reader = col.token("readonly", "many-links-reader")
        if args.swarm:
            holder = [None, args.batch_interval]
            sensors = [SwarmLink(i, i // args.batch, frames_of[i // args.batch][1], holder) for i in range(n)]
            holder[0] = Swarm(build / "tests" / "hopwire_link_swarm", work, frames_of[0][0], sensors, args, col.port,
                              sensor_token)
        else:
            sensors = [Sensor(i, i // args.batch, frames_of[i // args.batch][0], frames_of[i // args.batch][1], args,
                              sensor_bin, col.port, sensor_token, work) for i in range(n)]
        col.status()  # the HTTP path once, then let it settle
        time.sleep(2.0)
        rss_idle = proc_status_kib(col.proc.pid, "VmRSS")
        fds_idle = open_fds(col.proc.pid)
        print("collector idle: RSS %.1f MiB, %d descriptors open" % (mib(rss_idle), fds_idle), flush=True)

        # Ramp: a batch every --batch-interval, progress every 5 s, then wait for every link to be live.
        t_ramp0 = time.monotonic()
        next_progress = t_ramp0 + 5
        if args.swarm:
            holder[0].start()  # it starts its links batch by batch itself
        live = 0

        def progress(now, launched):
            nonlocal live, next_progress
            try:
                st = col.status()
            except RestError as e:
                print("  ramp %5.1f s: %s" % (now - t_ramp0, e), flush=True)
                return
            live = st.get("hopwire.system.sources_live", 0)
            if now >= next_progress:
                print("  ramp %5.1f s: %4d launched, %4d links live, %d refused, collector RSS %.1f MiB" % (
                    now - t_ramp0, launched, live, sum(st.get("hopwire.system.connections_refused", {}).values())
                    + st.get("hopwire.system.links_refused_other", 0) + st.get("hopwire.system.links_refused_auth", 0),
                    mib(proc_status_kib(col.proc.pid, "VmRSS"))), flush=True)
                next_progress += 5

        for b in range(nbatches):
            while time.monotonic() < t_ramp0 + b * args.batch_interval:
                progress(time.monotonic(), b * args.batch)
                time.sleep(min(0.25, max(0.0, t_ramp0 + b * args.batch_interval - time.monotonic())))
            for s in sensors[b * args.batch:(b + 1) * args.batch]:
                s.launch()
        t_launched = time.monotonic()
        while True:
            now = time.monotonic()
            progress(now, n)
            early = [s for s in sensors if not s.running()]
            if live >= n or early or now - t_launched > args.up_timeout:
                break
            time.sleep(0.25)
        t_up = time.monotonic()
        up_ok = live >= n
        early_set = set(early)
        print("%s %d of %d links live %.1f s after the first launch (%.1f s after the last)%s" % (
            "all" if up_ok else "ONLY", live, n, t_up - t_ramp0, t_up - t_launched,
            "; %d sensors exited during the ramp" % len(early) if early else ""), flush=True)

        # The window: every link up, for --seconds or until the first replay is due to end.
        replays_end = t_ramp0 + ramp + args.seconds + args.settle
        window_end = min(t_up + args.seconds, replays_end - 1.0)
        rss_up = proc_status_kib(col.proc.pid, "VmRSS")
        fds_up = open_fds(col.proc.pid)
        sensors_rss_up = sum(proc_status_kib(pid, "VmRSS") for pid in running_pids(sensors))
        sensors_pss_up = sum(proc_rollup_kib(pid, ("Pss",)) for pid in running_pids(sensors))
        sensors_private_up = sum(proc_rollup_kib(pid, ("Private_Clean", "Private_Dirty"))
                                 for pid in running_pids(sensors))
        st = col.status()
        w0 = dict(t=t_up, cpu=cpu_seconds(col.proc.pid, gone=0.0), machine=machine_cpu(), me=self_cpu(),
                  sensors_cpu=sum(cpu_seconds(pid, gone=0.0) for pid in running_pids(sensors)),
                  packets=st.get("hopwire.system.packets_received", 0))
        last = dict(w0)
        print("%7s %6s %9s %9s %11s %7s %10s %12s %10s %10s %12s" % (
            "t s", "live", "rss MiB", "hwm MiB", "KiB/link", "cpu %", "pkts/s", "counted", "reconnect", "ring drop",
            "sensors MiB"), flush=True)

        def report_line(now):
            nonlocal last
            try:
                st = col.status()
                srcs = col.sources()
            except RestError as e:
                print("%7.0f  %s" % (now - t_up, e), flush=True)
                return proc_status_kib(col.proc.pid, "VmRSS")
            cpu = cpu_seconds(col.proc.pid, gone=0.0)
            packets = st.get("hopwire.system.packets_received", 0)
            rss = proc_status_kib(col.proc.pid, "VmRSS")
            dt = now - last["t"]
            rate = lambda fmt, v: fmt % v if dt > 0.5 else "-"  # noqa: E731 (the first line has no interval)
            print("%7.0f %6d %9.1f %9.1f %11.1f %7s %10s %12d %10d %10d %12.0f" % (
                now - t_up, st.get("hopwire.system.sources_live", 0), mib(rss),
                mib(proc_status_kib(col.proc.pid, "VmHWM")), (rss - rss_idle) / n,
                rate("%.1f", 100 * (cpu - last["cpu"]) / max(dt, 1e-6)),
                rate("%.0f", (packets - last["packets"]) / max(dt, 1e-6)),
                packets,
                sum(s.get("hopwire.datasource.reconnects", 0) for s in srcs.values()),
                sum(s.get("hopwire.datasource.dropped_ring", 0) for s in srcs.values()),
                mib(sum(proc_status_kib(pid, "VmRSS") for pid in running_pids(sensors)))), flush=True)
            last = dict(t=now, cpu=cpu, packets=packets)
            return rss

        report_line(t_up)
        next_report = t_up + args.report
        exited_early = None
        while True:
            now = time.monotonic()
            if now >= window_end:
                break
            col.check()
            if exited_early is None:
                gone = [s for s in sensors if s not in early_set and not s.running()]
                if gone:
                    exited_early = (now - t_up, gone)
                    break
            if now >= next_report:
                report_line(now)
                next_report += args.report
            time.sleep(min(1.0, max(0.05, min(next_report, window_end) - time.monotonic())))
        t_end = time.monotonic()
        st_end = col.status()
        w1 = dict(t=t_end, cpu=cpu_seconds(col.proc.pid, gone=0.0), machine=machine_cpu(), me=self_cpu(),
                  sensors_cpu=sum(cpu_seconds(pid, gone=0.0) for pid in running_pids(sensors)),
                  packets=st_end.get("hopwire.system.packets_received", 0))
        rss_end = report_line(t_end)
        hwm_end = proc_status_kib(col.proc.pid, "VmHWM")
        sensors_rss_end = sum(proc_status_kib(pid, "VmRSS") for pid in running_pids(sensors))
        if exited_early:
            print("   --- %d sensors exited %.0f s into the window (first: %s, exit %s)" % (
                len(exited_early[1]), exited_early[0], exited_early[1][0].name, exited_early[1][0].rc), flush=True)

        # Drain: the replays end (each exits 0 once every frame it captured is acknowledged).
        t0 = time.monotonic()
        deadline = replays_end + args.drain_timeout
        while any(s.running() for s in sensors) and time.monotonic() < deadline:
            col.check()
            time.sleep(0.5)
        unfinished = [s for s in sensors if s.running()]
        for s in unfinished:
            s.stop()
        for s in unfinished:
            try:
                s.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait()
            s.rc = s.proc.returncode
        print("drained %.1f s after the window; %d sensors still running %.0f s after their replays were due to "
              "end were stopped" % (time.monotonic() - t0, len(unfinished), args.drain_timeout), flush=True)

        # Counts, per link, from both ends.
        col.check()
        srcs = col.sources()
        st = col.status()
        sent = counted = acked = ring_dropped = 0
        sensor_reconnects = sensor_retries = 0
        col_reconnects = sum(s.get("hopwire.datasource.reconnects", 0) for s in srcs.values())
        handshake = []
        problems = []
        warning_kinds = {}  # sensor warning and error lines, numbers and timestamps taken out
        for s in sensors:
            connects, retries, done, last_problem, lines = s.read_log()
            for line in lines:
                kind = re.sub(r"\d+(\.\d+)?", "N", line.split(" ", 1)[-1])
                warning_kinds[kind] = warning_kinds.get(kind, 0) + 1
            src = srcs.get(s.uuid, {})
            got = src.get("kismet.datasource.num_packets", 0)
            sent += s.frames
            counted += got
            sensor_reconnects += max(0, len(connects) - 1)
            sensor_retries += retries
            if connects:
                handshake.append(connects[0] - s.launched)
            if done:
                acked += done[1]
                ring_dropped += done[2]
            why = []
            if s.rc != 0 or s.stopped:
                why.append("exit %s%s" % (s.rc, " (stopped by us)" if s.stopped else ""))
            if not done:
                why.append("no 'replay complete' line")
            elif done[0] != s.frames:
                why.append("captured %d of %d frames" % (done[0], s.frames))
            if got != s.frames:
                why.append("counted %d of %d (%+d)" % (got, s.frames, got - s.frames))
            if done and done[1] != got:
                why.append("sensor says %d acknowledged" % done[1])
            if done and done[2]:
                why.append("%d dropped by the ring" % done[2])
            if len(connects) != 1 or retries or src.get("hopwire.datasource.reconnects", 0):
                why.append("%d connects, %d retries, collector counts %d reconnects" % (
                    len(connects), retries, src.get("hopwire.datasource.reconnects", 0)))
            if why:
                problems.append("%s (batch %d): %s%s" % (s.name, s.batch, ", ".join(why),
                                                         "; log: " + last_problem if last_problem else ""))

        # Hellos accepted beyond one per source that ever connected: links made again.
        extra_accepts = st.get("hopwire.system.links_accepted", 0) - sum(
            1 for src in srcs.values() if src.get("hopwire.datasource.first_seen", 0))
        unfinished_or_failed = sum(1 for s in sensors if s.rc != 0 or s.stopped)
        window = w1["t"] - w0["t"]
        machine = {k: w1["machine"][k] - w0["machine"][k] for k in w0["machine"]}
        cores = os.cpu_count() or 1
        refused = st.get("hopwire.system.connections_refused", {})
        cut = st.get("hopwire.system.links_cut", {})
        print()
        print("links up:                      %d of %d (%.1f s after the first launch); handshake (launch to "
              "connected) p50 %.2f s, p99 %.2f s, max %.2f s" % (
                  live, n, t_up - t_ramp0, percentile(handshake, 0.5), percentile(handshake, 0.99),
                  max(handshake) if handshake else float("nan")))
        print("window with every link up:     %.1f s%s" % (
            window, "" if window >= args.seconds - 1 else " (SHORTER than --seconds %.0f)" % args.seconds))
        print("reconnects:                    collector %d (per source), links accepted %d for %d sources that "
              "connected (%d links); sensors %d reconnects, %d retry warnings" % (
                  col_reconnects, st.get("hopwire.system.links_accepted", 0),
                  st.get("hopwire.system.links_accepted", 0) - extra_accepts, n, sensor_reconnects, sensor_retries))
        print("links cut / refused:           cut %s; refused %s, at Hello %d (auth %d); timed out %d" % (
            " ".join("%s=%d" % kv for kv in sorted(cut.items())), " ".join("%s=%d" % kv for kv in sorted(refused.items())),
            st.get("hopwire.system.links_refused_other", 0), st.get("hopwire.system.links_refused_auth", 0),
            st.get("hopwire.system.links_timed_out", 0)))
        batches = st.get("hopwire.system.batches_received", 0)
        print("batches:                       %d received (%.2f packets each), %d duplicate, %d gaps; acks withheld %d"
              % (batches, st.get("hopwire.system.packets_received", 0) / max(1, batches),
                 st.get("hopwire.system.batches_duplicate", 0), st.get("hopwire.system.batches_gap", 0),
                 st.get("hopwire.system.acks_withheld", 0)))
        print("packets sent by sensors:       %d (frames of the captures, each replayed once)" % sent)
        print("packets acknowledged (logs):   %d; dropped by sensor rings: %d" % (acked, ring_dropped))
        print("packets counted by collector:  %d (sum of per-source kismet.datasource.num_packets; "
              "status total %d)" % (counted, st.get("hopwire.system.packets_received", 0)))
        print("difference (counted - sent):   %+d" % (counted - sent))
        print("packets/s in the window:       %.0f achieved of %d offered (%.1f per link)" % (
            (w1["packets"] - w0["packets"]) / max(1e-6, window), n * args.pps,
            (w1["packets"] - w0["packets"]) / max(1e-6, window) / n))
        print("collector RSS:                 idle %.1f MiB; all links up %.1f MiB; end of window %.1f MiB; "
              "peak %.1f MiB" % (mib(rss_idle), mib(rss_up), mib(rss_end), mib(hwm_end)))
        print("collector RSS per link:        %.1f KiB when all were up, %.1f KiB at the end of the window "
              "((RSS - idle) / %d)" % ((rss_up - rss_idle) / n, (rss_end - rss_idle) / n, n))
        print("collector CPU in the window:   %.1f %% of one core (%.1f s user+system over %.1f s)" % (
            100 * (w1["cpu"] - w0["cpu"]) / max(1e-6, window), w1["cpu"] - w0["cpu"], window))
        print("collector descriptors:         %d idle, %d with all links up (soft limit %d)" % (
            fds_idle, fds_up, fd_soft))
        print("devices tracked:               %d" % st.get("kismet.system.devices.count", 0))
        print("sensors (informative):         RSS sum %.0f MiB when up (%.1f MiB each), %.0f MiB at the end; "
              "PSS sum %.0f MiB, private %.0f MiB; CPU %.1f %% of one core in all" % (
                  mib(sensors_rss_up), mib(sensors_rss_up) / n, mib(sensors_rss_end), mib(sensors_pss_up),
                  mib(sensors_private_up), 100 * (w1["sensors_cpu"] - w0["sensors_cpu"]) / max(1e-6, window)))
        # Of the machine's busy time: the collector, the sensors, this script, interrupts (loopback TCP is
        # mostly softirq), the hypervisor's steal, and the rest (other processes: a build would show here).
        col_cpu = w1["cpu"] - w0["cpu"]
        sens_cpu = w1["sensors_cpu"] - w0["sensors_cpu"]
        me_cpu = w1["me"] - w0["me"]
        other = machine["busy"] - col_cpu - sens_cpu - me_cpu - machine["irq"] - machine["steal"]
        pct = lambda v: 100 * v / max(1e-6, window)  # noqa: E731 (% of one core)
        print("machine CPU in the window:     %.0f %% busy of %d cores; in %% of one core: collector %.0f, sensors "
              "%.0f, this script %.0f, irq+softirq %.0f, steal %.0f, other processes %.0f%s" % (
                  100 * machine["busy"] / max(1e-6, machine["total"]), cores, pct(col_cpu), pct(sens_cpu),
                  pct(me_cpu), pct(machine["irq"]), pct(machine["steal"]), max(0.0, pct(other)),
                  "\n                               SATURATED: the collector waited for a core; its CPU and "
                  "packets/s are the machine's, not its own" if machine["busy"] > 0.95 * machine["total"] else ""))
        try:
            lines = [l for l in col.log.read_text(errors="replace").splitlines() if l.strip()]
        except OSError:
            lines = []
        print("collector log (warn+):         %d lines%s" % (len(lines), "; first: " + lines[0] if lines else ""))
        print("sensor warnings and errors:    %d lines%s" % (
            sum(warning_kinds.values()), "".join("\n  %5d x %s" % (c, k) for k, c in sorted(
                warning_kinds.items(), key=lambda kv: -kv[1])[:5])))
        for line in problems[:20]:
            print("  " + line)
        if len(problems) > 20:
            print("  ... and %d more links with problems" % (len(problems) - 20))

        failed = []
        if counted != sent:
            failed.append("%+d packets counted against sent" % (counted - sent))
        if col_reconnects or sensor_reconnects or extra_accepts:
            failed.append("links reconnected")
        if not up_ok:
            failed.append("not every link came up")
        if unfinished_or_failed:
            failed.append("%d sensors failed or were stopped" % unfinished_or_failed)
        print("result:                        %s" % ("; ".join(failed) if failed else
                                                      "every packet counted, no reconnects"))
        exit_code = 1 if failed else 0
    except (CollectorDied, RestError) as e:
        print("\n" + str(e), flush=True)
        exit_code = 1
    finally:
        for s in sensors:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        col.stop()
        if args.keep:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

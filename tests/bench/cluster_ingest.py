#!/usr/bin/env python3
"""Cluster mode against standalone on this machine (docs/cluster.md): one
collector, one sensor replaying a crafted capture as fast as it can
(realtime=false) over loopback, first standalone, then the same binary in
cluster mode on a three-node nats-server cluster (JetStream, replicas 3)
started here. Prints packets/s and collector CPU per run for both, NATS
messages and bytes per packet (the servers' /varz counters, all three
summed), and the failover time: a paced replay to two collectors in
cluster mode, the first killed with -9 mid-replay, timed until the second
holds the source in NATS and until the sensor is streaming to it.

A benchmark, not a test: it asserts only that every packet was counted.

  tests/bench/cluster_ingest.py [--build build] [--frames 1000000] [--runs 3]
                                [--aps 50] [--clients 1000] [--failovers 3]
"""
import argparse
import base64
import datetime
import json
import os
import pathlib
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid as uuidlib

from benchproc import cpu_seconds, free_port, wait_port

TOP = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "tools"))
from nats_cluster import NATS_SERVER, NatsCluster  # noqa: E402

PASSWORD = "bench-password-not-secret"


class Coll:
    def __init__(self, binary, work, name, config=None):
        self.binary = binary
        self.state = work / (name + "-state")
        self.port = free_port()
        self.log = work / (name + ".log")
        args = [str(binary), "--state-dir", str(self.state), "--listen", "127.0.0.1:%d" % self.port,
                "--remote-capture-port", "0", "--log-level", "info"]
        if config:
            args += ["--config", str(config)]
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, HOPWIRE_ADMIN_PASSWORD=PASSWORD))
        out.close()
        wait_port(self.port)

    def get(self, path):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path))
        req.add_header("Authorization", "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def cluster_config(work, name, nats, servers):
    p = work / (name + ".yaml")
    p.write_text("cluster:\n  node_id: %s\n  servers: [%s]\n  user: %s\n  password_file: %s\n  replicas: 3\n"
                 % (name, ", ".join(nats.url(i) for i in servers), nats.user, nats.password_file))
    return p


def wait_joined(c, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, body = c.get("/cluster/status.json")
        if st == 200 and body["connected"]:
            return
        time.sleep(0.1)
    raise SystemExit("collector on port %d did not join the cluster (log %s)" % (c.port, c.log))


def run_sensor(sensor, colls, cap, name, pps=None, uuid=None, log=None):
    src = "%s:name=%s,realtime=false" % (cap, name)
    if pps:
        src = "%s:name=%s,pps=%d" % (cap, name, pps)
    if uuid:
        src += ",uuid=" + uuid
    args = [str(sensor), "--connect", ",".join("127.0.0.1:%d" % c.port for c in colls), "--user", "admin",
            "--log-level", "info", "--source", src]
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, env=dict(os.environ, HOPWIRE_PASSWORD=PASSWORD), stdout=out,
                            stderr=subprocess.STDOUT)
    if log:
        out.close()
    return proc


def timed_replay(sensor, colls, cap, name):
    t0 = time.perf_counter()
    proc = run_sensor(sensor, colls, cap, name)
    if proc.wait() != 0:
        raise SystemExit("sensor %s failed with %d" % (name, proc.returncode))
    return time.perf_counter() - t0


def nats_totals(nats):
    tot = {"in_msgs": 0, "in_bytes": 0, "out_msgs": 0, "out_bytes": 0}
    for i in range(len(nats.procs)):
        v = nats.varz(i)
        for k in tot:
            tot[k] += v[k]
    return tot


def ingest(sensor, coll, cap, frames, runs, nats=None):
    timed_replay(sensor, [coll], cap, "warmup")
    rows = []
    for i in range(runs):
        c0 = cpu_seconds(coll.proc.pid)
        n0 = nats_totals(nats) if nats else None
        nc0 = sum(cpu_seconds(p) for p in nats.pids()) if nats else 0
        t = timed_replay(sensor, [coll], cap, "big-%d" % i)
        row = {"pps": frames / t, "cpu": cpu_seconds(coll.proc.pid) - c0}
        if nats:
            n1 = nats_totals(nats)
            row["nats"] = {k: n1[k] - n0[k] for k in n0}
            row["nats_cpu"] = sum(cpu_seconds(p) for p in nats.pids()) - nc0
        rows.append(row)
    return rows


def failover(sensor, build_collector, work, nats, cap, frames, rounds):
    out = []
    for r in range(rounds):
        a = Coll(build_collector, work, "fa%d" % r, cluster_config(work, "fa%d" % r, nats, [0, 1, 2]))
        b = Coll(build_collector, work, "fb%d" % r, cluster_config(work, "fb%d" % r, nats, [1, 2, 0]))
        try:
            wait_joined(a)
            wait_joined(b)
            uuid = str(uuidlib.uuid4())
            log = work / ("failover-sensor-%d.log" % r)
            proc = run_sensor(sensor, [a, b], cap, "fo%d" % r, pps=20000, uuid=uuid, log=log)
            time.sleep(4)
            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait()
            killed_wall, killed = time.time(), time.monotonic()
            owned = None
            while owned is None and time.monotonic() - killed < 30:
                st, body = b.get("/cluster/status.json")
                if st == 200:
                    rec = {s["uuid"]: s for s in body["sources"]}.get(uuid)
                    if rec and rec["owner"] == "fb%d" % r:
                        owned = time.monotonic() - killed
                time.sleep(0.02)
            if proc.wait(timeout=120) != 0:
                raise SystemExit("failover sensor failed; log %s" % log)
            st, body = b.get("/cluster/status.json")
            counted = {s["uuid"]: s for s in body["sources"]}[uuid]["num_packets"]
            # The sensor's own line when it streams to b again (its log
            # and this script share the machine's clock and time zone).
            streaming = None
            for line in log.read_text().splitlines():
                m = re.match(r"(\S+) info connected to 127\.0\.0\.1:%d " % b.port, line)
                if m:
                    ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
                    streaming = ts - killed_wall
                    break
            out.append({"owned": owned, "streaming": streaming, "counted": counted, "frames": frames})
        finally:
            a.stop()
            b.stop()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--aps", type=int, default=50)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--failovers", type=int, default=3)
    args = ap.parse_args()
    if NATS_SERVER is None:
        raise SystemExit("nats-server is not installed (apt-get install nats-server)")
    build = pathlib.Path(args.build)
    collector = build / "collector" / "hopwire-collector"
    sensor = build / "sensor" / "hopwire-sensor"
    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-cluster-bench-"))
    cap = work / "big.pcap"
    maker = TOP / "tests" / "tools" / "make_capture.py"
    subprocess.run([sys.executable, str(maker), str(cap), "--frames", str(args.frames), "--aps", str(args.aps),
                    "--clients", str(args.clients)], check=True)
    fo_frames = 200_000
    fo_cap = work / "failover.pcap"
    subprocess.run([sys.executable, str(maker), str(fo_cap), "--frames", str(fo_frames), "--aps", "20",
                    "--clients", "200"], check=True)

    alone = Coll(collector, work, "standalone")
    try:
        standalone = ingest(sensor, alone, cap, args.frames, args.runs)
    finally:
        alone.stop()

    nats = NatsCluster(work, n=3, free_port=free_port)
    nats.start_all()
    try:
        coll = Coll(collector, work, "clustered", cluster_config(work, "clustered", nats, [0, 1, 2]))
        try:
            wait_joined(coll)
            clustered = ingest(sensor, coll, cap, args.frames, args.runs, nats)
            st, body = coll.get("/cluster/status.json")
            exact = sum(1 for x in body["sources"] if x["num_packets"] == args.frames)
            if exact < args.runs:
                raise SystemExit("only %d of %d runs counted exactly in the cluster: %s" % (
                    exact, args.runs, body["sources"]))
            commits = body["counters"]["commits"]
        finally:
            coll.stop()
        fo = failover(sensor, collector, work, nats, fo_cap, fo_frames, args.failovers)
    finally:
        nats.stop_all()

    def line(name, rows):
        pps = [r["pps"] for r in rows]
        print("%-11s %s packets/s (median %.0f); collector CPU %s s" % (
            name, ", ".join("%.0f" % x for x in pps), statistics.median(pps),
            ", ".join("%.2f" % r["cpu"] for r in rows)))

    print("capture: %d frames, %d APs, %d clients, realtime=false, one sensor" % (args.frames, args.aps,
                                                                                args.clients))
    line("standalone", standalone)
    line("cluster", clustered)
    ratio = statistics.median(r["pps"] for r in clustered) / statistics.median(r["pps"] for r in standalone)
    print("cluster / standalone: %.0f %% (medians)" % (100 * ratio))
    for i, r in enumerate(clustered):
        n = r["nats"]
        print("run %d NATS (3 servers summed): %d msgs in, %d out; %.0f B in, %.0f B out; "
              "%.4f msgs in per packet, %.2f B in per packet; NATS CPU %.2f s" % (
                  i, n["in_msgs"], n["out_msgs"], n["in_bytes"], n["out_bytes"], n["in_msgs"] / args.frames,
                  n["in_bytes"] / args.frames, r["nats_cpu"]))
    print("source commits over the cluster run (warm-up included): %d" % commits)
    for i, f in enumerate(fo):
        print("failover %d: source owned by the other collector %.2f s after kill -9; sensor streaming to it "
              "after %s s; counted %d of %d" % (
                  i, f["owned"] if f["owned"] is not None else float("nan"),
                  "%.2f" % f["streaming"] if f["streaming"] is not None else "?", f["counted"], f["frames"]))
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

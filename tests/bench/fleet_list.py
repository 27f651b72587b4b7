#!/usr/bin/env python3
"""The fleet's device list in cluster mode (docs/cluster.md,
/cluster/devices.json): a three-node nats-server cluster (JetStream,
replicas 3) and three collectors on this machine, each fed by one sensor
replaying its own crafted capture (realtime=false) with its own stations,
and a fourth sensor replaying the first capture to the second collector,
so those devices are on two collectors and their records are folded.
Then the fleet list is asked of each collector in turn, several times:
prints seconds, answer bytes, devices, records folded, and the asking
collector's RSS before and its peak during the request (sampled every
10 ms), beside one collector's own /devices/views/all/devices.json, and the bytes of device
records the shares carried (the asker's own included).

A benchmark, not a test: it checks only that every answer lists every
device and names no collector as missing.

  tests/bench/fleet_list.py [--build build] [--devices 100000] [--runs 3]
"""
import argparse
import base64
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchproc import free_port, proc_status_kib
from cluster_ingest import PASSWORD, Coll, cluster_config, run_sensor, wait_joined

TOP = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "tools"))
from nats_cluster import NATS_SERVER, NatsCluster  # noqa: E402


def timed_get(coll, path):
    """(seconds, body bytes, peak RSS KiB during the request)."""
    peak = [proc_status_kib(coll.proc.pid, "VmRSS")]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc_status_kib(coll.proc.pid, "VmRSS"))
            time.sleep(0.01)

    t = threading.Thread(target=sample)
    t.start()
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (coll.port, path))
    req.add_header("Authorization", "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode())
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        body = r.read()
    secs = time.perf_counter() - t0
    done.set()
    t.join()
    return secs, body, peak[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--devices", type=int, default=100_000, help="stations over the three captures")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if NATS_SERVER is None:
        raise SystemExit("nats-server is not installed (apt-get install nats-server)")
    build = pathlib.Path(args.build)
    collector = build / "collector" / "hopwire-collector"
    sensor = build / "sensor" / "hopwire-sensor"
    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-fleet-bench-"))
    maker = TOP / "tests" / "tools" / "make_capture.py"
    per = args.devices // 3
    caps = []
    for i in range(3):
        cap = work / ("part%d.pcap" % i)
        # Every station sends a few frames; 50 APs each beacon throughout.
        subprocess.run([sys.executable, str(maker), str(cap), "--frames", str(per * 4), "--aps", "50",
                        "--clients", str(per), "--client-offset", str(i * per)], check=True)
        caps.append(cap)

    nats = NatsCluster(work, n=3, free_port=free_port)
    nats.start_all()
    colls = []
    try:
        for i in range(3):
            name = "fleet-%c" % "abc"[i]
            colls.append(Coll(collector, work, name, cluster_config(work, name, nats, [i, (i + 1) % 3, (i + 2) % 3])))
        for c in colls:
            wait_joined(c)
        procs = [run_sensor(sensor, [colls[i]], caps[i], "part%d" % i) for i in range(3)]
        procs.append(run_sensor(sensor, [colls[1]], caps[0], "again0"))
        for p in procs:
            if p.wait(timeout=600) != 0:
                raise SystemExit("a sensor failed with %d" % p.returncode)
        time.sleep(2)
        own = []
        for c in colls:
            st, body = c.get("/system/status.json")
            own.append(body["kismet.system.devices.count"] if body else "?")
        rows = []
        for r in range(args.runs):
            for c in colls:
                rss0 = proc_status_kib(c.proc.pid, "VmRSS")
                secs, body, peak = timed_get(c, "/cluster/devices.json")
                got = json.loads(body)
                if got["hopwire.cluster.missing"]:
                    raise SystemExit("missing collectors: %s" % got["hopwire.cluster.missing"])
                n = len(got["kismet.device.list"])
                rows.append({"coll": c, "secs": secs, "bytes": len(body), "devices": n,
                             "merged": got["hopwire.cluster.merged_records"], "rss0": rss0, "peak": peak,
                             "shares": {s["node_id"]: s["devices"] for s in got["hopwire.cluster.collectors"]},
                             "share_bytes": sum(s["bytes"] for s in got["hopwire.cluster.collectors"])})
        local = [timed_get(colls[0], "/devices/views/all/devices.json") for _ in range(args.runs)]
    finally:
        for c in colls:
            c.stop()
        nats.stop_all()

    devices = {r["devices"] for r in rows}
    if len(devices) != 1:
        raise SystemExit("the answers listed different numbers of devices: %s" % sorted(devices))
    print("fleet: %d devices over 3 collectors (shares %s; %d records folded; %.1f MB of records), "
          "%d runs per collector" % (rows[0]["devices"], rows[0]["shares"], rows[0]["merged"],
                                     rows[0]["share_bytes"] / 1e6, args.runs))
    for c in colls:
        mine = [r for r in rows if r["coll"] is c]
        print("asked of %s: %s s (median %.2f); %.1f MB; RSS %d MiB before, peak +%s MiB" % (
            pathlib.Path(c.log).stem, ", ".join("%.2f" % r["secs"] for r in mine),
            statistics.median(r["secs"] for r in mine), mine[0]["bytes"] / 1e6, mine[0]["rss0"] // 1024,
            ", ".join("%d" % ((r["peak"] - r["rss0"]) // 1024) for r in mine)))
    print("one collector's own list (%s devices): %s s; %.1f MB" % (
        own[0], ", ".join("%.2f" % x[0] for x in local), len(local[0][1]) / 1e6))
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

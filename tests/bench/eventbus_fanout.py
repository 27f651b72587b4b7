#!/usr/bin/env python3
"""Event bus fan-out: N WebSocket subscribers (python3-websockets, in a
second process) subscribed to NEW_DEVICE and DEVICE_CHANGED while a sensor
replays a crafted capture with many new devices as fast as it can. Prints,
for 0 subscribers and for N: the replay's packets/s (ingest cost of the
fan-out), events delivered per subscriber and in all, events/s, and what the
bus dropped. A fresh collector per run, so every run sees the same new
devices. A benchmark, not a test.

  tests/bench/eventbus_fanout.py [--build build] [--subscribers 100] [--frames 400000] [--clients 40000] [--runs 2]
"""
import argparse
import asyncio
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

TOP = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "bench"))
from e2e_throughput import free_port, wait_port  # noqa: E402


def subscribers_main(port, token, n, ready_file, done_file, out_file):
    """The subscriber process: n connections, each counting what it gets,
    until it has every device's NEW_DEVICE (done_file holds the count) or the
    bus has been quiet for 5 s after the replay."""
    import websockets

    async def one(ws, counts):
        await ws.send(json.dumps({"SUBSCRIBE": "NEW_DEVICE", "fields": ["kismet.device.base.macaddr"]}))
        await ws.send(json.dumps({"SUBSCRIBE": "DEVICE_CHANGED", "fields": ["kismet.device.base.macaddr"]}))
        quiet_since = None
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.25)
            except asyncio.TimeoutError:
                # Done once every device's NEW_DEVICE came (the count is in
                # done_file), or after 5 s without a message once the
                # replay has ended: what did not come by then was lost.
                if os.path.exists(done_file):
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since > 5.0:
                        return
                continue
            except websockets.ConnectionClosed:
                counts["closed"] += 1
                return
            quiet_since = None
            msg = json.loads(raw)
            counts["messages"] += 1
            counts["last"] = time.monotonic()
            counts["first"] = counts["first"] or counts["last"]
            if "NEW_DEVICE" in msg:
                counts["new_device"] += 1
                if os.path.exists(done_file) and counts["new_device"] >= int(pathlib.Path(done_file).read_text()):
                    return
            elif "DEVICE_CHANGED" in msg:
                counts["changed_devices"] += len(msg["DEVICE_CHANGED"].get("hopwire.devices.list", []))

    async def run():
        hdr = {"Authorization": "Bearer " + token}
        url = "ws://127.0.0.1:%d/eventbus/events.ws" % port
        # No keepalive pings: one client process reading 100 busy sockets can
        # fall seconds behind, and a late pong must not end the run.
        conns = [await websockets.connect(url, extra_headers=hdr, max_size=64 << 20, ping_interval=None)
                 for _ in range(n)]
        counts = [dict(messages=0, new_device=0, changed_devices=0, closed=0, first=0.0, last=0.0) for _ in conns]
        tasks = [asyncio.create_task(one(ws, c)) for ws, c in zip(conns, counts)]
        await asyncio.sleep(0.5)
        pathlib.Path(ready_file).write_text("ready")
        await asyncio.gather(*tasks)
        for ws in conns:
            await ws.close()
        pathlib.Path(out_file).write_text(json.dumps(counts))

    asyncio.run(run())


def one_run(args, work, cap, n):
    build = pathlib.Path(args.build)
    collector_bin = build / "collector" / "hopwire-collector"
    sensor_bin = build / "sensor" / "hopwire-sensor"
    state = work / ("state-%d-%f" % (n, time.time()))
    port = free_port()
    env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD="bench-password-not-secret")
    coll = subprocess.Popen([str(collector_bin), "--state-dir", str(state), "--listen", "127.0.0.1:%d" % port,
                             "--remote-capture-port", "0", "--log-level", "warn"], env=env)
    subs = None
    try:
        wait_port(port)

        def token(role, name):
            return subprocess.run([str(collector_bin), "token", "create", "--state-dir", str(state), "--role", role,
                                   "--name", name], check=True, capture_output=True, text=True).stdout.strip()

        ds, ro = token("datasource", "bench"), token("readonly", "subs")
        ready, done, out = work / "ready", work / "done", work / "counts.json"
        for f in (ready, done, out):
            f.unlink(missing_ok=True)
        if n:
            subs = subprocess.Popen([sys.executable, __file__, "--as-subscribers", str(port), ro, str(n), str(ready),
                                     str(done), str(out)])
            while not ready.exists():
                if subs.poll() is not None:
                    raise SystemExit("the subscriber process failed")
                time.sleep(0.05)
        senv = dict(os.environ, HOPWIRE_APIKEY=ds)
        t0 = time.monotonic()
        subprocess.run([str(sensor_bin), "--connect", "127.0.0.1:%d" % port, "--disable-retry", "--log-level", "warn",
                        "--source", "%s:name=fanout,realtime=false" % cap], env=senv, check=True)
        replay = time.monotonic() - t0
        with urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%d/system/status.json" % port, headers={"Authorization": "Bearer " + ro})) as r:
            done.write_text(str(json.load(r)["kismet.system.devices.count"]))
        counts = []
        if subs:
            subs.wait(timeout=120)
            counts = json.loads(out.read_text())
        with urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%d/system/status.json" % port, headers={"Authorization": "Bearer " + ro})) as r:
            status = json.load(r)
        devices = status.get("kismet.system.devices.count", 0)
        dropped = (status.get("hopwire.system.eventbus.dropped", 0), status.get("hopwire.system.eventbus.queue_overflow", 0),
                   status.get("hopwire.system.eventbus.published", 0), status.get("hopwire.system.eventbus.delivered", 0))
    finally:
        if subs and subs.poll() is None:
            subs.kill()
        coll.send_signal(signal.SIGTERM)
        coll.wait()
    return replay, counts, devices, dropped


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--as-subscribers":
        port, token, n, ready, done, out = sys.argv[2:8]
        subscribers_main(int(port), token, int(n), ready, done, out)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--subscribers", type=int, default=100)
    ap.add_argument("--frames", type=int, default=400_000)
    ap.add_argument("--clients", type=int, default=40_000)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-fanout-"))
    cap = work / "mix.pcap"
    subprocess.run([sys.executable, str(TOP / "tests" / "tools" / "make_capture.py"), str(cap), "--frames",
                    str(args.frames), "--clients", str(args.clients)], check=True)
    print("capture: %d frames, %d clients + 50 APs; %d subscribers to NEW_DEVICE and DEVICE_CHANGED"
          % (args.frames, args.clients, args.subscribers))
    base, fan = [], []
    for i in range(args.runs):  # interleaved, so both see the same machine
        base.append(one_run(args, work, cap, 0))
        fan.append(one_run(args, work, cap, args.subscribers))
    for label, runs in (("0 subscribers", base), ("%d subscribers" % args.subscribers, fan)):
        times = [r[0] for r in runs]
        print("%-16s replay %s s  -> %.0f packets/s (median); devices %s"
              % (label, ", ".join("%.2f" % t for t in times), args.frames / statistics.median(times),
                 ", ".join(str(r[2]) for r in runs)))
    for replay, counts, devices, dropped in fan:
        new = [c["new_device"] for c in counts]
        msgs = sum(c["messages"] for c in counts)
        span = max(c["last"] for c in counts) - min(c["first"] for c in counts if c["first"])
        print("  fan-out run: NEW_DEVICE per subscriber min %d / max %d of %d devices; %d messages in all "
              "(%.0f/s over %.2f s), DEVICE_CHANGED device entries %d; dropped for slow readers %d, "
              "events lost to the full publish queue %d; bus published %d events, delivered %d messages; closed %d"
              % (min(new), max(new), devices, msgs, msgs / span if span else 0, span,
                 sum(c["changed_devices"] for c in counts), dropped[0], dropped[1], dropped[2], dropped[3],
                 sum(c["closed"] for c in counts)))
    b, f = statistics.median(r[0] for r in base), statistics.median(r[0] for r in fan)
    print("ingest with %d subscribers: %.1f %% of without" % (args.subscribers, 100.0 * b / f))
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Prints the sensor's footprint against its budgets (issue 9): the size of
each stripped build, what its biggest sections are and which shared
libraries it needs, and the private memory of a running sensor beyond its
ring buffer.

    deploy/cross-build.sh native && deploy/cross-build.sh aarch64
    tests/bench/sensor_footprint.py build-native build-aarch64

Each BUILD_DIR is one made by deploy/cross-build.sh. Memory is measured with
the first build that runs natively (qemu-user would add its own): the
sensor replays a capture in a loop, as fast as it can, to a collector on
loopback for --seconds, while /proc/PID/smaps is sampled (peaks shown). The
ring is touched in full at start, so anonymous memory minus the ring size is
what the sensor allocates besides it. Shared libraries are shown apart:
whether their pages are private depends on which other processes map them
(here the collector maps libssl, libcrypto and libstdc++ too)."""
import argparse
import json
import os
import pathlib
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from benchproc import free_port

TOP = pathlib.Path(__file__).resolve().parents[2]
SIZE_BUDGET = 1 << 20
MEMORY_BUDGET = 4 << 20
BUDGETED = ("Advanced Micro Devices X86-64", "AArch64")  # the size budget is for these


def readelf(args, path):
    return subprocess.run(["readelf"] + args + [str(path)], capture_output=True, text=True, check=True).stdout


def machine(path):
    return next(l.split(":", 1)[1].strip() for l in readelf(["-h"], path).splitlines() if "Machine:" in l)


def needed(path):
    return [l.split("[")[1].rstrip("]") for l in readelf(["-d"], path).splitlines() if "(NEEDED)" in l]


def sections(path):
    """Sizes of the sections loaded at run time (flag A), by name."""
    out = {}
    for line in readelf(["-S", "-W"], path).splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 7 and parts[0].startswith("[") and parts[1].startswith(".") and "A" in parts[7]:
            out[parts[1]] = int(parts[5], 16)
    return out


def wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("collector did not listen on %d" % port)


def memory_kib(pid, binary):
    """Resident memory by where it comes from, from /proc/PID/smaps:
    anon (heap, stacks, the ring: what the sensor allocates), own (pages of
    the sensor's binary) and libs (shared libraries, whether or not another
    process shares them), plus private (clean + dirty, as the kernel counts
    it right now, so shared libraries count only where no one else maps them)."""
    out = {"anon": 0, "own": 0, "libs": 0, "private": 0}
    name = None
    binary = os.path.realpath(binary)
    for line in pathlib.Path("/proc/%d/smaps" % pid).read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            path = head[5] if len(head) > 5 else ""
            name = "own" if path == binary else "libs" if path.startswith("/") else "anon"
        elif head[0] == "Rss:":
            out[name] += int(head[1])
        elif head[0] in ("Private_Clean:", "Private_Dirty:"):
            out["private"] += int(head[1])
    return out


def measure_memory(sensor, collector, capture, ring, seconds):
    work = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-footprint-"))
    port = free_port()
    env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD="footprint", HOPWIRE_PASSWORD="footprint")
    col = subprocess.Popen([str(collector), "--state-dir", str(work / "state"), "--listen", "127.0.0.1:%d" % port,
                            "--remote-capture-port", "0", "--packet-log-max", "0", "--log-level", "warn"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        sen = subprocess.Popen([str(sensor), "--connect", "127.0.0.1:%d" % port, "--user", "admin",
                                "--buffer", ring, "--log-level", "warn",
                                "--source", "%s:name=footprint,realtime=false,loop=true" % capture],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = {}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and sen.poll() is None:
            for k, v in memory_kib(sen.pid, sensor).items():
                peak[k] = max(peak.get(k, 0), v)
            time.sleep(0.1)
        alive = sen.poll() is None
        sen.terminate()
        sen.wait(timeout=20)
        out = subprocess.run(["curl", "-s", "-u", "admin:footprint", "http://127.0.0.1:%d/system/status.json" % port],
                             capture_output=True, text=True, timeout=30).stdout
        packets = json.loads(out)["hopwire.system.packets_received"]
        if not alive:
            raise RuntimeError("the sensor exited during the measurement")
        return peak, packets
    finally:
        col.terminate()
        col.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def parse_size(text):
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    for u, f in units.items():
        if text.endswith(u):
            return int(float(text[: -len(u)]) * f)
    return int(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("builds", nargs="+", type=pathlib.Path, help="build directories of deploy/cross-build.sh")
    ap.add_argument("--collector", type=pathlib.Path, default=TOP / "build" / "collector" / "hopwire-collector")
    ap.add_argument("--capture", type=pathlib.Path, default=TOP / "tests" / "data" / "aircrack_n-02.cap")
    ap.add_argument("--rings", default="4MiB,16MiB", help="ring sizes to measure with (--buffer)")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()

    print("== size (stripped; budget %d bytes = 1 MiB on x86_64 and aarch64)" % SIZE_BUDGET)
    native = None
    host = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}.get(platform.machine())
    for build in args.builds:
        binary = build / "hopwire-sensor"
        m = machine(binary)
        size = binary.stat().st_size
        secs = sections(build / "sensor" / "hopwire-sensor")
        top = ", ".join("%s %d KiB" % (k, v >> 10) for k, v in
                        sorted(secs.items(), key=lambda kv: -kv[1])[:5])
        budget = ("%5.1f%% of budget" % (100.0 * size / SIZE_BUDGET)) if m in BUDGETED else "no budget"
        print("%-16s %-30s %8d bytes (%6.1f KiB, %s)" % (build.name, m, size, size / 1024, budget))
        print("    biggest sections: " + top)
        print("    shared libraries: " + " ".join(needed(binary)))
        if native is None and m == host:
            native = binary

    if native is None:
        print("== memory: no native build given; skipped")
        return 0
    print("== private memory beyond the ring (budget %d bytes = 4 MiB); %s replayed in a loop for %.0f s"
          % (MEMORY_BUDGET, args.capture.name, args.seconds))
    for ring in args.rings.split(","):
        peak, packets = measure_memory(native, args.collector, args.capture, ring, args.seconds)
        r = parse_size(ring) >> 10
        anon = peak["anon"] - r
        print("ring %-6s [%d packets streamed]; peaks in KiB:" % (ring, packets))
        print("    allocated by the sensor beyond the ring (anon)   %6d  (%4.1f%% of budget)"
              % (anon, 100.0 * anon * 1024 / MEMORY_BUDGET))
        print("    + its own binary's pages                         %6d  -> %6d  (%4.1f%% of budget)"
              % (peak["own"], anon + peak["own"], 100.0 * (anon + peak["own"]) * 1024 / MEMORY_BUDGET))
        print("    + shared libraries' pages, if no one shares them %6d  -> %6d"
              % (peak["libs"], anon + peak["own"] + peak["libs"]))
        print("    private now (clean + dirty) beyond the ring      %6d" % (peak["private"] - r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

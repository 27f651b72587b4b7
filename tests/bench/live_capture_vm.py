#!/usr/bin/python3
"""Live capture under load, in the hwsim VM: one radio injects beacons as fast
as the guest can send them on channel 6, a hopwire-sensor locked on channel 6
captures them on another radio and streams to a collector on the host. Every
--sample seconds the guest records the sensor's memory (smaps_rollup); at the
end this prints the memory curve, what was injected, captured and acknowledged,
and the kernel and ring drops the sensor reported.

    /usr/bin/python3 tests/bench/live_capture_vm.py --seconds 600

Budget (issue 7): the sensor's private memory stays flat and below 4 MiB +
the ring.
"""
import argparse
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from conftest import BUILD_DIR, SENSOR, SOURCE_DIR, Collector  # noqa: E402
from hwsim import HwsimVM, find_hwsim_vm  # noqa: E402

INJECTOR = r"""
import socket, struct, sys, time
secs = float(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("inj0", 0))
radiotap = bytes([0, 0, 8, 0, 0, 0, 0, 0])
frames = []
for i in range(64):
    mac = bytes([0x02, 0xbe, 0x00, 0x00, 0x00, i])
    ssid = b"load-%02d" % i
    body = struct.pack("<QHH", 0, 100, 0x0401) + bytes([0, len(ssid)]) + ssid + bytes([1, 4, 0x82, 0x84, 0x8b, 0x96])
    hdr = bytes([0x80, 0x00, 0, 0]) + b"\xff" * 6 + mac + mac + struct.pack("<H", 0)
    frames.append(radiotap + hdr + body)
sent = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    for f in frames:
        try:
            s.send(f)
            sent += 1
        except OSError:
            pass
print(sent)
"""

SAMPLER = r"""
pid=$(cat sensor.pid)
end=$((SECONDS + $1))
while [ $SECONDS -lt $end ] && kill -0 $pid 2>/dev/null; do
  echo "$SECONDS $(grep -E '^(Rss|Private_Clean|Private_Dirty):' /proc/$pid/smaps_rollup | awk '{printf "%s %s ", $1, $2}')" >> memory.txt
  sleep $2
done
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--buffer", default="4MiB", help="the sensor's ring")
    args = ap.parse_args()
    harness = find_hwsim_vm(SOURCE_DIR)
    if not harness:
        sys.exit("hwsim-vm not found (set HWSIM_VM)")
    work = BUILD_DIR / "vm-work" / "bench"
    coll_dir = BUILD_DIR / "vm-work" / "bench-collector"
    import shutil
    shutil.rmtree(coll_dir, ignore_errors=True)
    coll_dir.mkdir(parents=True)
    collector = Collector(coll_dir, admin_password="bench-admin-pw", tcp=False,
                          extra_args=["--packet-log-max", "0"]).start()
    vm = HwsimVM(harness, work, BUILD_DIR, radios=2, forward=[(collector.port, collector.port)])
    vm.start()
    try:
        (vm.work / "token").write_text(collector.token("datasource", "bench") + "\n")
        (vm.work / "inject.py").write_text(INJECTOR)
        vm.run("iw phy phy0 interface add inj0 type monitor && ip link set inj0 up && iw dev inj0 set channel 6")
        vm.run("setsid %s --connect 127.0.0.1:%d --apikey-file token --buffer %s "
               "--source 'wlan1:name=bench,channel=6' > sensor.log 2>&1 < /dev/null & echo $! > sensor.pid"
               % (SENSOR, collector.port, args.buffer))
        time.sleep(3)
        vm.run("setsid python3 inject.py %d > injected.txt 2>&1 < /dev/null &" % args.seconds)
        (vm.work / "sample.sh").write_text(SAMPLER)
        vm.run("setsid bash sample.sh %d %d > /dev/null 2>&1 < /dev/null &" % (args.seconds + 5, args.sample))
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.seconds + 8:
            time.sleep(5)
        vm.run("kill -TERM $(cat sensor.pid); sleep 2; true")
        time.sleep(2)
        src = collector.sources()["bench"]
        injected = int(vm.file("injected.txt").strip() or 0)
        print("injected (guest, python AF_PACKET): %d frames in %.0f s = %.0f/s" % (
            injected, args.seconds, injected / args.seconds))
        print("sensor captured %d, collector stored %d, dropped by the kernel %d, by the ring %d" % (
            src["hopwire.datasource.sensor_captured"], src["kismet.datasource.num_packets"],
            src["hopwire.datasource.dropped_kernel"], src["hopwire.datasource.dropped_ring"]))
        ring = src["hopwire.datasource.ring_bytes_total"]
        print("ring: %d bytes (%.2f MiB)" % (ring, ring / 1048576))
        print("  t(s)   RSS KiB  private KiB  beyond the ring KiB  of it dirty (heap, stacks) KiB")
        peak = peak_dirty = 0
        first = None
        for line in vm.file("memory.txt").splitlines():
            parts = line.split()
            if len(parts) < 7:
                continue
            t = int(parts[0])
            vals = dict(zip(parts[1::2], map(int, parts[2::2])))
            private = vals.get("Private_Clean:", 0) + vals.get("Private_Dirty:", 0)
            beyond = private - ring // 1024
            dirty = vals.get("Private_Dirty:", 0) - ring // 1024
            first = beyond if first is None else first
            peak = max(peak, beyond)
            peak_dirty = max(peak_dirty, dirty)
            print("%6d %9d %12d %19d %31d" % (t, vals.get("Rss:", 0), private, beyond, dirty))
        print("private memory beyond the ring: first %d KiB, peak %d KiB, of it dirty at most %d KiB "
              "(budget 4096 KiB); the rest is clean program and library code" % (first or 0, peak, peak_dirty))
        print(json.dumps({"injected": injected, "captured": src["hopwire.datasource.sensor_captured"],
                          "stored": src["kismet.datasource.num_packets"],
                          "dropped_kernel": src["hopwire.datasource.dropped_kernel"],
                          "dropped_ring": src["hopwire.datasource.dropped_ring"], "peak_beyond_ring_kib": peak,
                          "peak_dirty_beyond_ring_kib": peak_dirty}))
    finally:
        vm.stop()
        collector.stop()


if __name__ == "__main__":
    main()

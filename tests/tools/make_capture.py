#!/usr/bin/env python3
"""Writes a crafted radiotap pcap for tests and benchmarks.

The frames are well-formed 802.11: beacons from --aps access points, and
probe requests and ToDS data frames from --clients stations, interleaved.
Every frame is distinct (sequence numbers, MACs), so byte comparisons and
hashes mean something. Timestamps advance by --interval-us per frame.

  make_capture.py OUT.pcap --frames 200000 [--aps 50] [--clients 1000] [--client-offset 0]

Stations are 06:00:xx:xx:xx:xx numbered from --client-offset, so captures
made with different offsets hear different stations (device churn).
"""
import argparse
import struct
import sys

RADIOTAP_LEN = 15


def radiotap(freq, signal):
    # present: flags(1) rate(2) channel(3) dbm_antsignal(5)
    present = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5)
    chan_flags = 0x0080 | 0x0400 if freq < 3000 else 0x0100 | 0x0040
    return struct.pack("<BBHI", 0, 0, RADIOTAP_LEN, present) + struct.pack(
        "<BBHHb", 0, 2, freq, chan_flags, signal)


def mac(prefix, n):
    return bytes([prefix, 0x00, (n >> 24) & 0xFF, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF])


def ie(eid, body):
    return bytes([eid, len(body)]) + body


RSN_PSK = ie(48, struct.pack("<H", 1) + b"\x00\x0f\xac\x04" + struct.pack("<H", 1) + b"\x00\x0f\xac\x04"
             + struct.pack("<H", 1) + b"\x00\x0f\xac\x02" + b"\x00\x00")
RATES = ie(1, bytes([0x82, 0x84, 0x8B, 0x96, 0x0C, 0x12, 0x18, 0x24]))


def beacon(bssid, seq, ssid, channel, ts):
    hdr = struct.pack("<BBH", 0x80, 0x00, 0) + b"\xff" * 6 + bssid + bssid + struct.pack("<H", (seq & 0xFFF) << 4)
    body = struct.pack("<QHH", ts, 100, 0x0411) + ie(0, ssid) + RATES + ie(3, bytes([channel])) + RSN_PSK
    return hdr + body


def probe(sta, seq, ssid):
    hdr = struct.pack("<BBH", 0x40, 0x00, 0) + b"\xff" * 6 + sta + b"\xff" * 6 + struct.pack("<H", (seq & 0xFFF) << 4)
    return hdr + ie(0, ssid) + RATES


def data(sta, bssid, seq, payload_len):
    hdr = struct.pack("<BBH", 0x08, 0x01, 0x002C) + bssid + sta + b"\x02\x00\x00\x00\x00\x01" + struct.pack(
        "<H", (seq & 0xFFF) << 4)
    llc = b"\xaa\xaa\x03\x00\x00\x00\x88\xb5"  # local experimental ethertype
    body = bytes((seq + i) & 0xFF for i in range(payload_len))
    return hdr + llc + body


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=200000)
    ap.add_argument("--aps", type=int, default=50)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--client-offset", type=int, default=0, help="number of the first station")
    ap.add_argument("--payload", type=int, default=64, help="data frame payload bytes")
    ap.add_argument("--interval-us", type=int, default=50)
    ap.add_argument("--start", type=float, default=1767225600.0, help="first timestamp (Unix seconds)")
    args = ap.parse_args()

    channels = [1, 6, 11]
    freqs = {1: 2412, 6: 2437, 11: 2462}
    aps = [mac(0x02, i) for i in range(args.aps)]
    ssids = [b"hopwire-test-%d" % i for i in range(args.aps)]
    payload = bytes(range(256)) * (args.payload // 256 + 1)

    t_us = int(args.start * 1_000_000)
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127))
        for i in range(args.frames):
            kind = i % 4
            a = i % args.aps
            chan = channels[a % 3]
            if kind == 0:
                frame = beacon(aps[a], i, ssids[a], chan, i * 102400)
            elif kind == 1:
                sta = mac(0x06, args.client_offset + (i // 4) % args.clients)
                frame = probe(sta, i, b"" if i % 8 == 1 else ssids[a])
            else:
                sta = mac(0x06, args.client_offset + (i // 2) % args.clients)
                frame = data(sta, aps[(i // 2) % args.aps], i, args.payload)
            pkt = radiotap(freqs[chan], -40 - (i % 50)) + frame
            f.write(struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, len(pkt), len(pkt)))
            f.write(pkt)
            t_us += args.interval_us
    return 0


if __name__ == "__main__":
    sys.exit(main())

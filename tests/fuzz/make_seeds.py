#!/usr/bin/python3
"""Writes the seed corpus of the decode fuzzer from the test captures.

Every frame of tests/data/*.cap, *.pcap and *.pcapng becomes one file: a
byte that selects the capture's link type (see tests/fuzz/decode_fuzz.cc),
then the captured bytes. PPI and AVS, which no capture uses, get a few
seeds made by wrapping real 802.11 frames in those headers. Files are
named by the SHA-1 of their content, like libFuzzer names what it adds, so
duplicates collapse and rerunning the script changes nothing.

  make_seeds.py [--max-files 600] [OUT_DIR]
"""
import argparse
import glob
import hashlib
import os
import struct
import sys

# Index = the selector byte (mod 5) in decode_fuzz.cc.
LINK_TYPES = [105, 119, 127, 163, 192]
DLT_IEEE80211, DLT_PPI, DLT_AVS = 105, 192, 163


def read_pcap(buf):
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return None
    linktype = struct.unpack(end + "I", buf[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(buf):
        caplen = struct.unpack(end + "I", buf[off + 8:off + 12])[0]
        off += 16
        if off + caplen > len(buf):
            break
        yield linktype, buf[off:off + caplen]
        off += caplen


def read_pcapng(buf):
    end = "<"
    links = []  # link type of each interface of the current section
    off = 0
    while off + 12 <= len(buf):
        btype = struct.unpack(end + "I", buf[off:off + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: byte order, new interface list
            end = "<" if buf[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(end + "I", buf[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(buf):
            break
        body = buf[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            links.append(struct.unpack(end + "H", body[0:2])[0])
        elif btype == 6:  # enhanced packet
            iface, _, _, caplen = struct.unpack(end + "IIII", body[0:16])[:4]
            if iface < len(links):
                yield links[iface], body[20:20 + caplen]
        elif btype == 3 and links:  # simple packet: interface 0
            orig = struct.unpack(end + "I", body[0:4])[0]
            yield links[0], body[4:4 + orig]
        elif btype == 2:  # obsolete packet block
            iface = struct.unpack(end + "H", body[0:2])[0]
            caplen = struct.unpack(end + "I", body[12:16])[0]
            if iface < len(links):
                yield links[iface], body[20:20 + caplen]
        off += blen


def frames(path):
    with open(path, "rb") as f:
        buf = f.read()
    reader = read_pcapng if buf[:4] == b"\x0a\x0d\x0d\x0a" else read_pcap
    return list(reader(buf) or [])


def ppi(frame):
    # PPI header with one 802.11-common field (type 2, 20 bytes): 2437 MHz, -42/-95 dBm.
    # tsft, flags, rate (500 kb/s units), frequency, channel flags, FHSS hop and pattern, signal, noise.
    common = struct.pack("<QHHHHBBbb", 0, 0, 22, 2437, 0x00a0, 0, 0, -42, -95)
    fields = struct.pack("<HH", 2, len(common)) + common
    return struct.pack("<BBHI", 0, 0, 8 + len(fields), DLT_IEEE80211) + fields + frame


def avs():
    # AVS capture header v2, 64 bytes, big-endian: channel 6, 11 Mb/s, dBm signal.
    # version, length, mactime, hosttime, phytype, channel, rate (100 kb/s), antenna, priority,
    # ssi_type (2 = dBm), signal, noise, preamble, encoding.
    return struct.pack(">IIQQIIIIIIiiII", 0x80211002, 64, 0, 0, 1, 6, 110, 0, 0, 2, -42, -95, 0, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("out", nargs="?", default=os.path.join(top, "tests/fuzz/corpus/decode"))
    ap.add_argument("--max-files", type=int, default=600)
    args = ap.parse_args()

    captures = sorted(glob.glob(os.path.join(top, "tests/data/*.cap")) + glob.glob(os.path.join(top, "tests/data/*.pcap"))
                      + glob.glob(os.path.join(top, "tests/data/*.pcapng")))
    per_capture = []
    plain = []  # bare 802.11 frames, wrapped in PPI and AVS below
    for path in captures:
        seeds = []
        for linktype, data in frames(path):
            if linktype not in LINK_TYPES:
                print(f"{path}: link type {linktype} skipped", file=sys.stderr)
                continue
            seeds.append(bytes([LINK_TYPES.index(linktype)]) + data)
            if linktype == DLT_IEEE80211:
                plain.append(data)
        per_capture.append(seeds)
    wrapped = []
    for data in plain[:: max(1, len(plain) // 20)]:
        wrapped.append(bytes([LINK_TYPES.index(DLT_PPI)]) + ppi(data))
        wrapped.append(bytes([LINK_TYPES.index(DLT_AVS)]) + avs() + data)
    per_capture.append(wrapped)

    # Keep the corpus small: unique files, and from each capture an even share
    # of what is left, spread over the whole capture.
    seen = set()
    unique = []
    for seeds in per_capture:
        u = []
        for s in seeds:
            if s not in seen:
                seen.add(s)
                u.append(s)
        unique.append(u)
    budget = args.max_files
    chosen = []
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
    for k, i in enumerate(order):
        share = budget // (len(order) - k)
        u = unique[i]
        if len(u) > share:
            step = len(u) / share
            u = [u[int(j * step)] for j in range(share)]
        chosen.extend(u)
        budget -= len(u)

    os.makedirs(args.out, exist_ok=True)
    written = 0
    for s in chosen:
        name = os.path.join(args.out, hashlib.sha1(s).hexdigest())
        if not os.path.exists(name):
            with open(name, "wb") as f:
                f.write(s)
            written += 1
    print(f"{len(chosen)} seeds from {len(captures)} captures, {written} new, in {args.out}")


if __name__ == "__main__":
    main()

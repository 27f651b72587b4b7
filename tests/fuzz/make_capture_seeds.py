#!/usr/bin/python3
"""Writes the seed corpus of the capture-file fuzzer (capture_fuzz.cc): one
file per seed, as the sensor's pcapfile source would open it.

real-*: every capture of tests/data cut down to its headers and first few
packets (pcap: the global header and the first records; pcap-ng: every block
up to the fourth packet block), so each stays under 4 KiB.

edge-*: files built here for what no real capture has: pcap in big-endian
and with nanosecond magic, FCS bits in the link type, a record over the
snaplen, pcap-ng with several interfaces and link types, if_tsresol (decimal
and binary) and if_tsoffset, simple and obsolete packet blocks, blocks that
carry no packets, a second section in the other byte order, a block larger
than the fuzzer's small reader buffer, and files cut in each kind of header.

Standard library only; deterministic (rerunning it changes nothing).

  make_capture_seeds.py [OUT_DIR]   (default: corpus/capture next to it)
"""
import pathlib
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / 'data'


def frame(n, seed):
    return bytes((seed + i * 31) & 0xff for i in range(n))


# A radiotap beacon, as the sensor's captures carry them.
BEACON = bytes.fromhex('00000c000480000002001800'
                       '80000000ffffffffffff0013100bf1c20013100bf1c2d04b'
                       '8d8bea7c0b000000640011040008486f707769726521010882848b960c121824030106')


# --- pcap ------------------------------------------------------------------------

def pcap(records, big=False, ns=False, linktype=127, snaplen=65535, major=2):
    e = '>' if big else '<'
    out = struct.pack(e + 'IHHiIII', 0xa1b23c4d if ns else 0xa1b2c3d4, major, 4, 0, 0, snaplen, linktype)
    for sec, frac, data, *orig in records:
        out += struct.pack(e + 'IIII', sec, frac, len(data), orig[0] if orig else len(data)) + data
    return out


# --- pcap-ng ---------------------------------------------------------------------

class ng:
    def __init__(self, big=False):
        self.e = '>' if big else '<'
        self.out = b''

    def block(self, btype, body):
        body += b'\0' * (-len(body) % 4)
        total = 12 + len(body)
        self.out += struct.pack(self.e + 'II', btype, total) + body + struct.pack(self.e + 'I', total)
        return self

    def opt(self, code, value):
        return struct.pack(self.e + 'HH', code, len(value)) + value + b'\0' * (-len(value) % 4)

    def shb(self):
        return self.block(0x0A0D0D0A, struct.pack(self.e + 'IHHq', 0x1A2B3C4D, 1, 0, -1))

    def idb(self, dlt, options=()):
        body = struct.pack(self.e + 'HHI', dlt, 0, 65535)
        if options:
            body += b''.join(self.opt(c, v) for c, v in options) + struct.pack(self.e + 'HH', 0, 0)
        return self.block(1, body)

    def epb(self, ifid, ts, data, orig=None):
        return self.block(6, struct.pack(self.e + 'IIIII', ifid, ts >> 32, ts & 0xffffffff, len(data),
                                         len(data) if orig is None else orig) + data)

    def spb(self, orig, data):
        return self.block(3, struct.pack(self.e + 'I', orig) + data)

    def opb(self, ifid, ts, data):
        return self.block(2, struct.pack(self.e + 'HHIIII', ifid, 0, ts >> 32, ts & 0xffffffff, len(data),
                                         len(data)) + data)


def le64(v):
    return struct.pack('<q', v)


def edge_seeds():
    recs = [(1_700_000_000, 123_456, BEACON), (1_700_000_001, 5, frame(40, 1), 300), (1_700_000_002, 0, b'')]
    seeds = {
        'edge-pcap-le-us.pcap': pcap(recs),
        'edge-pcap-be-us.pcap': pcap(recs, big=True, linktype=105),
        'edge-pcap-le-ns.pcap': pcap([(1, 999_999_999, frame(20, 2))], ns=True),
        'edge-pcap-be-ns.pcap': pcap([(1, 999_999_999, frame(20, 2))], big=True, ns=True),
        'edge-pcap-fcs-bits.pcap': pcap(recs[:1], linktype=0x10000000 | 127),
        'edge-pcap-over-snaplen.pcap': pcap([(1, 0, frame(200, 3)), (2, 0, frame(10, 4))], snaplen=64),
        'edge-pcap-orig-below-caplen.pcap': pcap([(1, 0, frame(50, 5), 20)]),
        'edge-pcap-big-record.pcap': pcap([(1, 0, frame(600, 6)), (2, 0, frame(8, 7))]),  # > the small buffer
        'edge-pcap-claims-too-much.pcap': pcap(recs[:1]) + struct.pack('<IIII', 2, 0, 262145, 262145),
        'edge-pcap-version-3.pcap': pcap(recs[:1], major=3),
        'edge-pcap-empty.pcap': pcap([]),
        'edge-garbage.bin': frame(64, 42),
        'edge-too-short.bin': b'\xd4\xc3\xb2\xa1\x02\x00',
    }
    whole = pcap(recs[:2])
    seeds['edge-pcap-cut-in-header.pcap'] = whole[:24 + 16 + len(BEACON) + 9]
    seeds['edge-pcap-cut-in-data.pcap'] = whole[:-3]

    w = ng().shb().idb(127).idb(105).idb(192)
    w.epb(1, 10, frame(24, 1)).epb(0, 11, BEACON).epb(2, 12, frame(8, 3)).epb(7, 13, frame(5, 4))
    seeds['edge-ng-three-interfaces.pcapng'] = w.out
    w = ng(big=True).shb().idb(127).epb(0, 1_700_000_000_000_001, BEACON, 100)
    seeds['edge-ng-big-endian.pcapng'] = w.out
    w = ng().shb()
    w.idb(127, [(9, b'\x09')]).idb(127, [(9, b'\x03')]).idb(127, [(9, bytes([0x80 | 20]))])
    w.idb(105, [(2, b'wlan0mon'), (9, b'\x06'), (14, le64(1_000_000_000))])
    w.idb(127, [(9, b'\x7f')]).idb(127, [(9, b'\xff')]).idb(127, [(9, b'\x13')]).idb(127, [(14, le64(-5))])
    for i in range(8):
        w.epb(i, 1_700_000_000_123_456_789 if i == 0 else 123_456_789, frame(4, i))
    seeds['edge-ng-tsresol-tsoffset.pcapng'] = w.out
    w = ng().shb().idb(105).idb(127).spb(3, frame(4, 1)).spb(9, frame(6, 2)).opb(1, 42, frame(7, 3))
    seeds['edge-ng-simple-and-obsolete.pcapng'] = w.out
    w = ng().shb().spb(4, frame(4, 1)).epb(0, 1, frame(4, 2)).idb(127)
    w.block(4, bytes(12)).block(5, bytes(20)).block(0x00000BAD, bytes(9)).block(0x40000BAD, b'')
    w.epb(0, 2, frame(4, 3))
    seeds['edge-ng-blocks-without-packets.pcapng'] = w.out
    a = ng().shb().idb(127).idb(105).epb(1, 1, frame(4, 1))
    b = ng(big=True).shb().idb(192).epb(0, 2, frame(4, 2)).epb(1, 3, frame(4, 3))
    seeds['edge-ng-two-sections.pcapng'] = a.out + b.out
    w = ng().shb().idb(127).epb(0, 1, frame(700, 1)).epb(0, 2, frame(10, 2))  # a block over 512 bytes
    seeds['edge-ng-big-block.pcapng'] = w.out
    w = ng().shb().idb(105).idb(127, [(2, b'x' * 600)]).idb(192).epb(1, 1, frame(4, 1)).epb(2, 2, frame(4, 2))
    seeds['edge-ng-big-interface-block.pcapng'] = w.out
    whole = ng().shb().idb(127).epb(0, 1, frame(33, 1)).epb(0, 2, frame(20, 2)).out
    seeds['edge-ng-cut-in-block-header.pcapng'] = whole[:28 + 20 + 68 + 6]
    seeds['edge-ng-cut-in-block.pcapng'] = whole[:-5]
    bad = ng().shb().idb(127).out
    seeds['edge-ng-bad-length.pcapng'] = bad + struct.pack('<IIII', 6, 13, 0, 0)
    seeds['edge-ng-past-block.pcapng'] = bad + ng().block(6, struct.pack('<IIIII', 0, 0, 1, 100, 100) + frame(8, 0)).out
    shb = bytearray(ng().shb().out)
    shb[8] ^= 0xff
    seeds['edge-ng-bad-byte-order.pcapng'] = bytes(shb)
    return seeds


# --- real captures, cut down -------------------------------------------------------

def cut_pcap(data, keep=4):
    e = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    off, n = 24, 0
    while off + 16 <= len(data) and n < keep:
        incl = struct.unpack_from(e + 'I', data, off + 8)[0]
        off += 16 + incl
        n += 1
    return data[:off]


def cut_pcapng(data, keep=4):
    off, n, e = 0, 0, '<'
    while off + 12 <= len(data) and n < keep:
        if data[off:off + 4] == b'\x0a\x0d\x0d\x0a':
            e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
        btype, total = struct.unpack_from(e + 'II', data, off)
        off += total
        n += btype in (2, 3, 6)
    return data[:off]


def real_seeds():
    seeds = {}
    for path in sorted(DATA.iterdir()):
        if path.suffix not in ('.pcap', '.cap', '.pcapng'):
            continue
        data = path.read_bytes()
        cut = cut_pcapng(data) if data[:4] == b'\x0a\x0d\x0d\x0a' else cut_pcap(data)
        seeds['real-' + path.name] = cut
    return seeds


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / 'corpus' / 'capture'
    out.mkdir(parents=True, exist_ok=True)
    seeds = real_seeds()
    seeds.update(edge_seeds())
    for name, data in seeds.items():
        (out / name).write_bytes(data)
    print('%d seeds in %s (%d bytes)' % (len(seeds), out, sum(len(d) for d in seeds.values())))


if __name__ == '__main__':
    main()

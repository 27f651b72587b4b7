#!/usr/bin/python3
"""Writes the seed corpus of the kismet_frame fuzzer (kismet_frame_fuzz.cc).

real-*: the frames Kismet's own tool sent (tests/data/kismet/, see its
README), as they came off the wire. edge-*: hand-made cases no real tool
sends — v2 and broken headers, lengths past the limit, deep nesting, huge
counts — and payloads alone (no header: the fuzzer then hands the whole
input to every decoder) for the messages we have no recording of
(CONFIGREPORT, LISTREPORT with interfaces, signal blocks, ...).

  make_kismet_seeds.py [OUT_DIR]   (default: corpus/kismet_frame next to it)
"""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(HERE, '..', 'data', 'kismet')


def hdr(ptype, length, code=0, seq=1, sentinel=0xA9A9, version=3):
    return struct.pack('>IHHIHHI', 0xDECAFBAD, sentinel, version, length, ptype, code, seq)


def frame(ptype, payload, code=0, seq=1):
    return hdr(ptype, len(payload), code, seq) + payload


def s(text):
    b = text.encode()
    return (bytes([0xa0 | len(b)]) if len(b) < 32 else b'\xd9' + bytes([len(b)])) + b


def arr(*items):
    return bytes([0x90 | len(items)]) + b''.join(items)


def f32(x):
    return b'\xca' + struct.pack('>f', x)


HOP = b'\x86\x05' + arr(s('1'), s('6'), s('11')) + b'\x01' + f32(5.0) + b'\x02\xc2\x04\x00\x03\x01\x06\x01'
SIGNAL = b'\x02\x86\x01\xce\xff\xff\xff\xce\x02\xd0\xa0\x03\xcc\xc8\x05\xce\x00\x25\x2f\x88\x06\xcd\x02\x1c\x07' + s('6')
PACKET_BLOCK = b'\x04\x84\x01\x7f\x02\xce\x65\x00\x00\x00\x03\x01\x06\xc4\x04\x00\x00\x08\x00'

EDGE = {
    # Headers.
    'edge-v2-ping.bin': struct.pack('>IHHI', 0xDECAFBAD, 0xABCD, 2, 0) + b'PING'.ljust(32, b'\0') + b'\0\0\0\1',
    'edge-header-truncated.bin': hdr(2, 0)[:12],
    'edge-bad-sentinel.bin': hdr(2, 0, sentinel=0xA9A8),
    'edge-bad-version.bin': hdr(2, 0, version=4),
    'edge-length-too-large.bin': hdr(16, 0x4000) + b'\x80',
    'edge-length-max.bin': hdr(16, 16363) + b'\x81\x09\xc5' + struct.pack('>H', 16363 - 5) + bytes(16363 - 5),
    'edge-payload-short.bin': hdr(19, 40) + b'\x83\x01' + s('wlan0'),
    # Streams of several frames.
    'edge-stream-ping-config-packet.bin':
        hdr(2, 0, 1, 5) + frame(18, b'\x82\x01\xcd\x03\xe9\x03' + HOP, 1, 1001) +
        frame(16, b'\x82' + SIGNAL + PACKET_BLOCK, 0, 9),
    'edge-stream-deep.bin': frame(16, b'\x81\x09' + b'\x91' * 40 + b'\x01'),
    # Payloads alone.
    'edge-openreport-hop.bin':
        b'\x87\x01\x07\x02\x7f\x03' + s('wlan0mon') + b'\x04' + arr(s('1'), s('6'), s('11')) + b'\x05' + s('6') +
        b'\x07' + s('mt76') + b'\x06' + HOP,
    'edge-configreport-hop.bin': b'\x82\x01\xcd\x03\xe9\x03' + HOP,
    'edge-configreport-channel.bin': b'\x83\x01\x02\x02' + s('36VHT80') + b'\x04' + s(''),
    'edge-configreq-hop.bin': b'\x81\x02\x84\x01' + f32(5.0) + b'\x02\xc2\x04\x00\x05' + arr(s('1'), s('6'), s('11')),
    'edge-configreq-channel.bin': b'\x81\x01' + s('6'),
    'edge-listreport-interfaces.bin':
        b'\x83\x01\x03\x04' + s('v') + b'\x02\x92\x83\x01' + s('wlan0') + b'\x03' + s('mt7921e') + b'\x06' +
        arr(s('1'), s('36')) + b'\x82\x01' + s('wlan1') + b'\x02' + s('monitor'),
    'edge-probereport-interface.bin':
        b'\x83\x03' + s('') + b'\x01\xcd\x03\xec\x02\x84\x04' + s('wlan0mon') + b'\x03' + s('ath9k') + b'\x05' +
        s('11') + b'\x06' + arr(s('1'), s('11')),
    'edge-packet-signal.bin': b'\x82' + SIGNAL + PACKET_BLOCK,
    'edge-packet-json.bin': b'\x81\x05\x83\x01' + s('RTL433') + b'\x02\xce\x65\x00\x00\x00\x04' + s('{"a":1}'),
    'edge-packet-gps-no-time.bin': b'\x81\x01\x83\x01\xcb' + struct.pack('>d', 1.0) + b'\x02\xcb' +
        struct.pack('>d', 2.0) + b'\x08\x01',
    'edge-packet-wide-ints.bin': b'\x81\x04\x83\x01\xd3' + struct.pack('>q', 127) + b'\x02\xcf' +
        struct.pack('>Q', 2**40) + b'\x06\xc5\x00\x01\x00',
    'edge-error.bin': b'\x81\x01' + s('interface wlan9 not found'),
    'edge-message.bin': b'\x82\x01\x10\x02' + s('fatal'),
    'edge-unknown-keys.bin': b'\x86' + s('x') + b'\x81\x01\x93\x01\x02\x81\x03\x04' +
        b'\x63\x93\xc0\xc3\xcb' + struct.pack('>d', 1.5) + b'\x01\x04\xce\x00\x01\x11\x70' + s('a') +
        b'\xff\xd4\x01\x00\x02' + s('hi'),
    'edge-duplicate.bin': b'\x83\x01\x02\x02' + s('a') + b'\x01\x04',
    'edge-trailing.bin': b'\x82\x01\x02\x02' + s('a') + b'\x00',
    'edge-huge-count.bin': b'\x81\x09\xdd\xff\xff\xff\xff\x01\x02',
    'edge-huge-bin.bin': b'\x81\x04\x81\x06\xc6\xff\xff\xff\xff\x00',
    'edge-reserved.bin': b'\x81\x09\xc1',
    'edge-ext-types.bin': b'\x85\x09\xc7\x02\x01\xaa\xbb\x0a\xd8\x01' + bytes(16) + b'\x0b\xd6\x01' + bytes(4) +
        b'\x0c\xc8\x00\x01\x05\x00\x0d\xc9\x00\x00\x00\x00\x07',
    'edge-many-elements.bin': b'\x81\x09\xdc\x13\x88' + b'\x01' * 5000,
    'edge-newsource-str16.bin': b'\x83\x01\xda\x01\x00' + b'd' * 256 + b'\x02' + s('linuxwifi') + b'\x03' +
        s('5FE308BD-0000-0000-0000-00C0CA000001'),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus', 'kismet_frame')
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(REAL)):
        if name.endswith('.bin'):
            shutil.copyfile(os.path.join(REAL, name), os.path.join(out, 'real-' + name))
    for name, data in EDGE.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('%d seeds in %s' % (len(os.listdir(out)), out))


if __name__ == '__main__':
    main()

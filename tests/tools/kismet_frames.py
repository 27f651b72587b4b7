#!/usr/bin/env python3
"""Records real Kismet v3 frames from kismet_cap_pcapfile, as test vectors.

Plays a minimal Kismet server on a loopback port chosen at run time (legacy
TCP, `--tcp`), lets Kismet's own tool connect, and writes what it sends:
each frame (20-byte header + payload) as one file, and the whole byte
stream of the first run. Three runs, because some requests end a session:

  1. aircrack_wep.shared.key.authentication.cap (DLT 105): NEWSOURCE,
     OPENREPORT, PACKETs, the end-of-file MESSAGE, PONG (to our PING), and
     PROBEREPORT "Unsupported request" (to packet type 99).
  2. tcpdump_ieee802.11_meshid.pcap (radiotap) with --fixed-gps: PACKETs
     with a GPS block, and LISTREPORT (to LISTREQ; the tool then exits).
  3. the same capture: PROBEREPORT (to PROBEREQ).

  kismet_frames.py [--tool PATH] [--data tests/data] OUT_DIR

Needs ../shared/kismet (Kismet's tools, GPL: run as a client, never linked).
The frames' payloads hold the captures' packets, under the captures' licences.
"""
import argparse
import os
import socket
import struct
import subprocess
import time

TYPES = {2: 'ping', 3: 'pong', 5: 'message', 6: 'error', 11: 'probereport', 13: 'openreport',
         15: 'listreport', 16: 'packet', 18: 'configreport', 19: 'newsource'}


def header(ptype, length, seqno):
    return struct.pack('>IHHIHHI', 0xDECAFBAD, 0xA9A9, 3, length, ptype, 1, seqno)


def msgpack_str(s):
    b = s.encode()
    assert len(b) < 256
    return (bytes([0xa0 | len(b)]) if len(b) < 32 else b'\xd9' + bytes([len(b)])) + b


class session:
    def __init__(self, tool, data, capture, extra):
        self.srv = socket.socket()
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(1)
        port = self.srv.getsockname()[1]
        self.proc = subprocess.Popen(
            [tool, '--connect', '127.0.0.1:%d' % port, '--tcp', '--disable-retry',
             '--source', capture + ':name=k1'] + extra,
            cwd=data, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.srv.settimeout(10)
        self.conn, _ = self.srv.accept()
        self.buf = b''
        self.stream = b''
        self.frames = []  # (type, bytes)

    def read(self, secs):
        """Reads frames for `secs` seconds, or until the tool closes."""
        end = time.time() + secs
        while True:
            while len(self.buf) >= 20:
                n = struct.unpack('>I', self.buf[8:12])[0]
                if len(self.buf) < 20 + n:
                    break
                f, self.buf = self.buf[:20 + n], self.buf[20 + n:]
                self.frames.append((struct.unpack('>H', f[12:14])[0], f))
            left = end - time.time()
            if left <= 0:
                return True
            self.conn.settimeout(left)
            try:
                d = self.conn.recv(65536)
            except socket.timeout:
                return True
            if not d:
                return False
            self.buf += d
            self.stream += d

    def send(self, b):
        self.conn.sendall(b)

    def definition(self):
        # NEWSOURCE's field 1, the first entry of its map.
        body = self.frames[0][1][20:]
        assert self.frames[0][0] == 19 and body[1] == 0x01
        if body[2] == 0xd9:
            return body[4:4 + body[3]].decode()
        return body[3:3 + (body[2] & 0x1f)].decode()

    def open(self):
        self.read(3)
        m = b'\x81\x01' + msgpack_str(self.definition())
        self.send(header(12, len(m), 1000) + m)
        self.read(2)

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.conn.close()
        self.srv.close()

    def first(self, ptype, nth=0):
        return [f for t, f in self.frames if t == ptype][nth]


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--tool', default=os.path.join(here, '../../../shared/kismet/bin/kismet_cap_pcapfile'))
    ap.add_argument('--data', default=os.path.join(here, '../data'))
    ap.add_argument('out')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    out = {}

    s = session(a.tool, a.data, 'aircrack_wep.shared.key.authentication.cap', [])
    s.open()
    s.send(header(2, 0, 4242))
    s.read(1)
    s.send(header(99, 1, 1002) + b'\x80')
    s.read(1)
    out['newsource.bin'] = s.first(19)
    out['openreport.bin'] = s.first(13)
    out['packet_dot11.bin'] = s.first(16)
    out['message_eof.bin'] = s.first(5)
    out['pong.bin'] = s.first(3)
    out['probereport_unsupported.bin'] = s.first(11)
    out['session_tcp.bin'] = s.stream
    s.close()

    s = session(a.tool, a.data, 'tcpdump_ieee802.11_meshid.pcap', ['--fixed-gps', '52.52,13.405,34', '--gps-name', 'roof'])
    s.open()
    s.send(header(14, 0, 1003))
    s.read(1)
    out['packet_radiotap_gps.bin'] = s.first(16)
    out['listreport_empty.bin'] = s.first(15)
    s.close()

    s = session(a.tool, a.data, 'tcpdump_ieee802.11_meshid.pcap', [])
    s.open()
    m = b'\x81\x01' + msgpack_str(s.definition())
    s.send(header(10, len(m), 1004) + m)
    s.read(1)
    out['probereport_probe.bin'] = s.first(11)
    s.close()

    for name, b in sorted(out.items()):
        with open(os.path.join(a.out, name), 'wb') as f:
            f.write(b)
        print(name, len(b))


if __name__ == '__main__':
    main()

"""A minimal protocol peer for tests: builds Hopwire frames with the Python
FlatBuffers runtime (bindings generated from proto/hopwire.fbs by flatc at
import time) and speaks WebSocket or the legacy TCP framing over a socket."""
import base64
import os
import pathlib
import socket
import struct
import subprocess
import sys
import tempfile

import flatbuffers

from conftest import SOURCE_DIR

_gen = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-pyfb-"))
subprocess.run(["flatc", "--python", "-o", str(_gen), str(SOURCE_DIR / "proto" / "hopwire.fbs")], check=True)
sys.path.insert(0, str(_gen))

from hopwire.wire import (Ack, Body, Error, Frame, Hello, PacketBatch, PacketRecord, Ping,  # noqa: E402
                          SourceInfo, Welcome)

IDENT = b"HPW1"


def _finish(b, body_type, body):
    Frame.Start(b)
    Frame.AddBodyType(b, body_type)
    Frame.AddBody(b, body)
    f = Frame.End(b)
    b.Finish(f, file_identifier=IDENT)
    return bytes(b.Output())


def hello(uuid, name, boot_id=1, token=None, major=1, minor=0):
    b = flatbuffers.Builder(256)
    s_uuid, s_name, s_type = b.CreateString(uuid), b.CreateString(name), b.CreateString("test")
    SourceInfo.Start(b)
    SourceInfo.AddUuid(b, s_uuid)
    SourceInfo.AddName(b, s_name)
    SourceInfo.AddType(b, s_type)
    SourceInfo.AddDlt(b, 127)
    src = SourceInfo.End(b)
    tok = b.CreateString(token) if token else None
    ver = b.CreateString("test-peer")
    Hello.Start(b)
    Hello.AddProtoMajor(b, major)
    Hello.AddProtoMinor(b, minor)
    Hello.AddSensorVersion(b, ver)
    Hello.AddBootId(b, boot_id)
    Hello.AddSource(b, src)
    if tok:
        Hello.AddToken(b, tok)
    h = Hello.End(b)
    return _finish(b, Body.Body.Hello, h)


def batch(seq, packets, data_offset_bias=0):
    """packets: list of bytes; data_offset_bias corrupts offsets for tests."""
    b = flatbuffers.Builder(1024)
    blob = b"".join(packets)
    data = b.CreateByteVector(blob)
    PacketBatch.StartPacketsVector(b, len(packets))
    offsets = []
    off = 0
    for p in packets:
        offsets.append(off)
        off += len(p)
    for p, o in reversed(list(zip(packets, offsets))):
        PacketRecord.CreatePacketRecord(b, 1_700_000_000_000_000_000, o + data_offset_bias, len(p), len(p), 127,
                                        0, 0, 0, 0)
    recs = b.EndVector()
    PacketBatch.Start(b)
    PacketBatch.AddSeq(b, seq)
    PacketBatch.AddPackets(b, recs)
    PacketBatch.AddData(b, data)
    pb = PacketBatch.End(b)
    return _finish(b, Body.Body.PacketBatch, pb)


def ping(nonce=7):
    b = flatbuffers.Builder(64)
    Ping.Start(b)
    Ping.AddNonce(b, nonce)
    return _finish(b, Body.Body.Ping, Ping.End(b))


def parse(frame):
    """Returns (body type name, object) of a frame from the collector."""
    assert frame[4:8] == IDENT, "frame without the HPW1 identifier: %r" % frame[:16]
    f = Frame.Frame.GetRootAs(frame, 0)
    t = f.BodyType()
    names = {v: k for k, v in vars(Body.Body).items() if not k.startswith("_")}
    name = names.get(t, str(t))
    table = f.Body()
    cls = {"Welcome": Welcome.Welcome, "Ack": Ack.Ack, "Error": Error.Error, "Ping": Ping.Ping}.get(name)
    obj = None
    if cls is not None:
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
    return name, obj


class Closed(Exception):
    pass


class WsClient:
    """Just enough of RFC 6455 for a client: one connection, binary messages."""

    def __init__(self, port, path="/datasource/remote/remotesource.ws", authorization=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if authorization:
            lines.append("Authorization: " + authorization)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        header, _, self.pending = head.partition(b"\r\n\r\n")
        self.status = int(header.split(b" ", 2)[1]) if header else 0
        self.response = header.decode(errors="replace")

    def send(self, payload, opcode=2):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask_fast(payload, mask)
        self.sock.sendall(hdr + mask + masked)

    def _read(self, n):
        while len(self.pending) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self.pending += chunk
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def recv(self):
        """Next binary message; raises Closed on a close frame or EOF."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 8:
                raise Closed()
            if op == 2:
                return payload

    def close(self):
        self.sock.close()


def _mask_fast(payload, mask):
    full = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(full, "big")).to_bytes(len(payload), "big")


class TcpClient:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.pending = b""

    def send(self, payload):
        self.sock.sendall(struct.pack("<I", len(payload)) + payload)

    def send_raw(self, data):
        self.sock.sendall(data)

    def _read(self, n):
        while len(self.pending) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self.pending += chunk
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def recv(self):
        n = struct.unpack("<I", self._read(4))[0]
        return self._read(n)

    def close(self):
        self.sock.close()


def recv_until_closed(client, limit=50):
    """All messages until the peer closes (at most `limit`)."""
    out = []
    try:
        for _ in range(limit):
            out.append(client.recv())
    except (Closed, ConnectionError, socket.timeout):
        pass
    return out

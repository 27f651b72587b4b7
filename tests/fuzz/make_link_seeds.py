#!/usr/bin/python3
"""Writes the seed corpus of the link fuzzer (link_fuzz.cc): one Hopwire
frame per file, as one WebSocket message carries it.

real-*: frames the sensor itself built. With --record SENSOR the script
runs that hopwire-sensor binary (legacy --tcp mode) against a small fake
collector on a loopback port, replaying a few of tests/data's captures with a
fixed GPS fix, and keeps what the sensor sent (Hello, PacketBatch, Status,
ConfigureResult, Pong). Without --record the committed real-* files are left
as they are (a sensor's Hello carries a random boot_id, so recording again
changes them).

edge-*: frames built here with python3-flatbuffers (Debian's, bindings
generated from proto/hopwire.fbs by flatc, as tests/integration/wire.py
does): every body type the collector sends, and the cases check_batch and
the verifier must refuse — seq 0, offsets past the data, a GPS index out of
range, an over-long packet, no identifier, no body, an unknown body type,
misaligned offsets, a vector whose length runs past the buffer.

  make_link_seeds.py [--record SENSOR] [OUT_DIR]   (default: corpus/link next to it)
"""
import argparse
import os
import pathlib
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading

import flatbuffers

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent.parent
DATA = SOURCE / 'tests' / 'data'

_gen = pathlib.Path(tempfile.mkdtemp(prefix='hopwire-seeds-'))
subprocess.run(['flatc', '--python', '-o', str(_gen), str(SOURCE / 'proto' / 'hopwire.fbs')], check=True)
sys.path.insert(0, str(_gen))

from hopwire.wire import (Ack, Body, ChannelPlan, Configure, ConfigureResult, Error, Frame, GpsFix,  # noqa: E402
                          Hello, PacketBatch, PacketRecord, Ping, Pong, SourceInfo, Status, Welcome)

IDENT = b'HPW1'


def finish(b, body_type, body):
    Frame.Start(b)
    Frame.AddBodyType(b, body_type)
    Frame.AddBody(b, body)
    b.Finish(Frame.End(b), file_identifier=IDENT)
    return bytes(b.Output())


def strings_vector(b, items, start):
    offs = [b.CreateString(s) for s in items]
    start(b, len(offs))
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def welcome(acked, version='hopwire-collector 0.9'):
    b = flatbuffers.Builder(64)
    v = b.CreateString(version)
    Welcome.Start(b)
    Welcome.AddProtoMajor(b, 1)
    Welcome.AddProtoMinor(b, 0)
    Welcome.AddCollectorVersion(b, v)
    Welcome.AddAckedSeq(b, acked)
    return finish(b, Body.Body.Welcome, Welcome.End(b))


def ack(seq):
    b = flatbuffers.Builder(32)
    Ack.Start(b)
    Ack.AddSeq(b, seq)
    return finish(b, Body.Body.Ack, Ack.End(b))


def ping(nonce, pong=False):
    b = flatbuffers.Builder(32)
    mod = Pong if pong else Ping
    mod.Start(b)
    mod.AddNonce(b, nonce)
    return finish(b, Body.Body.Pong if pong else Body.Body.Ping, mod.End(b))


def error(code, message):
    b = flatbuffers.Builder(64)
    m = b.CreateString(message)
    Error.Start(b)
    Error.AddCode(b, code)
    Error.AddMessage(b, m)
    return finish(b, Body.Body.Error, Error.End(b))


def configure(request_id, channels, hop=True, rate=5.0, offset=0, shuffle=True):
    b = flatbuffers.Builder(128)
    chans = strings_vector(b, channels, ChannelPlan.StartChannelsVector)
    ChannelPlan.Start(b)
    ChannelPlan.AddChannels(b, chans)
    ChannelPlan.AddHop(b, hop)
    ChannelPlan.AddHopRatePerSec(b, rate)
    ChannelPlan.AddOffset(b, offset)
    ChannelPlan.AddShuffle(b, shuffle)
    plan = ChannelPlan.End(b)
    Configure.Start(b)
    Configure.AddRequestId(b, request_id)
    Configure.AddPlan(b, plan)
    return finish(b, Body.Body.Configure, Configure.End(b))


def configure_result(request_id, ok, message, channels):
    b = flatbuffers.Builder(128)
    m = b.CreateString(message)
    chans = strings_vector(b, channels, ConfigureResult.StartChannelsVector)
    ConfigureResult.Start(b)
    ConfigureResult.AddRequestId(b, request_id)
    ConfigureResult.AddOk(b, ok)
    ConfigureResult.AddMessage(b, m)
    ConfigureResult.AddChannels(b, chans)
    return finish(b, Body.Body.ConfigureResult, ConfigureResult.End(b))


def status(channel='6', **n):
    b = flatbuffers.Builder(128)
    ch = b.CreateString(channel)
    Status.Start(b)
    Status.AddCaptured(b, n.get('captured', 100))
    Status.AddSent(b, n.get('sent', 90))
    Status.AddAcked(b, n.get('acked', 80))
    Status.AddDroppedRing(b, n.get('dropped_ring', 3))
    Status.AddDroppedKernel(b, n.get('dropped_kernel', 1))
    Status.AddRingBytesUsed(b, 4096)
    Status.AddRingBytesTotal(b, 4 << 20)
    Status.AddReconnects(b, 2)
    Status.AddChannel(b, ch)
    Status.AddFreqKhz(b, 2437000)
    return finish(b, Body.Body.Status, Status.End(b))


def hello(uuid, definition, channels=(), token=None, name='seed', caps=('linuxwifi',), gps_name=None):
    b = flatbuffers.Builder(256)
    s_uuid, s_name = b.CreateString(uuid), b.CreateString(name)
    s_type, s_ifc, s_def = b.CreateString('linuxwifi'), b.CreateString('wlan1'), b.CreateString(definition)
    chans = strings_vector(b, channels, SourceInfo.StartChannelsVector)
    SourceInfo.Start(b)
    SourceInfo.AddUuid(b, s_uuid)
    SourceInfo.AddName(b, s_name)
    SourceInfo.AddType(b, s_type)
    SourceInfo.AddInterface(b, s_ifc)
    SourceInfo.AddDefinition(b, s_def)
    SourceInfo.AddDlt(b, 127)
    SourceInfo.AddChannels(b, chans)
    src = SourceInfo.End(b)
    capv = strings_vector(b, caps, Hello.StartCapabilitiesVector)
    ver = b.CreateString('hopwire-sensor 0.9')
    tok = b.CreateString(token) if token else None
    gps = b.CreateString(gps_name) if gps_name else None
    Hello.Start(b)
    Hello.AddProtoMajor(b, 1)
    Hello.AddProtoMinor(b, 0)
    Hello.AddSensorVersion(b, ver)
    Hello.AddBootId(b, 0x1234_5678_9abc_def0)
    Hello.AddSource(b, src)
    Hello.AddCapabilities(b, capv)
    if tok:
        Hello.AddToken(b, tok)
    if gps:
        Hello.AddGpsName(b, gps)
    return finish(b, Body.Body.Hello, Hello.End(b))


def batch(seq, packets, fixes=(), records=None, no_packets=False, no_data=False):
    """packets: list of (bytes, flags, gps_index); records overrides the
    (data_offset, cap_len) of each record to make bad batches."""
    b = flatbuffers.Builder(1024)
    blob = b''.join(p[0] for p in packets)
    data = None if no_data else b.CreateByteVector(blob)
    gps = None
    if fixes:
        PacketBatch.StartGpsVector(b, len(fixes))
        for lat, lon, alt in reversed(fixes):
            GpsFix.CreateGpsFix(b, lat, lon, alt)
        gps = b.EndVector()
    recs = None
    if not no_packets:
        offs, off = [], 0
        for p in packets:
            offs.append((off, len(p[0])))
            off += len(p[0])
        if records:
            offs = records
        PacketBatch.StartPacketsVector(b, len(packets))
        for (pkt, flags, gi), (o, n) in reversed(list(zip(packets, offs))):
            PacketRecord.CreatePacketRecord(b, 1_700_000_000_000_000_000 + o, o, n, n + 4, 127, 2437000, -42, flags,
                                            gi)
        recs = b.EndVector()
    PacketBatch.Start(b)
    PacketBatch.AddSeq(b, seq)
    if recs is not None:
        PacketBatch.AddPackets(b, recs)
    if data is not None:
        PacketBatch.AddData(b, data)
    if gps is not None:
        PacketBatch.AddGps(b, gps)
    return finish(b, Body.Body.PacketBatch, PacketBatch.End(b))


BEACON = bytes.fromhex('00000c000480000002001800'  # radiotap: rate, antenna signal
                       '80000000ffffffffffff0013100bf1c20013100bf1c2d04b'
                       '8d8bea7c0b000000640011040008486f707769726521010882848b960c121824030106')
PROBE = bytes.fromhex('0000080000000000' '40000000ffffffffffff02000000000aaaffffffffffff1000' '0000010402040b16')
UUID = '5fe308bd-0000-4000-8000-00c0ca000001'


def edge_seeds():
    fix = (50.11, 8.68, 112.0)
    return {
        'edge-welcome.bin': welcome(41),
        'edge-welcome-utf8.bin': welcome(0, b'collecteur \xc3\xa9t\xc3\xa9 \xff\xc0\x80'),
        'edge-ack.bin': ack(2**64 - 1),
        'edge-ping.bin': ping(7),
        'edge-pong.bin': ping(7, pong=True),
        'edge-error.bin': error(2, 'malformed batch: packet 3 points past the batch data'),
        'edge-configure.bin': configure(3, ['1', '6', '11', '36VHT80', '37W6eVHT160', '6HT40-', '1W5', '2412']),
        'edge-configure-odd-channels.bin': configure(4, ['', '0', '15', '36VHT80-5290', '6HT40+', '5975', 'x'], hop=False,
                                                     rate=float('nan'), offset=2**32 - 1),
        'edge-configure-result.bin': configure_result(3, False, 'source type pcapfile cannot change channels', ['6']),
        'edge-status.bin': status(),
        'edge-status-long-channel.bin': status('1' * 100 + '\xe9'),
        'edge-hello.bin': hello(UUID, 'wlan1:name=roof,channels="1,6,11,36VHT80",uuid=' + UUID + ',timestamp=false',
                                ['1', '6', '11', '36VHT80'], gps_name='gpsd'),
        'edge-hello-tcp-token.bin': hello(UUID.upper(), 'wlan1', token='hw_0123456789abcdef'),
        'edge-hello-bad-definition.bin': hello('not-a-uuid', 'wlan1:channels="1,6', ['6HT40+', '14HT40+']),
        'edge-hello-secret-definition.bin': hello('00000000-0000-0000-0000-000000000000',
                                                  ' wlan1 : Name = a , apikey=hunter2,  passwd="x,y" ,,'),
        'edge-batch.bin': batch(1, [(BEACON, 1, 0), (PROBE, 3, 0), (b'', 0, 0)], [fix]),
        'edge-batch-gps-shared.bin': batch(5, [(PROBE, 2, 0), (PROBE, 2, 0), (BEACON, 2, 1)], [fix, (1.0, 2.0, float('nan'))]),
        'edge-batch-empty.bin': batch(9, [], no_packets=True, no_data=True),
        'edge-batch-no-data.bin': batch(9, [(b'', 0, 0)], no_data=True),
        'edge-batch-seq0.bin': batch(0, [(PROBE, 0, 0)]),
        'edge-batch-past-data.bin': batch(2, [(PROBE, 0, 0), (PROBE, 0, 0)], records=[(0, len(PROBE)), (len(PROBE) + 1, len(PROBE))]),
        'edge-batch-offset-wraps.bin': batch(2, [(PROBE, 0, 0)], records=[(2**32 - 4, 8)]),
        'edge-batch-gps-out-of-range.bin': batch(3, [(PROBE, 2, 1)], [fix]),
        'edge-batch-gps-none.bin': batch(3, [(PROBE, 2, 0)]),
        'edge-batch-too-long.bin': batch(4, [(b'\0' * 65536, 0, 0)]),
    }


def broken(frames):
    """Frames the verifier must refuse, made from good ones."""
    w, bt = frames['edge-welcome.bin'], frames['edge-batch.bin']
    out = {
        'edge-no-identifier.bin': w[:4] + b'HPW2' + w[8:],
        'edge-short.bin': w[:7],
        'edge-truncated-batch.bin': bt[:len(bt) // 2],
        'edge-unknown-body.bin': None,
        'edge-no-body.bin': None,
    }
    # A Frame whose union type is beyond the schema (a newer peer's body).
    b = flatbuffers.Builder(32)
    Ack.Start(b)
    Ack.AddSeq(b, 1)
    out['edge-unknown-body.bin'] = finish(b, 42, Ack.End(b))
    b = flatbuffers.Builder(32)
    Frame.Start(b)
    Frame.AddBodyType(b, Body.Body.Ack)
    b.Finish(Frame.End(b), file_identifier=IDENT)
    out['edge-no-body.bin'] = bytes(b.Output())
    # The data vector's length made to run past the end of the buffer.
    f = Frame.Frame.GetRootAs(bt, 0)
    pb = PacketBatch.PacketBatch()
    pb.Init(f.Body().Bytes, f.Body().Pos)
    i = pb._tab.Vector(pb._tab.Offset(8)) - 4  # PacketBatch.data is field 2: vtable slot 8
    assert struct.unpack_from('<I', bt, i)[0] == len(BEACON) + len(PROBE)
    out['edge-vector-past-end.bin'] = bt[:i] + struct.pack('<I', 0x7fffffff) + bt[i + 4:]
    # The root offset moved by 2: every table misaligned.
    root = struct.unpack_from('<I', w)[0]
    out['edge-misaligned.bin'] = struct.pack('<I', root + 2) + w[4:] + b'\0\0'
    return out


# --- recording what the sensor sends -------------------------------------------


def read_exact(conn, n):
    buf = b''
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def fake_collector(server, frames):
    """Accepts one legacy TCP link; answers Hello with Welcome, a Configure and a
    Ping, acks every batch, and keeps every frame the sensor sends."""
    conn, _ = server.accept()
    conn.settimeout(20)

    def send(frame):
        conn.sendall(struct.pack('<I', len(frame)) + frame)

    try:
        while True:
            n = struct.unpack('<I', read_exact(conn, 4))[0]
            frame = read_exact(conn, n)
            frames.append(frame)
            body = Frame.Frame.GetRootAs(frame, 0).BodyType()
            if body == Body.Body.Hello:
                send(welcome(0))
                send(configure(1, ['1', '6', '11']))
                send(ping(99))
            elif body == Body.Body.PacketBatch:
                f = Frame.Frame.GetRootAs(frame, 0)
                pb = PacketBatch.PacketBatch()
                pb.Init(f.Body().Bytes, f.Body().Pos)
                send(ack(pb.Seq()))
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def record(sensor, capture, fixed_gps):
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    port = server.getsockname()[1]
    frames = []
    t = threading.Thread(target=fake_collector, args=(server, frames))
    t.start()
    env = dict(os.environ, HOPWIRE_APIKEY='hw_seed_token')
    cmd = [sensor, '--tcp', '--connect', '127.0.0.1:%d' % port, '--disable-retry', '--log-level', 'warn',
           '--source=%s:name=seed,uuid=%s,realtime=false' % (capture, UUID)]
    if fixed_gps:
        cmd += ['--fixed-gps', '50.11,8.68,112']
    subprocess.run(cmd, env=env, timeout=60, check=False)
    t.join(30)
    server.close()
    return frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--record', metavar='SENSOR', help='hopwire-sensor binary to record real frames from')
    ap.add_argument('out', nargs='?', default=str(HERE / 'corpus' / 'link'))
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = edge_seeds()
    frames.update(broken(frames))
    for name, data in frames.items():
        (out / name).write_bytes(data)
    if args.record:
        for old in out.glob('real-*'):
            old.unlink()
        n = 0
        for capture, gps in (('wlanpi_assoc_dev.pcapng', True), ('tcpdump_ieee802.11_meshid.pcap', False),
                             ('aircrack_wep.shared.key.authentication.cap', True), ('aircrack_wpa.cap', False)):
            for frame in record(args.record, DATA / capture, gps):
                f = Frame.Frame.GetRootAs(frame, 0)
                names = {v: k for k, v in vars(Body.Body).items() if not k.startswith('_')}
                kind = names.get(f.BodyType(), str(f.BodyType())).lower()
                stem = re.sub('[^a-z0-9]+', '-', pathlib.Path(capture).stem.lower())[:16].strip('-')
                (out / ('real-%02d-%s-%s.bin' % (n, stem, kind))).write_bytes(frame)
                n += 1
    print('%d seeds in %s' % (len(list(out.iterdir())), out))


if __name__ == '__main__':
    main()

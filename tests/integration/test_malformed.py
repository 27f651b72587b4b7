"""Malformed input on either link is refused and counted; a good sensor on
another link keeps streaming without losing a frame."""
import json
import os
import uuid as uuidlib

import wire
from conftest import Sensor, basic_auth, frame_count

MAX_FRAME = 1024 * 1024 + 8192 * 48 + 64 * 1024  # protocol::kMaxFrameBytes


def errors_of(messages):
    out = []
    for m in messages:
        try:
            name, obj = wire.parse(m)
        except AssertionError:
            continue
        if name == "Error":
            out.append((obj.Code(), obj.Message().decode()))
    return out


def ws_hello(collector, name):
    c = wire.WsClient(collector.port, authorization=basic_auth("admin", collector.password))
    assert c.status == 101
    c.send(wire.hello(str(uuidlib.uuid4()), name))
    kind, welcome = wire.parse(c.recv())
    assert kind == "Welcome"
    return c


def test_malformed_frames_are_refused_and_counted_while_a_good_sensor_streams(collector, crafted):
    frames = 100_000
    cap = crafted(frames)
    good = Sensor(collector, "%s:name=good,pps=25000" % cap, extra=["--disable-retry"]).start()

    auth = basic_auth("admin", collector.password)
    token = collector.token("datasource", "tcp-bad")
    valid_hello = wire.hello(str(uuidlib.uuid4()), "x")
    cases = {
        "random bytes": os.urandom(300),
        "truncated flatbuffer": valid_hello[: len(valid_hello) // 2],
        "wrong identifier": valid_hello[:4] + b"XXXX" + valid_hello[8:],
        "batch before hello": wire.batch(1, [b"\x00" * 20]),
        "ping before hello": wire.ping(),
    }
    refused = 0
    for what, payload in cases.items():
        c = wire.WsClient(collector.port, authorization=auth)
        assert c.status == 101
        c.send(payload)
        errs = errors_of(wire.recv_until_closed(c))
        assert errs, "no Error frame for %s on the WebSocket" % what
        c.close()
        t = wire.TcpClient(collector.tcp_port)
        t.send(payload)
        errs = errors_of(wire.recv_until_closed(t))
        assert errs, "no Error frame for %s on TCP" % what
        t.close()
        refused += 2

    # A batch whose records point outside its data, after a good Hello.
    c = ws_hello(collector, "liar")
    c.send(wire.batch(1, [b"\x01" * 32], data_offset_bias=10_000))
    errs = errors_of(wire.recv_until_closed(c))
    assert errs and "past the batch data" in errs[0][1]
    refused += 1

    # Oversize: the WebSocket message and the TCP length prefix.
    c = wire.WsClient(collector.port, authorization=auth)
    c.send(b"\x00" * (MAX_FRAME + 1))
    errs = errors_of(wire.recv_until_closed(c))
    assert errs and "exceeds the limit" in errs[0][1]
    t = wire.TcpClient(collector.tcp_port)
    t.send_raw((MAX_FRAME + 1).to_bytes(4, "little"))
    errs = errors_of(wire.recv_until_closed(t))
    assert errs and "exceeds the limit" in errs[0][1]

    # A TCP Hello without a token, and a major-version mismatch.
    t = wire.TcpClient(collector.tcp_port)
    t.send(wire.hello(str(uuidlib.uuid4()), "tokenless"))
    errs = errors_of(wire.recv_until_closed(t))
    assert errs and "token" in errs[0][1]
    t = wire.TcpClient(collector.tcp_port)
    t.send(wire.hello(str(uuidlib.uuid4()), "future", token=token, major=9))
    errs = errors_of(wire.recv_until_closed(t))
    assert errs and "collector speaks 1.0" in errs[0][1] and "sensor 9.0" in errs[0][1]

    assert good.wait(timeout=120) == 0, good.out
    src = collector.sources()["good"]
    assert src["kismet.datasource.num_packets"] == frames
    status = collector.status()
    assert status["hopwire.system.frames_malformed"] >= refused
    assert status["hopwire.system.frames_oversize"] == 2
    assert status["hopwire.system.links_refused_auth"] >= 1
    assert status["hopwire.system.links_refused_other"] >= 1


def test_second_link_for_a_live_source_uuid_is_refused(collector):
    u = str(uuidlib.uuid4())
    first = wire.WsClient(collector.port, authorization=basic_auth("admin", collector.password))
    first.send(wire.hello(u, "first"))
    assert wire.parse(first.recv())[0] == "Welcome"
    second = wire.WsClient(collector.port, authorization=basic_auth("admin", collector.password))
    second.send(wire.hello(u, "second"))
    errs = errors_of(wire.recv_until_closed(second))
    assert errs and "already connected" in errs[0][1]
    # The first link is unaffected: it still gets acks.
    first.send(wire.batch(1, [b"\x80\x00" + b"\x00" * 30]))
    kind, ack = wire.parse(first.recv())
    while kind != "Ack":
        kind, ack = wire.parse(first.recv())
    assert ack.Seq() == 1
    first.close()


def test_duplicate_batch_is_acked_but_not_counted(collector):
    c = ws_hello(collector, "dups")
    # A resent batch is acknowledged with the highest stored sequence.
    for seq, acked in ((1, 1), (2, 2), (2, 2), (1, 2), (3, 3)):
        c.send(wire.batch(seq, [b"\x80\x00" + bytes([seq]) * 40, b"\x40\x00" + bytes([seq]) * 30]))
        kind, obj = wire.parse(c.recv())
        while kind != "Ack":
            kind, obj = wire.parse(c.recv())
        assert obj.Seq() == acked
    c.close()
    src = collector.sources()["dups"]
    assert src["kismet.datasource.num_packets"] == 6
    assert src["hopwire.datasource.duplicate_batches"] == 2


def test_source_names_that_are_not_utf8_stay_valid_json(collector):
    u = str(uuidlib.uuid4())
    c = wire.WsClient(collector.port, authorization=basic_auth("admin", collector.password))
    c.send(wire.hello(u, b"roof\xff\xfe-1"))
    assert wire.parse(c.recv())[0] == "Welcome"
    c.send(wire.batch(1, [b"\x80\x00" + b"\x00" * 30]))
    kind = None
    while kind != "Ack":
        kind, _ = wire.parse(c.recv())
    c.close()
    rc, body = collector.http.request("GET", "/datasource/all_sources.json", user="admin", password=collector.password)
    assert rc == 200
    names = [s["kismet.datasource.name"] for s in json.loads(body.decode("utf-8"))]  # strict UTF-8
    assert "roof\\xff\\xfe-1" in names
    rc, body = collector.http.request("GET", "/devices/views/all/devices.json", user="admin",
                                      password=collector.password)
    body.decode("utf-8")

"""Kismet's event bus (/eventbus/events.ws) and message bus with real
WebSocket clients (python3-websockets): subscribers see the events of a
replay; a hundred at once; one that never reads loses events (counted, and
told) while the others and ingest carry on; credentials only in headers."""
import asyncio
import base64
import json
import time

import pytest

from conftest import DATA, Sensor, frame_count

websockets = pytest.importorskip("websockets", reason="Debian's python3-websockets is needed for the event bus tests")

WIFITE = DATA / "wifite2_handshake_not_exists.cap"


def url(collector):
    return "ws://127.0.0.1:%d/eventbus/events.ws" % collector.port


def auth_header(token):
    return {"Authorization": "Bearer " + token}


async def collect(ws, seconds, until=None):
    """Messages received for `seconds` (or until `until(messages)` holds)."""
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=max(0.05, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            break
        out.append(json.loads(raw))
        if until and until(out):
            break
    return out


def devices_of(collector):
    return {d["kismet.device.base.macaddr"] for d in collector.get("/devices/views/all/devices.json")}


def test_subscribers_see_the_new_devices_ssids_and_messages_of_a_replay(collector):
    token = collector.token("readonly", "bus")

    async def run():
        async with websockets.connect(url(collector), extra_headers=auth_header(token)) as ws:
            for topic in ("NEW_DEVICE", "MESSAGE", "DOT11_ADVERTISED_SSID", "DATASOURCE_OPENED", "TIMESTAMP"):
                await ws.send(json.dumps({"SUBSCRIBE": topic}))
            await ws.send(json.dumps({"SUBSCRIBE": "DEVICE_CHANGED",
                                      "fields": ["kismet.device.base.macaddr", ["kismet.device.base.packets.total", "n"]]}))
            await asyncio.sleep(0.3)  # the subscriptions are in before the replay starts
            s = Sensor(collector, "%s:name=bus-replay,realtime=false" % WIFITE)
            assert s.run() == 0, s.out
            want = devices_of(collector)

            def done(msgs):
                seen = {m["NEW_DEVICE"]["kismet.device.base.macaddr"] for m in msgs if "NEW_DEVICE" in m}
                return seen >= want and any("DEVICE_CHANGED" in m for m in msgs)

            return want, await collect(ws, 15, done)

    want, msgs = asyncio.run(run())
    new = [m["NEW_DEVICE"] for m in msgs if "NEW_DEVICE" in m]
    assert {d["kismet.device.base.macaddr"] for d in new} == want
    assert len(new) == len(want), "a device was announced twice"
    ssids = [m for m in msgs if "DOT11_ADVERTISED_SSID" in m]
    assert ssids and all("DOT11_NEW_SSID_BASEDEV" in m for m in ssids)
    assert any("dot11.advertisedssid.ssid" in m["DOT11_ADVERTISED_SSID"] for m in ssids)
    texts = [m["MESSAGE"]["kismet.messagebus.message_string"] for m in msgs if "MESSAGE" in m]
    assert any("bus-replay" in t and "connected" in t for t in texts), texts
    assert any("DATASOURCE_OPENED" in m for m in msgs)
    assert any("TIMESTAMP" in m for m in msgs)
    changed = [m["DEVICE_CHANGED"] for m in msgs if "DEVICE_CHANGED" in m]
    listed = [d for c in changed for d in c["hopwire.devices.list"]]
    assert listed and all(set(d) == {"kismet.device.base.macaddr", "n"} for d in listed), listed[:3]

    # The same messages over REST.
    msgs_rest = collector.get("/messagebus/all_messages.json")
    assert any("bus-replay" in m["kismet.messagebus.message_string"] for m in msgs_rest)
    since = collector.get("/messagebus/last-time/-3600/messages.json")
    assert since["kismet.messagebus.list"] and since["kismet.messagebus.timestamp"] > 0


def test_a_hundred_subscribers_at_once_all_get_the_events(collector):
    token = collector.token("readonly", "many")

    async def one(ws):
        return await collect(ws, 20, lambda msgs: sum("NEW_DEVICE" in m for m in msgs) >= expected[0])

    expected = [0]

    async def run():
        conns = [await websockets.connect(url(collector), extra_headers=auth_header(token)) for _ in range(100)]
        for ws in conns:
            await ws.send(json.dumps({"SUBSCRIBE": "NEW_DEVICE", "fields": ["kismet.device.base.macaddr"]}))
        await asyncio.sleep(0.5)
        s = Sensor(collector, "%s:name=many,realtime=false" % WIFITE)
        assert s.run() == 0, s.out
        expected[0] = len(devices_of(collector))
        results = await asyncio.gather(*(one(ws) for ws in conns))
        for ws in conns:
            await ws.close()
        return results

    results = asyncio.run(run())
    counts = [sum("NEW_DEVICE" in m for m in r) for r in results]
    assert all(c == expected[0] for c in counts), counts
    assert all(set(m["NEW_DEVICE"]) == {"kismet.device.base.macaddr"} for r in results for m in r if "NEW_DEVICE" in m)


def test_a_subscriber_that_never_reads_loses_events_alone(collector, crafted):
    token = collector.token("readonly", "slow")
    frames = 60_000
    # 5 000 stations: the reading subscriber's events (~60 B each) stay far
    # inside its 2 MiB backlog and all events inside the bus's queue even
    # if this script is starved for the whole burst, while the stuck one's
    # ("*": whole devices, ~2.5 KB each) are several times its backlog.
    cap = crafted(frames, aps=200, clients=5000)

    async def run():
        # The stuck one: a tiny receive window and it never calls recv().
        stuck = await websockets.connect(url(collector), extra_headers=auth_header(token), max_queue=1,
                                         read_limit=1024)
        await stuck.send(json.dumps({"SUBSCRIBE": "*"}))
        good = await websockets.connect(url(collector), extra_headers=auth_header(token), max_size=None)
        await good.send(json.dumps({"SUBSCRIBE": "NEW_DEVICE", "fields": ["kismet.device.base.macaddr"]}))
        await asyncio.sleep(0.3)
        s = Sensor(collector, "%s:name=flood,realtime=false" % cap).start()
        got = []
        deadline = time.monotonic() + 90
        while s.proc.poll() is None and time.monotonic() < deadline:
            got += await collect(good, 0.5)
        rc = s.wait(60)
        devices = collector.status()["kismet.system.devices.count"]
        got += await collect(good, 20, lambda msgs: sum("NEW_DEVICE" in m for m in got + msgs) >= devices)
        await good.close()
        return rc, got, devices, stuck

    rc, got, devices, stuck = asyncio.run(run())
    assert rc == 0
    assert collector.sources()["flood"]["kismet.datasource.num_packets"] == frames, "ingest lost packets"
    st = collector.status()
    assert sum("NEW_DEVICE" in m for m in got) == devices, "the reading subscriber missed events: %r" % (
        {k: v for k, v in st.items() if "eventbus" in k}, [m for m in got if "EVENTBUS_DROPPED" in m][:3])
    assert st["hopwire.system.eventbus.dropped"] > 0, "the stuck subscriber lost nothing? %r" % {
        k: v for k, v in st.items() if "eventbus" in k}


def test_credentials_go_in_headers_only_and_bad_requests_are_answered(collector):
    token = collector.token("readonly", "url")

    async def run():
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as refused:
            await websockets.connect(url(collector) + "?KISMET=" + token)
        assert refused.value.status_code == 400
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as anon:
            await websockets.connect(url(collector))
        assert anon.value.status_code == 401
        ds = collector.token("datasource", "a-sensor")
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as wrong_role:
            await websockets.connect(url(collector), extra_headers=auth_header(ds))
        assert wrong_role.value.status_code == 403
        # The session cookie is as good as a header.
        basic = "Basic " + base64.b64encode(("admin:%s" % collector.password).encode()).decode()
        rc, headers, _ = collector.http.request_full("GET", "/session/check_login", headers=["Authorization: " + basic])
        cookie = headers["set-cookie"].split(";")[0]
        async with websockets.connect(url(collector), extra_headers={"Cookie": cookie}) as ws:
            await ws.send("{not json")
            err = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert "hopwire.eventbus.error" in err
            await ws.send(json.dumps({"SUBSCRIBE": 7}))
            err = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert "SUBSCRIBE" in err["hopwire.eventbus.error"]

    asyncio.run(run())


def test_device_monitor_sends_changed_devices_at_the_rate_asked_with_fields(collector):
    token = collector.token("readonly", "monitor")
    s = Sensor(collector, "%s:name=mon,realtime=false" % WIFITE)
    assert s.run() == 0, s.out
    devices = devices_of(collector)
    one = sorted(devices)[0]

    async def run():
        async with websockets.connect("ws://127.0.0.1:%d/devices/monitor.ws" % collector.port,
                                      extra_headers=auth_header(token)) as ws:
            await ws.send(json.dumps({"monitor": "*", "request": 1, "rate": 1,
                                      "fields": ["kismet.device.base.macaddr"]}))
            everything = await collect(ws, 4, lambda m: len(m) >= len(devices))
            await ws.send(json.dumps({"cancel": 1}))
            await ws.send(json.dumps({"monitor": one, "request": 2, "rate": 1}))
            single = await collect(ws, 3, lambda m: any("kismet.device.base.key" in x for x in m))
            await ws.send(json.dumps({"monitor": "nonsense", "request": 3, "rate": 1}))
            bad = await collect(ws, 2, lambda m: any("hopwire.monitor.error" in x for x in m))
            return everything, single, bad

    everything, single, bad = asyncio.run(run())
    assert {m["kismet.device.base.macaddr"] for m in everything if "kismet.device.base.macaddr" in m} == devices
    assert all(set(m) == {"kismet.device.base.macaddr"} for m in everything), everything[:2]
    full = [m for m in single if "kismet.device.base.key" in m]
    assert full and full[0]["kismet.device.base.macaddr"] == one
    assert any("hopwire.monitor.error" in m for m in bad)

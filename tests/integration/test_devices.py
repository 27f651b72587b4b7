"""Device REST API: two sensors hearing the same devices, Kismet's field
simplification, regex, windowing, output formats and last-time polling."""
import json
import time

from conftest import CAPTURES, Sensor

WIFITE = [c for c in CAPTURES if c.name.startswith("wifite2")][0]


def replay(collector, cap, name):
    s = Sensor(collector, "%s:name=%s,realtime=false" % (cap, name), extra=["--disable-retry"])
    assert s.run(timeout=60) == 0, s.out


def post(collector, path, command, form=False):
    if form:
        data = "json=" + json.dumps(command)
        headers = ["Content-Type: application/x-www-form-urlencoded"]
    else:
        data = json.dumps(command)
        headers = ["Content-Type: application/json"]
    rc, body = collector.http.request("POST", path, user="admin", password=collector.password, headers=headers,
                                      data=data)
    return rc, body.decode()


def test_two_sensors_give_one_device_with_two_seenby_entries(collector):
    replay(collector, WIFITE, "roof-a")
    replay(collector, WIFITE, "roof-b")
    uuids = {s["kismet.datasource.uuid"] for s in collector.sources().values()}
    devices = collector.get("/devices/views/all/devices.json")
    assert devices
    macs = [d["kismet.device.base.macaddr"] for d in devices]
    assert len(macs) == len(set(macs)), "one device per MAC"
    for d in devices:
        seen = d["kismet.device.base.seenby"]
        assert len(seen) == 2, d["kismet.device.base.macaddr"]
        assert {s["kismet.common.seenby.uuid"] for s in seen} == uuids
        a, b = (s["kismet.common.seenby.num_packets"] for s in seen)
        # Per-source counts add up to the device's count. (They can differ
        # by a few: control frames count only for devices already known.)
        assert a > 0 and b > 0
        assert a + b == d["kismet.device.base.packets.total"]


def test_field_simplification_regex_and_window(collector):
    replay(collector, WIFITE, "fields")
    aps = collector.get("/devices/views/phydot11_accesspoints/devices.json")
    assert aps and all(d["kismet.device.base.type"] == "Wi-Fi AP" for d in aps)
    rc, body = post(collector, "/devices/views/all/devices.json", {
        "fields": ["kismet.device.base.macaddr",
                   ["kismet.device.base.signal/kismet.common.signal.last_signal", "sig"],
                   "kismet.device.base.signal/kismet.common.signal.max_signal",
                   "no.such.field"],
        "regex": [["dot11.device/dot11.device.advertised_ssid_map/dot11.advertisedssid.ssid", "^xfinity"]],
    }, form=True)
    assert rc == 200, body
    rows = json.loads(body)
    assert len(rows) == 3  # the three open xfinitywifi APs
    for r in rows:
        assert set(r) == {"kismet.device.base.macaddr", "sig", "kismet.common.signal.max_signal", "no.such.field"}
        assert r["no.such.field"] == 0
    rc, body = post(collector, "/devices/views/all/devices.json",
                       {"fields": ["kismet.device.base.macaddr"], "start": 2, "length": 5})
    assert rc == 200 and len(json.loads(body)) == 5
    rc, body = post(collector, "/devices/views/all/devices.json", {"regex": [["a", "("]]})
    assert rc == 400 and "regex" in body
    rc, body = post(collector, "/devices/views/all/devices.json", {"fields": "oops"})
    assert rc == 400 and "fields" in body


def test_itjson_ekjson_and_lookups(collector):
    replay(collector, WIFITE, "formats")
    rc, body = collector.http.request("GET", "/devices/views/all/devices.itjson", user="admin",
                                         password=collector.password)
    lines = [json.loads(l) for l in body.splitlines() if l]
    assert rc == 200 and lines and "kismet.device.base.key" in lines[0]
    rc, body = collector.http.request("GET", "/devices/views/all/devices.ekjson", user="admin",
                                         password=collector.password)
    ek = [json.loads(l) for l in body.splitlines() if l]
    assert len(ek) == len(lines)
    assert "kismet_device_base_key" in ek[0] and "dot11_device" in ek[0]
    assert not any("." in k for k in ek[0])
    ap = collector.get("/devices/views/phydot11_accesspoints/devices.json")[0]
    key, mac = ap["kismet.device.base.key"], ap["kismet.device.base.macaddr"]
    assert collector.get("/devices/by-key/%s/device.json" % key)["kismet.device.base.macaddr"] == mac
    assert [d["kismet.device.base.key"] for d in collector.get("/devices/by-mac/%s/devices.json" % mac)] == [key]
    rc, body = post(collector, "/devices/multimac/devices.json", {"devices": [mac, "00:00:00:00:00:01"]})
    assert rc == 200 and len(json.loads(body)) == 1
    clients = collector.get("/phy/phy80211/clients-of/%s/clients.json" % key)
    assert sorted(c["kismet.device.base.macaddr"] for c in clients) == \
        sorted(ap["dot11.device"]["dot11.device.associated_client_map"])
    rc, body = collector.http.request("GET", "/devices/by-key/4202770D00000000_0000FFFFFFFFFFF0/device.json",
                                         user="admin", password=collector.password)
    assert rc == 404
    assert collector.status()["kismet.system.devices.count"] == len(ek)


def test_last_time_returns_only_what_changed(collector):
    replay(collector, WIFITE, "first")
    first = collector.get("/devices/last-time/0/devices.json")
    total = len(first["kismet.device.list"])
    assert total == collector.status()["kismet.system.devices.count"]
    ts = first["kismet.devicelist.timestamp"]
    time.sleep(1.1)
    nothing = collector.get("/devices/last-time/%d/devices.json" % (ts + 1))
    assert nothing["kismet.device.list"] == []
    # A different capture touches only its own devices.
    other = [c for c in CAPTURES if c.name.startswith("aircrack_wpa.")][0]
    replay(collector, other, "second")
    changed = collector.get("/devices/last-time/%d/devices.json" % (ts + 1))["kismet.device.list"]
    assert 0 < len(changed) < total
    assert {d["kismet.device.base.macaddr"].lower() for d in changed} == {"00:0d:93:eb:b0:8c", "00:09:5b:91:53:5d"}
    recent = collector.get("/devices/last-time/-60/devices.json")["kismet.device.list"]
    assert len(recent) == total + len(changed)


def test_device_routes_need_a_role(collector):
    rc, _ = collector.http.request("GET", "/devices/views/all/devices.json")
    assert rc == 401

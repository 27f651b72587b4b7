"""Scan reports (Kismet's scan_report.cmd): the seed format as Kismet
documents it, virtual sources, and every kind of bad input with its status
and message."""
import json
import time

import pytest

from conftest import Collector

PATH = "/phy/phy80211/scan/scan_report.cmd"

SEED = {
    "source_name": "phone-1",
    "reports": [
        {"timestamp": None, "bssid": "00:11:22:33:44:55", "ssid": "Cafe Wifi", "signal": -62,
         "encryption": ["WPA2-PSK"], "lat": 52.5200, "lon": 13.4050, "alt": 34.0, "speed": 0.5},
        {"bssid": "00:11:22:33:44:66", "ssid": "Library", "signal": -80, "encryption": ["OPEN"], "channel": 11},
        {"bssid": "00:11:22:33:44:77", "ssid": "Lab", "signal": -55, "freqkhz": 5180000,
         "capabilities": "[WPA2-PSK-CCMP][RSN-SAE-CCMP][ESS]"},
    ],
}


def post(c, body, role_token=None, form=False, raw=None, method="POST", content_type=None):
    if raw is not None:
        data = raw
    elif form:
        data = "json=" + json.dumps(body)
    else:
        data = json.dumps(body)
    ct = content_type or ("application/x-www-form-urlencoded" if form else "application/json")
    kw = {"token": role_token} if role_token else {"user": "admin", "password": c.password}
    rc, out = c.http.request(method, PATH, data=data, content_type=ct, **kw)
    try:
        return rc, json.loads(out)
    except ValueError:
        return rc, out.decode(errors="replace")


def seed():
    s = json.loads(json.dumps(SEED))
    s["reports"][0]["timestamp"] = int(time.time()) - 5
    return s


@pytest.mark.parametrize("form", [False, True], ids=["json-body", "json-form"])
def test_seed_reports_create_a_virtual_source_and_access_points(collector, form):
    token = collector.token("scanreport", "phone")
    t0 = int(time.time()) - 1
    rc, out = post(collector, seed(), role_token=token, form=form)
    assert rc == 200, out
    assert out == {"success": True, "accepted": 3}
    src = collector.sources()["phone-1"]
    assert src["kismet.datasource.type"] == "scan"
    assert src["kismet.datasource.num_packets"] == 3
    devices = {d["kismet.device.base.macaddr"]: d for d in collector.get("/devices/last-time/%d/devices.json" % t0)
               ["kismet.device.list"]}
    assert set(devices) == {"00:11:22:33:44:55", "00:11:22:33:44:66", "00:11:22:33:44:77"}
    cafe = devices["00:11:22:33:44:55"]
    assert cafe["kismet.device.base.type"] == "Wi-Fi AP"
    assert cafe["kismet.device.base.name"] == "Cafe Wifi"
    assert cafe["kismet.device.base.crypt"] == "WPA2"
    assert cafe["kismet.device.base.signal"]["kismet.common.signal.last_signal"] == -62
    loc = cafe["kismet.device.base.location"]["kismet.common.location.last"]
    assert loc["kismet.common.location.geopoint"] == [13.405, 52.52]
    assert loc["kismet.common.location.alt"] == 34.0
    assert [s["kismet.common.seenby.uuid"] for s in cafe["kismet.device.base.seenby"]] == \
        [src["kismet.datasource.uuid"]]
    ssid = cafe["dot11.device"]["dot11.device.advertised_ssid_map"][0]
    assert ssid["hopwire.crypt.akms"] == ["PSK"]
    assert devices["00:11:22:33:44:66"]["kismet.device.base.crypt"] == "Open"
    assert devices["00:11:22:33:44:66"]["kismet.device.base.channel"] == "11"
    lab = devices["00:11:22:33:44:77"]
    assert lab["kismet.device.base.crypt"] == "WPA2/WPA3"
    assert lab["kismet.device.base.channel"] == "36"


def test_a_name_maps_to_a_stable_uuid_and_a_later_uuid_links_to_it(tmp_path):
    c = Collector(tmp_path).start()
    try:
        assert post(c, seed())[0] == 200
        uuid = c.sources()["phone-1"]["kismet.datasource.uuid"]
        given = "8c9f1a2e-1111-4222-8333-444455556666"
        both = dict(seed(), source_uuid=given)
        assert post(c, both)[0] == 200
        only_uuid = {"source_uuid": given, "reports": seed()["reports"]}
        assert post(c, only_uuid)[0] == 200
        scan = [s for s in c.get("/datasource/all_sources.json") if s["kismet.datasource.type"] == "scan"]
        assert len(scan) == 1 and scan[0]["kismet.datasource.uuid"] == uuid
        assert scan[0]["kismet.datasource.num_packets"] == 9
        c.stop()
        c.start()
        assert post(c, seed())[0] == 200
        assert c.sources()["phone-1"]["kismet.datasource.uuid"] == uuid
    finally:
        c.stop()


def good(**over):
    r = {"bssid": "00:11:22:33:44:55", "signal": -60}
    r.update(over)
    return r


def without(key):
    r = good()
    del r[key]
    return r


BAD = [
    ("not JSON", dict(raw="{nope"), 400, "", "not JSON"),
    ("missing source", dict(body={"reports": [good()]}), 400, "source_name", "required"),
    ("bad UUID", dict(body={"source_uuid": "not-a-uuid", "reports": [good()]}), 400, "source_uuid", "UUID"),
    ("empty reports", dict(body={"source_name": "x", "reports": []}), 400, "reports", "at least one"),
    ("missing reports", dict(body={"source_name": "x"}), 400, "reports", "array"),
    ("bad BSSID", dict(body={"source_name": "x", "reports": [good(bssid="00:11:22:33:44")]}), 400, "bssid", "MAC"),
    ("missing signal", dict(body={"source_name": "x", "reports": [without("signal")]}), 400, "signal", "required"),
    ("SSID too long", dict(body={"source_name": "x", "reports": [good(ssid="x" * 33)]}), 400, "ssid", "32 bytes"),
    ("unknown encryption", dict(body={"source_name": "x", "reports": [good(encryption=["WPA9"])]}), 400,
     "encryption", "WPA9"),
    ("lat 91", dict(body={"source_name": "x", "reports": [good(lat=91, lon=0)]}), 400, "lat", "-90 and 90"),
    ("too many reports", dict(body={"source_name": "x", "reports": [good()] * 10001}), 400, "reports", "10000"),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_a_message(collector, case):
    _, kw, status, field, text = case
    rc, out = post(collector, kw.get("body"), raw=kw.get("raw"))
    assert rc == status, out
    assert out["success"] is False and out["accepted"] == 0
    assert any(e["field"] == field and text in e["message"] for e in out["rejected"]), out


def test_request_level_refusals(collector):
    rc, out = post(collector, None, raw="json=" + "x" * (1024 * 1024 + 10),
                   content_type="application/x-www-form-urlencoded")
    assert rc == 413
    rc, _ = collector.http.request("GET", PATH, user="admin", password=collector.password)
    assert rc == 405
    rc, _ = collector.http.request("POST", PATH, data=json.dumps(seed()), content_type="application/json")
    assert rc == 401
    readonly = collector.token("readonly", "viewer")
    rc, _ = post(collector, seed(), role_token=readonly)
    assert rc == 403


def test_a_mixed_batch_applies_the_good_and_lists_the_bad(collector):
    body = {"source_name": "esp32", "reports": [
        good(bssid="02:00:00:00:00:01", ssid="ok-1"),
        good(bssid="zz"),
        good(bssid="02:00:00:00:00:02", ssid="ok-2", encryption=["WPA3-SAE"]),
        without("signal"),
        good(bssid="02:00:00:00:00:03", lat=10, lon=200),
    ]}
    rc, out = post(collector, body)
    assert rc == 200, out
    assert out["success"] is True and out["accepted"] == 2
    assert [(e["index"], e["field"]) for e in out["rejected"]] == [(1, "bssid"), (3, "signal"), (4, "lon")]
    macs = {d["kismet.device.base.macaddr"] for d in collector.get("/devices/views/all/devices.json")}
    assert macs == {"02:00:00:00:00:01", "02:00:00:00:00:02"}
    src = collector.sources()["esp32"]
    assert src["kismet.datasource.num_packets"] == 2
    assert src["kismet.datasource.num_error_packets"] == 3

"""Kismet's REST surface (docs/kismet-compat.md): the doc's table against the
route table, every route it marks "same" called with curl against a
collector fed by real sensors replaying tests/data captures and its answer
checked for Kismet's field names, and the parts of it that are ours to get
right: per-source views, pause, names and tags across a restart, handshake
captures from the packet log, the packet and channel rings."""
import json
import re
import subprocess
import time

import pytest

from conftest import COLLECTOR, DATA, SOURCE_DIR, Collector, Sensor

DOC = SOURCE_DIR / "docs" / "kismet-compat.md"
FORMATS = ("json", "itjson", "ekjson")
HANDSHAKES = DATA / "aircrack_test1.pcap"  # radiotap, 4-way handshakes and PMKIDs
OTHER = DATA / "wlanpi_assoc_dev.pcapng"
UUID_A = "0b1c2d3e-4f50-4617-8899-aabbccddeeff"
UUID_B = "1b1c2d3e-4f50-4617-8899-aabbccddeeff"
# In aircrack_test1.pcap: an AP, one of its clients (22 EAPOL-Key frames
# between them, 31 with all its clients), and an AP that sent PMKIDs.
AP_MAC = "F8:1A:67:E5:05:62"
CLIENT_MAC = "7C:64:56:8A:D6:7C"
PMKID_AP_MAC = "28:10:7B:94:BB:29"


def key(mac):
    return "4202770D00000000_0000" + mac.replace(":", "").upper()


# ---- The table ---------------------------------------------------------------

def section(text, title):
    start = text.index("\n## " + title + "\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def rows(sec):
    out = []
    for line in sec.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        out.append(cells)
    return out


def ticks(cell):
    return re.findall(r"`([^`]+)`", cell)


def expand(path):
    return [path.replace(".FMT", "." + f) for f in FORMATS] if ".FMT" in path else [path]


def shape(path):
    """A path with every placeholder made alike: Kismet's :name and our {name}."""
    return re.sub(r"\{[^}]+\}", "{}", re.sub(r":[a-z_]+", "{}", path))


def kismet_table():
    """(kismet route, [methods], status, [(methods or None, our pattern)], how)."""
    table = []
    for cells in rows(section(DOC.read_text(), "Kismet's REST surface")):
        kismet, methods, status, here, how = cells
        entries = []
        for t in ticks(here):
            m, _, p = t.rpartition(" ")
            entries.append(([m] if m else None, p))
        table.append((ticks(kismet)[0], [m.strip() for m in methods.split(",")], status, entries, how))
    return table


def served():
    out = subprocess.run([str(COLLECTOR), "routes", "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_the_table_names_only_what_is_served_as_it_says():
    table = kismet_table()
    assert len(table) > 100
    have = {(r["method"], r["path"]) for r in served()}
    have_shapes = {(m, shape(p)) for m, p in have}
    problems = []
    for kismet, methods, status, here, how in table:
        assert status in ("same", "extended", "differs", "absent"), (kismet, status)
        if status == "absent":
            if here:
                problems.append("%s is absent but names %s" % (kismet, here))
            for p in expand(kismet):
                for m in methods:
                    if (m, shape(p)) in have_shapes:
                        problems.append("%s %s is marked absent but served" % (m, p))
            continue
        if not here:
            problems.append("%s (%s) names no route here" % (kismet, status))
        if status != "same" and not how:
            problems.append("%s is %s but does not say how" % (kismet, status))
        for only, pattern in here:
            for p in expand(pattern):
                for m in only or methods:
                    if (m, p) not in have:
                        problems.append("%s %s (for %s) is not in `hopwire-collector routes`" % (m, p, kismet))
    assert not problems, "\n".join(problems)


def test_every_served_route_is_in_the_doc():
    text = DOC.read_text()
    named = set()
    for _, _, _, here, _ in kismet_table():
        for _, pattern in here:
            named.update(expand(pattern))
    for cells in rows(section(text, "Routes Kismet does not have")):
        for t in ticks(cells[0]):
            named.update(expand(t))
    missing = sorted({r["path"] for r in served()} - named)
    assert not missing, "routes not in docs/kismet-compat.md:\n" + "\n".join(missing)


# ---- A collector fed by real sensors -----------------------------------------

def replay(c, cap, name, uuid):
    s = Sensor(c, "%s:name=%s,uuid=%s,realtime=false" % (cap, name, uuid), extra=["--disable-retry"])
    assert s.run(timeout=60) == 0, s.out


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    c = Collector(tmp_path_factory.mktemp("kismet-rest")).start()
    replay(c, HANDSHAKES, "hs", UUID_A)
    replay(c, OTHER, "assoc", UUID_B)
    rc, body = c.http.request("POST", "/gps/meta/van/update.cmd", user="admin", password=c.password,
                              data=json.dumps({"lat": 52.5, "lon": 13.25, "alt": 40}),
                              content_type="application/json")
    assert rc == 200, body
    time.sleep(1.5)  # a tick of the rings
    yield c
    c.stop()


def call(c, method, path, data=None, max_time=20):
    if method == "POST" and data is None:
        data = "{}"
    return c.http.request(method, path, user="admin", password=c.password, data=data,
                          content_type="application/json" if data is not None else None, max_time=max_time)


def parse(body, fmt):
    """The answer as JSON values: the value (json), or the lines (itjson, ekjson)."""
    if fmt == "json":
        return json.loads(body)
    return [json.loads(l) for l in body.decode().splitlines() if l.strip()]


def first_record(value):
    if isinstance(value, list):
        assert value, "an empty list"
        return value[0]
    return value


def has_fields(record, fields, fmt):
    names = [f.replace(".", "_") if fmt == "ekjson" else f for f in fields]
    missing = [n for n in names if n not in record]
    assert not missing, "missing %s in %s" % (missing, sorted(record)[:40])


def test_packet_and_channel_rings_count_what_arrived(fed):
    # First of the tests on the fed collector: every packet is still within
    # the last minute.
    packets = sum(s["kismet.datasource.num_packets"] for s in fed.get("/datasource/all_sources.json"))
    ring = fed.get("/packetchain/packet_rate.json")
    assert len(ring["kismet.common.rrd.minute_vec"]) == 60 and len(ring["kismet.common.rrd.hour_vec"]) == 60
    assert len(ring["kismet.common.rrd.day_vec"]) == 24
    assert ring["kismet.common.rrd.serial_time"] >= ring["kismet.common.rrd.last_time"] > 0
    # Within the last minute: every packet is in the second ring.
    assert sum(ring["kismet.common.rrd.minute_vec"]) == packets
    stats = fed.get("/packetchain/packet_stats.json")
    assert sum(stats["kismet.packetchain.processed_packets_rrd"]["kismet.common.rrd.minute_vec"]) == packets
    assert max(stats["kismet.packetchain.peak_packets_rrd"]["kismet.common.rrd.hour_vec"]) > 0
    assert sum(stats["kismet.packetchain.dupe_packets_rrd"]["kismet.common.rrd.minute_vec"]) == 0
    channels = fed.get("/channels/channels.json")
    six = channels["kismet.channeltracker.channel_map"]["6"]
    assert six["kismet.channelrec.channel"] == "6" and six["kismet.channelrec.frequency"] == 2437000
    assert sum(six["kismet.channelrec.packets_rrd"]["kismet.common.rrd.minute_vec"]) > 0
    assert "2437000" in channels["kismet.channeltracker.frequency_map"]
    assert six["kismet.channelrec.signal"]["kismet.common.signal.type"] == "dbm"


RRD = ["kismet.common.rrd.last_time", "kismet.common.rrd.serial_time", "kismet.common.rrd.last_value",
       "kismet.common.rrd.last_value_n1", "kismet.common.rrd.minute_vec", "kismet.common.rrd.hour_vec",
       "kismet.common.rrd.day_vec", "kismet.common.rrd.blank_val"]
DEVICE = ["kismet.device.base.key", "kismet.device.base.macaddr", "kismet.device.base.phyname",
          "kismet.device.base.type", "kismet.device.base.first_time", "kismet.device.base.last_time",
          "kismet.device.base.packets.total", "kismet.device.base.signal", "kismet.device.base.seenby"]
LOCATION = ["kismet.common.location.geopoint", "kismet.common.location.alt", "kismet.common.location.fix",
            "kismet.common.location.time_sec", "kismet.common.location.time_usec"]

# What each route marked "same" must answer: the Kismet fields of a record
# (the first of a list), the body it is sent, placeholder values of its own.
SAME = {
    "/system/timestamp.FMT": {"fields": ["kismet.system.timestamp.sec", "kismet.system.timestamp.usec"]},
    "/packetchain/packet_stats.FMT": {"fields": ["kismet.packetchain.%s_packets_rrd" % n for n in
                                                 ("peak", "error", "dupe", "queued", "dropped", "processed")] +
                                      ["kismet.packetchain.packets_rrd"]},
    "/packetchain/packet_rate.FMT": {"fields": RRD},
    "/packetchain/packet_processed.FMT": {"fields": RRD},
    "/packetchain/packet_error.FMT": {"fields": RRD},
    "/packetchain/packet_drop.FMT": {"fields": RRD},
    "/packetchain/packet_peak.FMT": {"fields": RRD},
    "/devices/views/all_views.FMT": {"fields": ["kismet.devices.view.id", "kismet.devices.view.description",
                                                "kismet.devices.view.size", "kismet.devices.view.indexed"]},
    "/devices/multimac/devices.FMT": {"fields": DEVICE, "body": {"devices": [AP_MAC]}},
    "/devices/multikey/devices.FMT": {"fields": DEVICE, "body": {"devices": [key(AP_MAC), key(CLIENT_MAC)]}},
    "/devices/multikey/as-object/devices.FMT": {"by_key": key(AP_MAC), "fields": DEVICE,
                                                "body": {"devices": [key(AP_MAC)]}},
    "/devices/all_devices.ekjson": {"fields": DEVICE},
    "/devices/all_devices.itjson": {"fields": DEVICE},
    "/devices/by-key/:key/device.FMT": {"fields": DEVICE},
    "/devices/by-mac/:mac/devices.FMT": {"fields": DEVICE},
    "/devices/by-key/:key/set_name.cmd": {"text": "Device name set", "body": {"username": "hs ap"}},
    "/devices/by-key/:key/set_tag.cmd": {"text": "Device tag set", "body": {"tagname": "floor", "tagvalue": "2"}},
    "/devices/pcap/by-key/:key/packets.pcapng": {"pcapng": True},
    "/phy/all_phys.FMT": {"fields": ["kismet.phy.phy_name", "kismet.phy.phy_id", "kismet.phy.device_count",
                                     "kismet.phy.packet_count"]},
    "/datasource/types.FMT": {"fields": ["kismet.datasource.driver.type", "kismet.datasource.driver.description",
                                         "kismet.datasource.driver.remote_capable",
                                         "kismet.datasource.driver.tuning_capable",
                                         "kismet.datasource_driver.hop_capable"]},
    "/datasource/defaults.FMT": {"fields": ["kismet.datasourcetracker.default.hop_rate",
                                            "kismet.datasourcetracker.default.hop",
                                            "kismet.datasourcetracker.default.split",
                                            "kismet.datasourcetracker.default.random_order",
                                            "kismet.datasourcetracker.default.retry_on_error",
                                            "kismet.datasourcetracker.default.remote_cap_listen",
                                            "kismet.datasourcetracker.default.remote_cap_port",
                                            "kismet.datasourcetracker.default.remote_cap_timestamp"]},
    "/datasource/by-uuid/:uuid/pause_source.cmd": {"pause": True},
    "/datasource/by-uuid/:uuid/resume_source.cmd": {"pause": True},
    "/pcap/all_packets.pcapng": {"pcapng": True},
    "/datasource/pcap/by-uuid/:uuid/packets.pcapng": {"pcapng": True},
    "/gps/drivers.FMT": {"fields": ["kismet.gps.type.class", "kismet.gps.type.description",
                                    "kismet.gps.type.priority", "kismet.gps.type.default_name",
                                    "kismet.gps.type.singleton"]},
    "/gps/all_gps.FMT": {"fields": ["kismet.gps.name", "kismet.gps.description", "kismet.gps.uuid",
                                    "kismet.gps.definition", "kismet.gps.connected", "kismet.gps.location"]},
    "/gps/location.FMT": {"fields": LOCATION + ["kismet.common.location.gps_uuid"]},
    "/gps/by-uuid/:uuid/location.FMT": {"fields": LOCATION, "gps": True},
    "/gps/all_locations.FMT": {"by_gps": True, "fields": LOCATION},
    "/channels/channels.FMT": {"fields": ["kismet.channeltracker.channel_map",
                                          "kismet.channeltracker.frequency_map"]},
    "/phy/phy80211/clients-of/:key/clients.FMT": {"fields": DEVICE},
    "/phy/phy80211/related-to/:key/devices.FMT": {"fields": DEVICE},
    "/phy/phy80211/by-key/:key/device/:device/pcap/handshake.pcap": {"pcap": True},
    "/phy/phy80211/by-key/:key/pcap/handshake-pmkid.pcap": {"pcap": True, "key": key(PMKID_AP_MAC)},
    "/phy/phy80211/ssids/views/ssids.FMT": {"fields": [
        "dot11.ssidgroup.hash", "dot11.ssidgroup.ssid", "dot11.ssidgroup.ssid_len", "dot11.ssidgroup.crypt_set",
        "dot11.ssidgroup.crypt_string", "dot11.ssidgroup.first_time", "dot11.ssidgroup.last_time",
        "dot11.ssidgroup.advertising_devices", "dot11.ssidgroup.responding_devices",
        "dot11.ssidgroup.probing_devices", "dot11.ssidgroup.advertising_devices_len",
        "dot11.ssidgroup.responding_devices_len", "dot11.ssidgroup.probing_devices_len"]},
    "/phy/phy80211/ssids/by-hash/:hash/ssid.FMT": {"fields": ["dot11.ssidgroup.hash", "dot11.ssidgroup.ssid",
                                                               "dot11.ssidgroup.responding_devices"]},
    "/session/check_session": {"status_only": True},
    # The alert routes' fields are checked against real attacks in test_alerts.py.
    "/alerts/last-time/:timestamp/alerts.FMT": {"status_only": True},
    "/alerts/definitions/define_alert.cmd": {"status_only": True, "body": {
        "name": "KRESTCHECK", "description": "defined by test_kismet_rest", "class": "SYSTEM", "severity": 5,
        "throttle": "10/min", "burst": "1/sec"}},
    "/auth/apikey/revoke.cmd": {"revoke": True},
}


def fill(path, c, spec):
    values = {"{uuid}": UUID_A, "{key}": spec.get("key", key(AP_MAC)), "{device}": key(CLIENT_MAC),
              "{mac}": AP_MAC, "{ts}": "0"}
    if "{hash}" in path:
        groups = c.get("/phy/phy80211/ssids/views/ssids.json")
        values["{hash}"] = str(next(g for g in groups if g["dot11.ssidgroup.responding_devices"])
                               ["dot11.ssidgroup.hash"])
    if spec.get("gps"):
        values["{uuid}"] = next(g for g in c.get("/gps/all_gps.json") if g["kismet.gps.name"] == "van")["kismet.gps.uuid"]
    for k, v in values.items():
        path = path.replace(k, v)
    assert "{" not in path, path
    return path


def exercise(c, method, path, spec):
    """Calls one route once and checks its answer against `spec`."""
    fmt = path.rsplit(".", 1)[-1]
    if spec.get("pause"):
        # Pause and resume both, so the source is as it was.
        base = path.rsplit("/", 1)[0]
        for cmd, paused in (("pause_source", True), ("resume_source", False)):
            rc, body = call(c, method, "%s/%s.cmd" % (base, cmd))
            assert rc == 200, (cmd, rc, body)
            assert json.loads(body)["kismet.datasource.paused"] is paused
        return
    if spec.get("revoke"):
        name = "revoke-%s" % method
        rc, body = call(c, "POST", "/auth/apikey/generate.cmd",
                        json.dumps({"name": name, "role": "readonly", "duration": 0}))
        assert rc == 200, body
        rc, body = call(c, method, path, json.dumps({"name": name}))
        assert rc == 200, body
        return
    data = json.dumps(spec["body"]) if "body" in spec else None
    if path.startswith("/gps/"):
        # A virtual GPS is connected while it is fed.
        rc, body = call(c, "POST", "/gps/meta/van/update.cmd", json.dumps({"lat": 52.5, "lon": 13.25, "alt": 40}))
        assert rc == 200, body
    if spec.get("pcapng"):
        rc, body = call(c, method, path, max_time=2)
        assert rc == 200 and body[:4] == b"\x0a\x0d\x0d\x0a", (rc, body[:16])
        return
    rc, body = call(c, method, path, data)
    assert rc == 200, (rc, body[:300])
    if spec.get("status_only"):
        return
    if spec.get("text"):
        assert body.decode().strip() == spec["text"]
        return
    if spec.get("pcap"):
        assert body[:4] == b"\xd4\xc3\xb2\xa1" and len(body) > 24, body[:24]
        return
    value = parse(body, fmt)
    record = first_record(value)
    if spec.get("by_key"):
        k = spec["by_key"]
        record = record[k]
    if spec.get("by_gps"):
        record = next(iter(record.values()))
    has_fields(record, spec["fields"], fmt)


def test_every_same_route_answers_with_kismets_fields(fed):
    same = [(k, m, here) for k, m, status, here, _ in kismet_table() if status == "same"]
    assert same
    unchecked = sorted(k for k, _, _ in same if k not in SAME)
    assert not unchecked, "routes marked same with no check here: %s" % unchecked
    problems = []
    calls = 0
    for kismet, methods, here in same:
        spec = SAME[kismet]
        for only, pattern in here:
            for p in expand(pattern):
                for m in only or methods:
                    calls += 1
                    try:
                        exercise(fed, m, fill(p, fed, spec), spec)
                    except AssertionError as e:
                        problems.append("%s %s: %s" % (m, p, str(e)[:400]))
    assert not problems, "\n".join(problems)
    assert calls > 100


def test_ws_routes_upgrade(fed):
    # The WebSocket routes the table names answer the upgrade.
    for path in ("/eventbus/events.ws", "/devices/monitor.ws"):
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1",
                              "-u", "admin:" + fed.password, "-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
                              "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                              fed.http.base + path], capture_output=True, text=True).stdout
        assert out.strip()[-3:] == "101", (path, out)


# ---- What is ours to get right ------------------------------------------------

def test_each_source_view_holds_only_what_that_source_heard(fed):
    views = {v["kismet.devices.view.id"]: v for v in fed.get("/devices/views/all_views.json")}
    total = len(fed.get("/devices/views/all/devices.json"))
    assert views["all"]["kismet.devices.view.size"] == total
    assert views["phy-IEEE802.11"]["kismet.devices.view.size"] == total
    union = set()
    for uuid in (UUID_A, UUID_B):
        view = "seenby-" + uuid
        assert view in views, sorted(views)
        devices = fed.get("/devices/views/%s/devices.json" % view)
        assert devices and len(devices) == views[view]["kismet.devices.view.size"]
        for d in devices:
            assert uuid in {s["kismet.common.seenby.uuid"] for s in d["kismet.device.base.seenby"]}, \
                d["kismet.device.base.macaddr"]
        union |= {d["kismet.device.base.key"] for d in devices}
        # The view's UUID in Kismet's upper case names the same view.
        assert len(fed.get("/devices/views/seenby-%s/devices.json" % uuid.upper())) == len(devices)
    assert len(union) == total
    a = {d["kismet.device.base.key"] for d in fed.get("/devices/views/seenby-%s/devices.json" % UUID_A)}
    b = {d["kismet.device.base.key"] for d in fed.get("/devices/views/seenby-%s/devices.json" % UUID_B)}
    assert a - b and b - a, "two captures, two different views"
    rc, body = call(fed, "GET", "/devices/views/seenby-%s/devices.json" % "8c9f1a2e-1111-4222-8333-444455556666")
    assert rc == 404 and b"all_views" in body
    # The view's poll: a plain list, here everything (TS 0) and nothing from the future.
    assert len(fed.get("/devices/views/seenby-%s/last-time/0/devices.json" % UUID_A)) == len(a)
    assert fed.get("/devices/views/all/last-time/%d.5/devices.json" % (time.time() + 60)) == []
    aps = fed.get("/devices/views/phydot11_accesspoints/last-time/-3600/devices.json")
    assert aps and all(d["kismet.device.base.type"] == "Wi-Fi AP" for d in aps)


def test_handshakes_come_from_the_packet_log(fed, tmp_path):
    def eapol(path):
        rc, body = call(fed, "GET", path)
        assert rc == 200, body[:200]
        f = tmp_path / "h.pcap"
        f.write_bytes(body)
        out = subprocess.run(["tshark", "-r", str(f), "-Y", "eapol", "-T", "fields", "-e", "wlan.sa", "-e", "wlan.da"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        return [l for l in out if l]
    pair = eapol("/phy/phy80211/by-key/%s/device/%s/pcap/handshake.pcap" % (key(AP_MAC), key(CLIENT_MAC)))
    assert len(pair) == 22
    assert all(CLIENT_MAC.lower() in l for l in pair)
    assert len(eapol("/phy/phy80211/by-key/%s/pcap/handshake.pcap" % key(AP_MAC))) == 31
    assert len(eapol("/phy/phy80211/by-key/%s/pcap/handshake-pmkid.pcap" % key(PMKID_AP_MAC))) == 1
    rc, headers, _ = fed.http.request_full("GET", "/phy/phy80211/by-key/%s/pcap/handshake-pmkid.pcap" % key(PMKID_AP_MAC),
                                           user="admin", password=fed.password)
    assert rc == 200 and "pmkid.pcap" in headers.get("content-disposition", "")
    rc, _ = call(fed, "GET", "/phy/phy80211/by-key/%s/pcap/handshake-pmkid.pcap" % key("00:11:22:33:44:55"))
    assert rc == 404


def test_a_paused_source_keeps_its_link_and_its_packets_are_set_aside(fed):
    before = {d["kismet.device.base.key"]: d["kismet.device.base.packets.total"]
              for d in fed.get("/devices/views/seenby-%s/devices.json" % UUID_B)}
    rc, body = call(fed, "POST", "/datasource/by-uuid/%s/pause_source.cmd" % UUID_B)
    assert rc == 200 and json.loads(body)["kismet.datasource.paused"] is True
    rc, body = call(fed, "POST", "/datasource/by-uuid/%s/pause_source.cmd" % UUID_B)
    assert rc == 409 and b"already paused" in body
    try:
        replay(fed, OTHER, "assoc", UUID_B)  # the sensor's batches are all acknowledged: rc 0
        src = fed.get("/datasource/by-uuid/%s/source.json" % UUID_B)
        assert src["hopwire.datasource.set_aside"] > 0
        after = {d["kismet.device.base.key"]: d["kismet.device.base.packets.total"]
                 for d in fed.get("/devices/views/seenby-%s/devices.json" % UUID_B)}
        assert after == before
    finally:
        rc, body = call(fed, "GET", "/datasource/by-uuid/%s/resume_source.cmd" % UUID_B)
        assert rc == 200, body
    rc, body = call(fed, "POST", "/datasource/by-uuid/%s/resume_source.cmd" % UUID_B)
    assert rc == 409


def test_what_a_remote_sensor_cannot_do_is_refused_with_the_reason(fed):
    for cmd in ("open_source", "close_source", "disable_source"):
        rc, body = call(fed, "POST", "/datasource/by-uuid/%s/%s.cmd" % (UUID_A, cmd))
        assert rc == 409 and b"proto/hopwire.fbs" in body, (cmd, body)
    rc, body = call(fed, "POST", "/datasource/add_source.cmd", json.dumps({"definition": "wlan0"}))
    assert rc == 409 and b"connecting" in body
    rc, _ = call(fed, "POST", "/datasource/by-uuid/8c9f1a2e-1111-4222-8333-444455556666/close_source.cmd")
    assert rc == 404


def test_list_routes_take_kismets_post_command(fed):
    rc, body = call(fed, "POST", "/datasource/types.json",
                    json.dumps({"fields": ["kismet.datasource.driver.type"], "start": 1, "length": 1}))
    assert rc == 200 and json.loads(body) == [{"kismet.datasource.driver.type": "pcapfile"}]
    rc, body = call(fed, "POST", "/phy/phy80211/ssids/views/ssids.ekjson",
                    json.dumps({"regex": [["dot11.ssidgroup.ssid", "^Smile"]], "fields": ["dot11.ssidgroup.ssid"]}))
    assert rc == 200
    assert [json.loads(l) for l in body.decode().splitlines()] == [{"dot11_ssidgroup_ssid": "Smile)"}]
    rc, body = call(fed, "POST", "/devices/multikey/devices.json", json.dumps({"devices": ["not-a-key"]}))
    assert rc == 400 and b"device key" in body


def test_names_and_tags_survive_a_restart(tmp_path):
    c = Collector(tmp_path).start()
    try:
        replay(c, HANDSHAKES, "hs", UUID_A)
        path = "/devices/by-key/%s/" % key(AP_MAC)
        assert call(c, "POST", path + "set_name.cmd", json.dumps({"username": "lobby"}))[0] == 200
        assert call(c, "POST", path + "set_tag.cmd", json.dumps({"tagname": "floor", "tagvalue": "3"}))[0] == 200
        assert call(c, "POST", path + "set_tag.cmd", json.dumps({"tagname": "owner", "tagvalue": "it"}))[0] == 200
        assert call(c, "POST", path + "set_tag.cmd", json.dumps({"tagname": "owner", "tagvalue": ""}))[0] == 200
        rc, body = call(c, "POST", "/devices/by-key/%s/set_name.cmd" % key("00:11:22:33:44:55"),
                        json.dumps({"username": "x"}))
        assert rc == 404
        rc, body = call(c, "POST", path + "set_name.cmd", json.dumps({"name": "wrong key"}))
        assert rc == 400 and b"username" in body
        c.stop()
        c.start()
        d = c.get(path + "device.json")
        assert d["kismet.device.base.username"] == "lobby"
        assert d["kismet.device.base.tags"] == {"floor": "3"}
        other = c.get("/devices/by-key/%s/device.json" % key(CLIENT_MAC))
        assert "kismet.device.base.username" not in other and "kismet.device.base.tags" not in other
    finally:
        c.stop()

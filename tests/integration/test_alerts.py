"""Alerts through the real sensor and collector.

One capture per attack is crafted with python3-scapy
(tests/tools/make_attack_captures.py), and two sensors replay each one at
the same time into a collector configured by a YAML file (known networks, a
canary, a watch list). Kismet's REST routes must then answer each alert once
— the rate limits and the merge window fold what both sensors heard into
one — with Kismet's fields and a seenby that names both sensors. Also: the
last-time, wrapped and by-id routes, definitions, scripts defining, raising
and acknowledging their own alerts, the watch list, a restart, the false
alerts of every capture in tests/data (tests/data/expected_alerts.json), and
webhooks and syslog to real servers on 127.0.0.1.
"""
import hashlib
import hmac
import http.server
import json
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from conftest import CAPTURES, DATA, TOOLS, Collector, Sensor, free_port

WATCHED = "02:00:00:00:14:02"

ATTACK_CONFIG = """
alerts:
  definitions:
    NONCEREUSE: {enabled: true, rate: 5/min, burst: 1/sec}
    NONCEDEGRADE: {enabled: true, rate: 5/min, burst: 1/sec}
    DEAUTHCODEINVALID: {enabled: true, rate: 5/min, burst: 1/sec}
    OVERPOWERED: {enabled: true, rate: 5/min, burst: 1/sec}
  canaries:
    - {name: honeypot, ssid: FreeAirportWiFi}
  watch:
    - {mac: "%s", type: both}
  lost_timeout: 3s
  merge_window: 60s     # generous: both sensors of a capture fold into one alert on a slow machine too
known_networks:
  - name: corporate
    ssid: CorpNet
    bssids: ["00:11:22:33:44:55"]
    ouis: ["00:11:22"]
    encryption: [wpa2, wpa3]
    channels: [1, 6, 11]
""" % WATCHED

# Kismet's class and severity of each alert the attacks raise.
KISMET = {
    "DEAUTHFLOOD": ("DENIAL", 10), "BCASTDISCON": ("DENIAL", 10), "DISCONCODEINVALID": ("EXPLOIT", 15),
    "DEAUTHCODEINVALID": ("EXPLOIT", 15), "APSPOOF": ("SPOOF", 15), "SSIDCANARY": ("SPOOF", 15),
    "CHANCHANGE": ("SPOOF", 5), "PROBECHAN": ("SPOOF", 10), "CRYPTODROP": ("SPOOF", 15),
    "ADVCRYPTCHANGE": ("SPOOF", 15), "BSSTIMESTAMP": ("SPOOF", 10), "BEACONRATE": ("SPOOF", 15),
    "KARMAOUI": ("PROBE", 10), "NULLPROBERESP": ("DENIAL", 10), "LONGSSID": ("EXPLOIT", 20),
    "MALFORMMGMT": ("EXPLOIT", 10), "NOCLIENTMFP": ("SPOOF", 5), "NONCEDEGRADE": ("EXPLOIT", 10),
    "NONCEREUSE": ("EXPLOIT", 15), "WPSBRUTE": ("EXPLOIT", 20), "OVERPOWERED": ("OTHER", 15),
    "DEVICEFOUND": ("SYSTEM", 15), "DEVICELOST": ("SYSTEM", 15),
}


def kismet_adler32(data):
    """Kismet's own checksum (util.cc): not zlib's Adler-32."""
    if len(data) < 4:
        return 0
    a = b = 0
    for c in data:
        a = (a + c) & 0xFFFFFFFF
        b = (b + a) & 0xFFFFFFFF
    return ((a & 0xFFFF) + (b << 16)) & 0xFFFFFFFF


def kismet_hash(alert):
    ts = repr(float(alert["kismet.alert.timestamp"]))
    if ts.endswith(".0"):
        ts = ts[:-2]  # fmt's "{}" prints an integral double without ".0"
    s = "%s %d %d %s %s %s %s %s %s" % (
        alert["kismet.alert.header"], alert["kismet.alert.severity"], alert["kismet.alert.phy_id"], ts,
        alert["kismet.alert.transmitter_mac"], alert["kismet.alert.source_mac"], alert["kismet.alert.dest_mac"],
        alert["kismet.alert.other_mac"], alert["kismet.alert.channel"])
    return kismet_adler32(s.encode())


def seen_names(alert):
    return {s["hopwire.alert.seenby.name"] for s in alert["hopwire.alert.seenby"]}


def post(c, path, body):
    return c.http.request("POST", path, user="admin", password=c.password, data=json.dumps(body),
                          content_type="application/json")


def replay_pair(c, capture, name, timeout=90):
    """Two sensors replay `capture` at the same time, as alpha-NAME and beta-NAME."""
    sensors = [Sensor(c, "%s:name=%s-%s,realtime=false" % (capture, side, name), extra=["--disable-retry"])
               for side in ("alpha", "beta")]
    for s in sensors:
        s.start()
    for s in sensors:
        assert s.wait(timeout) == 0, s.out


def eventually(fn, timeout=20.0, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@pytest.fixture(scope="module")
def attacks(tmp_path_factory):
    out = tmp_path_factory.mktemp("attack-captures")
    subprocess.run([sys.executable, str(TOOLS / "make_attack_captures.py"), str(out)], check=True,
                   capture_output=True)
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, attacks):
    work = tmp_path_factory.mktemp("alerts")
    cfg = work / "collector.yaml"
    cfg.write_text(ATTACK_CONFIG)
    c = Collector(work, extra_args=["--config", str(cfg)]).start()
    t_before = time.time()
    for name, info in attacks.items():
        replay_pair(c, info["file"], name)
    yield c, attacks, t_before
    c.stop()


def all_alerts(c):
    return c.get("/alerts/all_alerts.json")


def test_each_attack_raises_its_alert_once_naming_both_sensors(replayed):
    c, attacks, t_before = replayed
    alerts = all_alerts(c)
    for name, info in attacks.items():
        mine = [a for a in alerts if seen_names(a) & {"alpha-" + name, "beta-" + name}]
        got = sorted((a["kismet.alert.header"], a["kismet.alert.transmitter_mac"]) for a in mine)
        want = sorted((e["header"], e["transmitter"]) for e in info["alerts"])
        # Exactly the attack's alerts, each once: both sensors' detections
        # folded into one, nothing else raised by the capture.
        assert got == want, "%s: raised %s, expected %s" % (name, got, want)
        for a in mine:
            header = a["kismet.alert.header"]
            assert seen_names(a) == {"alpha-" + name, "beta-" + name}, (name, a["hopwire.alert.seenby"])
            for s in a["hopwire.alert.seenby"]:
                assert s["hopwire.alert.seenby.packets"] >= 1, (name, s)
                assert s["hopwire.alert.seenby.uuid"], (name, s)
                assert s["hopwire.alert.seenby.signal"]["kismet.common.signal.last_signal"] == \
                    (-5 if name == "overpowered" else -40), (name, s)
            assert (a["kismet.alert.class"], a["kismet.alert.severity"]) == KISMET[header], (name, a)
            # Kismet's phy ids: 802.11 registers first (0); SYSTEM alerts carry "any" (-1).
            assert a["kismet.alert.phy_id"] == (4294967295 if KISMET[header][0] == "SYSTEM" else 0), (name, a)
            assert a["kismet.alert.timestamp"] >= t_before - 1
            assert a["kismet.alert.hash"] == kismet_hash(a), (name, a)
            assert a["kismet.alert.text"], name
            assert a["kismet.alert.channel"] == {"chanchange": "11"}.get(name, "6"), (name, a["kismet.alert.channel"])
            assert a["kismet.alert.frequency"] == (2462000.0 if name == "chanchange" else 2437000.0), (name, a)
            assert a["hopwire.alert.count"] >= 2, (name, a)  # one per sensor at least
            assert a["hopwire.alert.acknowledged"] is False
            key = a["kismet.alert.device_key"]
            assert key == "00_0" or (key.startswith("4202770D00000000_") and len(key) == 33), key


def test_the_fields_say_what_happened(replayed):
    c, _, _ = replayed
    by_header = {a["kismet.alert.header"]: a for a in all_alerts(c)}
    flood = by_header["DEAUTHFLOOD"]
    assert flood["kismet.alert.transmitter_mac"] == "02:00:00:00:01:01"
    assert "02:00:00:00:01:01" in flood["kismet.alert.text"]
    assert flood["kismet.alert.device_key"] == "4202770D00000000_0000020000000101"
    spoof = by_header["APSPOOF"]
    assert "CorpNet" in spoof["kismet.alert.text"] and "corporate" in spoof["kismet.alert.text"]
    assert spoof["kismet.alert.source_mac"] == "02:00:00:00:03:01"
    drop = by_header["CRYPTODROP"]
    assert "to Open" in drop["kismet.alert.text"]
    nonce = by_header["NONCEREUSE"]
    assert "0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20" in nonce["kismet.alert.text"]
    assert nonce["kismet.alert.other_mac"] == "02:00:00:00:09:02"
    found = by_header["DEVICEFOUND"]
    assert found["kismet.alert.source_mac"] == WATCHED
    assert WATCHED.upper() in found["kismet.alert.text"]
    canary = by_header["SSIDCANARY"]
    assert "honeypot" in canary["kismet.alert.text"]


def test_last_time_answers_what_came_after_the_time(replayed):
    c, attacks, t_before = replayed
    everything = all_alerts(c)
    after = c.get("/alerts/last-time/%.6f/alerts.json" % t_before)
    assert isinstance(after, list)  # Kismet's unwrapped route is a bare list
    assert {a["hopwire.alert.id"] for a in after} >= {
        a["hopwire.alert.id"] for a in everything if a["kismet.alert.header"] != "DEVICELOST"}
    newest = max(a["kismet.alert.timestamp"] for a in everything)
    assert c.get("/alerts/last-time/%.6f/alerts.json" % newest) == []  # strictly after
    wrapped = c.get("/alerts/wrapped/last-time/%.6f/alerts.json" % t_before)
    assert set(wrapped) == {"kismet.alert.timestamp", "kismet.alert.list"}
    assert wrapped["kismet.alert.timestamp"] >= newest
    assert len(wrapped["kismet.alert.list"]) >= len(after)
    lines = c.http.request("GET", "/alerts/last-time/%.6f/alerts.itjson" % t_before, user="admin",
                           password=c.password)[1].decode().splitlines()
    assert len(lines) >= len(after) and json.loads(lines[0])["kismet.alert.header"]
    status, _ = c.http.request("GET", "/alerts/last-time/yesterday/alerts.json", user="admin", password=c.password)
    assert status == 400


def test_by_id_takes_our_id_or_kismets_hash(replayed):
    c, _, _ = replayed
    a = all_alerts(c)[0]
    assert c.get("/alerts/by-id/%d/alert.json" % a["hopwire.alert.id"]) == a
    assert c.get("/alerts/by-id/%d/alert.json" % a["kismet.alert.hash"])["hopwire.alert.id"] == a["hopwire.alert.id"]
    status, body = c.http.request("GET", "/alerts/by-id/999999999/alert.json", user="admin", password=c.password)
    assert status == 404 and json.loads(body) == {}


def test_definitions_show_kismets_limits_and_the_configured_ones(replayed):
    c, _, _ = replayed
    defs = {d["kismet.alert.definition.header"]: d for d in c.get("/alerts/definitions.json")}
    flood = defs["DEAUTHFLOOD"]
    assert (flood["kismet.alert.definition.limit_rate"], flood["kismet.alert.definition.limit_unit"],
            flood["kismet.alert.definition.limit_burst"], flood["kismet.alert.definition.burst_unit"]) == (5, 1, 2, 0)
    assert flood["kismet.alert.definition.class"] == "DENIAL"
    assert flood["kismet.alert.definition.total_sent"] >= 1
    assert defs["NONCEREUSE"]["kismet.alert.definition.limit_rate"] == 5  # configured (Kismet: 0/min)
    assert defs["NOCLIENTMFP"]["kismet.alert.definition.limit_rate"] == 10
    assert set(KISMET) <= set(defs)


def test_a_watched_device_is_lost_after_the_timeout(replayed):
    c, _, _ = replayed
    lost = eventually(lambda: [a for a in all_alerts(c) if a["kismet.alert.header"] == "DEVICELOST"], timeout=30)
    assert len(lost) == 1, lost
    assert lost[0]["kismet.alert.source_mac"] == WATCHED
    assert "has not been seen" in lost[0]["kismet.alert.text"]


def test_replays_that_end_cleanly_raise_no_sensor_alerts(replayed):
    c, _, _ = replayed
    system = [a["kismet.alert.header"] for a in all_alerts(c)
              if a["kismet.alert.header"] in ("SENSORLOST", "SOURCEERROR")]
    assert system == []


def test_scripts_define_raise_and_acknowledge_alerts(replayed):
    c, _, _ = replayed
    define = {"name": "SCRIPTED", "description": "a script's own", "class": "OTHER", "severity": 5,
              "throttle": "2/min", "burst": "1/sec"}
    status, body = post(c, "/alerts/definitions/define_alert.cmd", define)
    assert status == 200, body
    status, body = post(c, "/alerts/definitions/define_alert.cmd", define)
    assert status == 503, body  # Kismet: "Could not define alert"
    status, body = post(c, "/alerts/definitions/define_alert.cmd", dict(define, name="BADSEV", severity=7))
    assert status == 400, body
    status, body = post(c, "/alerts/definitions/define_alert.cmd",
                        {k: v for k, v in define.items() if k != "burst"} | {"name": "NOBURST"})
    assert status == 400 and b"burst: expected a rate" in body, body
    raise_cmd = {"name": "SCRIPTED", "text": "door opened", "bssid": "AA:BB:CC:DD:EE:FF", "channel": "11"}
    status, body = post(c, "/alerts/raise_alerts.cmd", raise_cmd)
    assert status == 200 and b"Alert raised" in body, body
    status, body = post(c, "/alerts/raise_alert.cmd", raise_cmd)
    assert status == 400 and b"throttle" in body, body  # 1/sec
    # Kismet's burst restarts once the last send is older than the current
    # whole second minus one: up to two seconds later.
    time.sleep(2.1)
    status, body = post(c, "/alerts/raise_alert.cmd", raise_cmd)
    assert status == 200, body
    time.sleep(2.1)
    status, body = post(c, "/alerts/raise_alert.cmd", raise_cmd)
    assert status == 400 and b"throttle" in body, body  # 2/min
    status, body = post(c, "/alerts/raise_alert.cmd", {"name": "NOSUCHALERT", "text": "x"})
    assert status == 400 and b"Unknown alert type" in body
    status, body = post(c, "/alerts/raise_alert.cmd", dict(raise_cmd, bssid="not-a-mac"))
    assert status == 400 and b"invalid MAC" in body
    mine = [a for a in all_alerts(c) if a["kismet.alert.header"] == "SCRIPTED"]
    assert len(mine) == 2
    a = mine[0]
    assert a["kismet.alert.text"] == "door opened"
    assert a["kismet.alert.transmitter_mac"] == "AA:BB:CC:DD:EE:FF"
    assert a["kismet.alert.channel"] == "11"
    assert a["kismet.alert.class"] == "OTHER"
    status, body = post(c, "/alerts/by-id/%d/acknowledge.cmd" % a["hopwire.alert.id"], {})
    assert status == 200, body
    acked = c.get("/alerts/by-id/%d/alert.json" % a["hopwire.alert.id"])
    assert acked["hopwire.alert.acknowledged"] is True
    assert acked["hopwire.alert.acknowledged_by"] == "admin"
    # Read-only users may look, not raise.
    token = c.token("readonly", "viewer")
    status, _ = c.http.request("POST", "/alerts/raise_alert.cmd", token=token, data=json.dumps(raise_cmd),
                               content_type="application/json")
    assert status in (401, 403)
    status, _ = c.http.request("GET", "/alerts/all_alerts.json", token=token)
    assert status == 200


def test_the_watch_list_over_rest(replayed):
    c, _, _ = replayed
    status, body = post(c, "/devices/alerts/mac/found/add.cmd",
                        {"macs": ["0A:0B:0C:0D:0E:0F", "66:55:44:00:00:00/FF:FF:FF:00:00:00"]})
    assert status == 200, body
    found = c.get("/devices/alerts/mac/found/macs.json")
    assert "0A:0B:0C:0D:0E:0F" in found and "66:55:44:00:00:00/FF:FF:FF:00:00:00" in found
    assert WATCHED.upper() in c.get("/devices/alerts/mac/lost/macs.json")  # from the YAML file
    status, body = post(c, "/devices/alerts/mac/found/remove.cmd", {"mac": "0A:0B:0C:0D:0E:0F"})
    assert status == 200, body
    assert "0A:0B:0C:0D:0E:0F" not in c.get("/devices/alerts/mac/found/macs.json")
    status, _ = post(c, "/devices/alerts/mac/sideways/add.cmd", {"mac": "0A:0B:0C:0D:0E:0F"})
    assert status == 400
    status, _ = post(c, "/devices/alerts/mac/found/add.cmd", {"mac": "nonsense"})
    assert status == 400


def test_alerts_and_the_watch_list_survive_a_restart(tmp_path, attacks):
    c = Collector(tmp_path).start()
    try:
        replay_pair(c, attacks["deauthflood"]["file"], "deauthflood")
        before = all_alerts(c)
        assert [a["kismet.alert.header"] for a in before] == ["DEAUTHFLOOD"]
        status, body = post(c, "/alerts/by-id/%d/acknowledge.cmd" % before[0]["hopwire.alert.id"], {})
        assert status == 200, body
        status, body = post(c, "/devices/alerts/mac/both/add.cmd", {"mac": "0A:0B:0C:0D:0E:0F"})
        assert status == 200, body
        time.sleep(2)  # one flush
        c.stop()
        c.start()
        after = all_alerts(c)
        assert [a["hopwire.alert.id"] for a in after] == [before[0]["hopwire.alert.id"]]
        assert after[0]["hopwire.alert.acknowledged"] is True
        assert seen_names(after[0]) == {"alpha-deauthflood", "beta-deauthflood"}
        assert "0A:0B:0C:0D:0E:0F" in c.get("/devices/alerts/mac/both/macs.json")
        replay_pair(c, attacks["bcastdiscon"]["file"], "bcastdiscon")
        newer = [a for a in all_alerts(c) if a["kismet.alert.header"] == "BCASTDISCON"]
        assert newer and newer[0]["hopwire.alert.id"] > before[0]["hopwire.alert.id"]
    finally:
        c.stop()


# ---------------------------------------------------------------------------
# False alerts: every capture in tests/data.

def false_alert_config():
    names = ["DEAUTHFLOOD", "BCASTDISCON", "DISCONCODEINVALID", "DEAUTHCODEINVALID", "APSPOOF", "SSIDCANARY",
             "CHANCHANGE", "PROBECHAN", "CRYPTODROP", "ADVCRYPTCHANGE", "BSSTIMESTAMP", "BEACONRATE", "KARMAOUI",
             "NULLPROBERESP", "LONGSSID", "MALFORMMGMT", "NOCLIENTMFP", "NONCEDEGRADE", "NONCEREUSE", "WPSBRUTE",
             "OVERPOWERED", "DEVICEFOUND", "DEVICELOST", "SOURCEERROR", "SENSORLOST", "STORAGEERROR"]
    lines = ["alerts:", "  definitions:"]
    lines += ["    %s: {enabled: true, rate: 1000/min, burst: 1000/sec}" % n for n in names]
    return "\n".join(lines) + "\n"


def test_false_alerts_every_capture_raises_only_what_it_contains(tmp_path):
    expected_doc = json.loads((DATA / "expected_alerts.json").read_text())
    expected = {}
    for capture, entries in expected_doc["captures"].items():
        for e in entries:
            assert len(e.get("why", "")) > 20, "%s: every expected alert needs its reason" % capture
            expected.setdefault(capture, set()).add((e["header"], e["transmitter"]))
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(false_alert_config())
    c = Collector(tmp_path, extra_args=["--config", str(cfg)]).start()
    try:
        for cap in CAPTURES:
            sensors = [Sensor(c, "%s:name=%s-%s,realtime=false" % (cap, cap.name, side), extra=["--disable-retry"])
                       for side in "ab"]
            for s in sensors:
                s.start()
            for s in sensors:
                assert s.wait(90) == 0, s.out
        raised = {}
        for a in all_alerts(c):
            for name in seen_names(a):
                capture = name[:-2]
                raised.setdefault(capture, set()).add((a["kismet.alert.header"], a["kismet.alert.transmitter_mac"]))
        names = {cap.name for cap in CAPTURES}
        for capture in sorted(names | set(raised) | set(expected)):
            got, want = raised.get(capture, set()), expected.get(capture, set())
            assert got == want, "%s: raised %s, expected %s (tests/data/expected_alerts.json)" % (
                capture, sorted(got - want), sorted(want - got))
    finally:
        c.stop()


# ---------------------------------------------------------------------------
# Outputs: webhooks and syslog, to real servers the test starts.

class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, statuses, tls=None):
        self.statuses = statuses
        self.requests = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    def got(self):
        with self.lock:
            return list(self.requests)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.requests.append((self.path, dict(self.headers), body))
            n = len(self.server.requests)
        status = self.server.statuses[min(n, len(self.server.statuses)) - 1]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def self_signed(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


def signature_ok(headers, body, secret):
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    got = {k.lower(): v for k, v in headers.items()}.get("x-hopwire-signature")
    return got == want


def test_webhooks_sign_retry_and_never_block_alerting(tmp_path, attacks):
    cert, key = self_signed(tmp_path)
    good = Receiver([200])
    flaky = Receiver([500, 500, 200])
    secure = Receiver([200], tls=(cert, key))
    dead = free_port()  # nothing listens here
    syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    syslog.bind(("127.0.0.1", 0))
    syslog.settimeout(10)
    cfg = tmp_path / "collector.yaml"
    cfg.write_text("""
alerts:
  outputs:
    syslog:
      - {target: "udp://127.0.0.1:%d", facility: local3}
    webhooks:
      - {url: "http://127.0.0.1:%d/good", secret: good-secret, backoff: 100ms}
      - {url: "http://127.0.0.1:%d/flaky", secret: flaky-secret, backoff: 100ms, attempts: 5}
      - {url: "https://127.0.0.1:%d/secure", secret: tls-secret, ca_file: "%s"}
      - {url: "http://127.0.0.1:%d/dead", backoff: 1s, attempts: 10, timeout: 2s}
""" % (syslog.getsockname()[1], good.port, flaky.port, secure.port, cert, dead))
    c = Collector(tmp_path, extra_args=["--config", str(cfg)]).start()
    try:
        replay_pair(c, attacks["deauthflood"]["file"], "deauthflood")
        status, body = post(c, "/alerts/definitions/define_alert.cmd",
                            {"name": "HOOKED", "class": "SYSTEM", "severity": 20, "throttle": "100/min",
                             "burst": "100/sec"})
        assert status == 200, body
        # Alerting stays quick while one receiver is dead.
        t0 = time.monotonic()
        for i in range(20):
            status, body = post(c, "/alerts/raise_alert.cmd", {"name": "HOOKED", "text": "n%d" % i})
            assert status == 200, body
        assert time.monotonic() - t0 < 10
        assert len([a for a in all_alerts(c) if a["kismet.alert.header"] == "HOOKED"]) == 20
        ids = {a["hopwire.alert.id"]: a for a in all_alerts(c)}

        assert eventually(lambda: len(good.got()) >= 21), len(good.got())
        for path, headers, body in good.got():
            assert path == "/good"
            assert signature_ok(headers, body, "good-secret"), headers
            sent = json.loads(body)
            assert sent["hopwire.alert.id"] in ids
            assert sent["kismet.alert.header"] == ids[sent["hopwire.alert.id"]]["kismet.alert.header"]
            assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/json"
        flood = [json.loads(b) for _, _, b in good.got() if json.loads(b)["kismet.alert.header"] == "DEAUTHFLOOD"]
        assert len(flood) == 1 and flood[0]["kismet.alert.transmitter_mac"] == "02:00:00:00:01:01"

        # The flaky receiver's first two answers are 500: the first alert is sent three times.
        assert eventually(lambda: len(flaky.got()) >= 23), len(flaky.got())
        first = flaky.got()[:3]
        assert first[0][2] == first[1][2] == first[2][2]
        assert all(signature_ok(h, b, "flaky-secret") for _, h, b in flaky.got())

        assert eventually(lambda: len(secure.got()) >= 21), len(secure.got())
        assert all(signature_ok(h, b, "tls-secret") for _, h, b in secure.got())

        message = syslog.recv(8192).decode()
        assert message.startswith("<%d>1 " % (19 * 8 + 4)), message  # local3, DEAUTHFLOOD severity 10: warning
        assert " DEAUTHFLOOD [hopwire@32473 " in message, message
        assert 'transmitter="02:00:00:00:01:01"' in message
    finally:
        c.stop()
        for r in (good, flaky, secure):
            r.shutdown()
        syslog.close()

"""Kismet's own capture tools as sensors (issue 17): kismet_cap_pcapfile from
../shared/kismet/bin replays every capture in tests/data into a collector
running with --kismet-sensors, over the WebSocket (a datasource token as
--apikey, which the tool puts in the URL) and over the legacy TCP port.
Every frame arrives, devices match the capture truth (test_truth's checks),
and a live pcap-ng stream reads back byte-identical frames. With the setting
off the tool is refused. Bad v3 input on raw sockets closes the link and is
counted, while a good sensor loses nothing (that test needs no Kismet tool).

Kismet's tools are GPL-2.0: run here as separate processes only."""
import json
import os
import pathlib
import signal
import socket
import struct
import subprocess
import time
import uuid as uuidlib

import pytest

import wire
from conftest import CAPTURES, SOURCE_DIR, Collector, Sensor, frame_count
from test_pcap import RADIOTAP, WIFITE, Stream, pcapng_structure, tshark_hashes
from test_tls import curl, make_ca, make_cert
from test_truth import DATA, compare

def _kismet_dir():
    """Kismet's tools: $HOPWIRE_KISMET_DIR, or shared/kismet beside the
    checkout or one of its parents (as hwsim.find_hwsim_vm looks)."""
    candidates = [os.environ.get("HOPWIRE_KISMET_DIR")]
    candidates += [p / "shared" / "kismet" for p in [SOURCE_DIR.resolve()] + list(SOURCE_DIR.resolve().parents)]
    candidates.append("/work/shared/kismet")
    for c in candidates:
        if c and (pathlib.Path(c) / "bin" / "kismet_cap_pcapfile").is_file():
            return pathlib.Path(c)
    return SOURCE_DIR.parent / "shared" / "kismet"


KISMET_DIR = _kismet_dir()
PCAPFILE = KISMET_DIR / "bin" / "kismet_cap_pcapfile"


def _tool_missing():
    if not PCAPFILE.exists():
        return "Kismet's capture tools are missing: %s does not exist (SOURCE_DIR/../shared/kismet)" % PCAPFILE
    res = subprocess.run(["ldd", str(PCAPFILE)], capture_output=True, text=True)
    missing = [line.split()[0] for line in res.stdout.splitlines() if "not found" in line]
    if missing:
        return "kismet_cap_pcapfile lacks run-time libraries: %s (Debian: libwebsockets17 ...)" % ", ".join(missing)
    return None


MISSING = _tool_missing()
needs_tool = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


class KismetTool:
    """One kismet_cap_pcapfile process, connected as Kismet's users connect it."""

    def __init__(self, collector, source, *, tcp=False, apikey=None, log_path=None, extra=()):
        port = collector.tcp_port if tcp else collector.port
        self.args = [str(PCAPFILE), "--connect", "127.0.0.1:%d" % port, "--source=" + source, "--disable-retry"]
        if tcp:
            self.args.append("--tcp")
        if apikey is not None:
            self.args += ["--apikey", apikey]
        self.args += list(extra)
        self.log_path = log_path or (collector.workdir / ("kismet-tool-%d.log" % time.monotonic_ns()))
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def output(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def run(self, timeout=60):
        self.start()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("kismet_cap_pcapfile did not exit in %d s:\n%s" % (timeout, self.output()))

    def stop(self):
        # At the end of its file the tool idles; it does not exit by itself.
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_tool(collector, cap, name, transport, token=None, options="", extra=()):
    source = "%s:name=%s%s" % (cap, name, "," + options if options else "")
    if transport == "websocket":
        token = token or collector.token("datasource", "kismet-" + name)
        return KismetTool(collector, source, apikey=token, extra=extra).start()
    return KismetTool(collector, source, tcp=True, extra=extra).start()


def wait_for_packets(collector, name, count, tool, timeout=90):
    """Waits until the source has `count` packets; never more."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        src = collector.sources().get(name)
        got = src["kismet.datasource.num_packets"] if src else None
        if got is not None:
            assert got <= count, "source %s has %d packets, the capture %d" % (name, got, count)
            if got == count:
                return src
        if tool.proc.poll() is not None:
            raise AssertionError("kismet_cap_pcapfile exited (%s) with %s of %d packets:\n%s\ncollector:\n%s" %
                                 (tool.proc.returncode, got, count, tool.output(), collector.log()[-3000:]))
        time.sleep(0.2)
    raise AssertionError("source %s has %s of %d packets after %d s:\n%s" % (name, got, count, timeout, tool.output()))


def kismet_collector(path, on=True):
    path.mkdir(parents=True, exist_ok=True)
    return Collector(path, extra_args=["--kismet-sensors"] if on else []).start()


# ---- Every capture, both transports -------------------------------------------


@needs_tool
@pytest.mark.parametrize("transport", ["websocket", "tcp"])
@pytest.mark.parametrize("cap", CAPTURES, ids=[c.name for c in CAPTURES])
def test_every_frame_arrives_and_devices_match_the_truth(tmp_path, cap, transport):
    truth = json.loads((DATA / (cap.name + ".truth.json")).read_text())
    c = kismet_collector(tmp_path / "c")
    tool = None
    try:
        tool = start_tool(c, cap, "k1", transport)
        src = wait_for_packets(c, "k1", frame_count(cap), tool)
        devices = {d["kismet.device.base.macaddr"].lower(): d for d in c.get("/devices/views/all/devices.json")}
        status = c.status()
    finally:
        if tool:
            tool.stop()
        c.stop()
    assert src["kismet.datasource.type"] == "pcapfile"
    assert src["hopwire.datasource.transport"] == "kismet-" + transport
    assert src["hopwire.datasource.protocol"] == "kismet-v3"
    assert src["hopwire.datasource.reconnect_losses"] == "unknowable"
    problems = compare(cap, truth, devices)
    assert not problems, "\n".join(problems)
    assert status["kismet.system.devices.count"] == len(devices)
    assert status["hopwire.decode.fcs_bad"] == truth["fcs"]["bad_frames"]


@needs_tool
def test_a_live_pcapng_stream_reads_back_byte_identical_frames(tmp_path):
    c = kismet_collector(tmp_path / "c")
    try:
        s = Stream(c, "/pcap/all_packets.pcapng", tmp_path / "all.pcapng").wait_started()
        for name, cap, transport in (("ws", WIFITE, "websocket"), ("tcp", RADIOTAP, "tcp")):
            tool = start_tool(c, cap, name, transport)
            try:
                wait_for_packets(c, name, frame_count(cap), tool)
            finally:
                tool.stop()
        st = s.finish()
    finally:
        c.stop()
    assert st["hopwire.pcap.stream.packets_dropped"] == 0
    assert st["hopwire.pcap.stream.packets_sent"] == frame_count(WIFITE) + frame_count(RADIOTAP)
    links, per_iface = pcapng_structure(tmp_path / "all.pcapng")
    assert links == [105, 127]
    assert per_iface == {0: frame_count(WIFITE), 1: frame_count(RADIOTAP)}
    assert tshark_hashes(tmp_path / "all.pcapng") == tshark_hashes(WIFITE) + tshark_hashes(RADIOTAP)


@needs_tool
def test_a_tool_connects_over_tls_and_checks_the_collectors_certificate(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    make_ca(pki, "ca")
    make_ca(pki, "other-ca")
    make_cert(pki, "ca", "server", "DNS:localhost,IP:127.0.0.1")
    (tmp_path / "c").mkdir()
    c = Collector(tmp_path / "c", extra_args=["--kismet-sensors", "--tls-cert", str(pki / "server.pem"),
                                              "--tls-key", str(pki / "server.key")]).start()
    cap = [x for x in CAPTURES if x.name == "aircrack_wpa.cap"][0]
    try:
        token = c.token("datasource", "tls")
        # A CA that did not sign the collector's certificate: no connection.
        bad = KismetTool(c, "%s:name=wrongca" % cap, apikey=token,
                         extra=["--ssl", "--ssl-certificate", str(pki / "other-ca.pem")])
        assert bad.run(timeout=30) != 0, bad.output()
        tool = KismetTool(c, "%s:name=tls" % cap, apikey=token,
                          extra=["--ssl", "--ssl-certificate", str(pki / "ca.pem")]).start()
        try:
            deadline = time.monotonic() + 60
            while True:
                res = curl(c, pki, "/datasource/all_sources.json")
                sources = {x["kismet.datasource.name"]: x for x in json.loads(res.stdout)}
                if sources.get("tls", {}).get("kismet.datasource.num_packets") == frame_count(cap):
                    break
                assert time.monotonic() < deadline, (sources, tool.output())
                time.sleep(0.2)
        finally:
            tool.stop()
    finally:
        c.stop()
    assert "wrongca" not in sources
    assert sources["tls"]["hopwire.datasource.transport"] == "kismet-websocket"


@needs_tool
def test_the_log_says_how_each_tool_was_admitted_and_never_shows_the_token(tmp_path):
    c = kismet_collector(tmp_path / "c")
    token = c.token("datasource", "roof-kismet")
    cap = [x for x in CAPTURES if x.name == "aircrack_wpa.cap"][0]
    try:
        # The same file: Kismet's pcapfile UUID comes from its path, so the
        # second names its own.
        for name, transport, opts in (("ws", "websocket", ""), ("tcp", "tcp", "uuid=" + str(uuidlib.uuid4()))):
            tool = start_tool(c, cap, name, transport, token=token, options=opts)
            try:
                wait_for_packets(c, name, frame_count(cap), tool)
            finally:
                tool.stop()
        # The tool's going is told once the collector sees it (at once on
        # TCP; within the 15 s silence limit at worst).
        deadline = time.monotonic() + 20
        while c.log().count("disconnected (Kismet tool over") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        log = c.log()
        sources = c.sources()
    finally:
        c.stop()
    assert "authenticated on the WebSocket upgrade as 'roof-kismet' (datasource)" in log
    assert "Kismet's TCP protocol carries no credentials: accepted only because kismet_sensors is on" in log
    assert "kismet_sensors is on: Kismet's capture tools may connect" in log  # the start-up warning
    assert token not in log
    assert log.count("disconnected (Kismet tool over") == 2
    assert not sources["ws"]["kismet.datasource.running"] and not sources["tcp"]["kismet.datasource.running"]


@needs_tool
def test_with_the_setting_off_the_tool_is_refused(tmp_path):
    c = kismet_collector(tmp_path / "c", on=False)
    cap = [x for x in CAPTURES if x.name == "aircrack_wpa.cap"][0]
    try:
        token = c.token("datasource", "off")
        ws = KismetTool(c, "%s:name=off-ws" % cap, apikey=token)
        assert ws.run(timeout=30) != 0, ws.output()
        assert "400" in ws.output()
        tcp = KismetTool(c, "%s:name=off-tcp" % cap, tcp=True)
        assert tcp.run(timeout=30) != 0, tcp.output()
        # What the WebSocket refusal says, to any client sending the tool's request.
        status, body = c.http.request("GET", "/datasource/remote/remotesource.ws?KISMET=" + token,
                                      headers=["Upgrade: websocket", "Connection: Upgrade",
                                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                               "Sec-WebSocket-Version: 13"])
        sources = c.sources()
        log = c.log()
    finally:
        c.stop()
    assert status == 400 and b"credentials in the URL are refused" in body
    assert "a Kismet capture tool connected to the TCP port from 127.0.0.1; Kismet tools are off " \
           "(kismet_sensors: true in the config turns them on)" in log
    assert sources == {}
    assert token not in log


@needs_tool
def test_with_the_setting_off_the_websocket_refusal_is_logged(tmp_path):
    c = kismet_collector(tmp_path / "c", on=False)
    cap = [x for x in CAPTURES if x.name == "aircrack_wpa.cap"][0]
    token = c.token("datasource", "off")
    try:
        KismetTool(c, "%s:name=off-ws" % cap, apikey=token).run(timeout=30)
        log = c.log()
        sources = c.sources()
    finally:
        c.stop()
    after_start = log.split("listening on")[-1]
    assert "refused a sensor link with credentials in the URL, as Kismet's capture tools send them; Kismet tools " \
           "are off (kismet_sensors: true in the config turns them on)" in after_start
    assert "127.0.0.1" in after_start
    assert sources == {}
    assert token not in log


# ---- Bad input on raw sockets ----------------------------------------------------


def mp_uint(v):
    if v < 128:
        return bytes([v])
    if v < 65536:
        return b"\xcd" + struct.pack("!H", v)
    return b"\xce" + struct.pack("!I", v)


def mp_str(s):
    b = s.encode()
    assert len(b) < 256
    return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b


def mp_map(items):
    out = bytes([0x80 | len(items)])
    for k, v in items:
        out += mp_uint(k) + v
    return out


def v3(ptype, payload, seq=1, code=0, sentinel=0xA9A9, length=None):
    n = len(payload) if length is None else length
    return struct.pack("!IHHIHHI", 0xDECAFBAD, sentinel, 3, n, ptype, code, seq) + payload


NEWSOURCE, OPENREQ, OPENREPORT, PACKET = 19, 12, 13, 16


def newsource(name, drop=None):
    fields = [(1, mp_str("/tmp/%s.pcap:name=%s" % (name, name))), (2, mp_str("pcapfile")),
              (3, mp_str(str(uuidlib.uuid4())))]
    return v3(NEWSOURCE, mp_map([f for f in fields if f[0] != drop]), seq=2)


def closed_by_peer(sock, timeout=15):
    """True when the collector closes the connection (EOF, reset, or a
    WebSocket close frame) within `timeout`; False on silence."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return True
            data += chunk
            if data[:1] == b"\x88":  # a WebSocket close frame
                return True
    except ConnectionError:
        return True
    except socket.timeout:
        return False
    return False


def test_bad_v3_input_closes_the_link_and_is_counted_while_a_good_sensor_streams(tmp_path, crafted):
    c = kismet_collector(tmp_path / "c")
    try:
        frames = 100_000
        good = Sensor(c, "%s:name=good,pps=10000" % crafted(frames), extra=["--disable-retry"]).start()
        token = c.token("datasource", "raw")
        before = c.status()
        good_header = newsource("x")[:20]
        ws_cases = {
            # WebSocket: one message per frame.
            "truncated header": (good_header[:12], "frames_malformed"),
            "wrong sentinel": (newsource("s")[:4] + b"\xa8\xa8" + newsource("s")[6:], "frames_malformed"),
            "length past the limit": (v3(NEWSOURCE, b"\x80", length=40000), "frames_oversize"),
            "a message of 16384 bytes": (v3(NEWSOURCE, b"\x00" * (16384 - 20)), "frames_oversize"),
            "NEWSOURCE without a UUID": (newsource("m", drop=3), "frames_malformed"),
            "NEWSOURCE without a type": (newsource("m", drop=2), "frames_malformed"),
            "a map cut short": (v3(NEWSOURCE, mp_map([(1, mp_str("abc"))])[:-2]), "frames_malformed"),
        }
        expect = {"frames_malformed": 0, "frames_oversize": 0, "links_refused_other": 0}
        for what, (payload, counter) in ws_cases.items():
            ws = wire.WsClient(c.port, authorization="Bearer " + token)
            assert ws.status == 101, what
            ws.send(payload)
            assert closed_by_peer(ws.sock), "WebSocket link not closed after %s" % what
            ws.close()
            expect[counter] += 1

        tcp_cases = {
            # TCP: a byte stream of frames; the port tells Kismet's from ours by the first four bytes.
            "wrong sentinel": (newsource("t")[:4] + b"\x12\x34" + newsource("t")[6:], "frames_malformed"),
            "length past the limit": (v3(NEWSOURCE, b"", length=1 << 20), "frames_oversize"),
            "NEWSOURCE without a definition": (newsource("n", drop=1), "frames_malformed"),
            "a truncated header, then silence": (good_header[:12], "links_refused_other"),
        }
        for what, (payload, counter) in tcp_cases.items():
            s = socket.create_connection(("127.0.0.1", c.tcp_port), timeout=10)
            s.sendall(payload)
            assert closed_by_peer(s), "TCP link not closed after %s" % what
            s.close()
            expect[counter] += 1

        # After a good session, a PACKET whose GPS block lacks its required time.
        s = socket.create_connection(("127.0.0.1", c.tcp_port), timeout=10)
        s.sendall(newsource("late"))
        head = b""
        while len(head) < 20:
            head += s.recv(20 - len(head))
        sig, sentinel, ver, length, ptype, code, seq = struct.unpack("!IHHIHHI", head)
        assert (sig, ptype, code) == (0xDECAFBAD, OPENREQ, 1)
        body = b""
        while len(body) < length:
            body += s.recv(length - len(body))
        s.sendall(v3(OPENREPORT, mp_map([(1, mp_uint(seq)), (2, mp_uint(105))]), seq=seq, code=1))
        gps = mp_map([(1, b"\xcb" + struct.pack("!d", 1.0)), (2, b"\xcb" + struct.pack("!d", 2.0))])
        pkt = mp_map([(1, mp_uint(105)), (6, b"\xc4\x04\x80\x00\x00\x00")])
        s.sendall(v3(PACKET, mp_map([(1, gps), (4, pkt)]), seq=3))
        assert closed_by_peer(s), "link not closed after a GPS block without its time"
        s.close()
        expect["frames_malformed"] += 1

        assert good.wait(timeout=120) == 0, good.output()
        src = c.sources()["good"]
        after = c.status()
        log = c.log()
    finally:
        c.stop()
    assert src["kismet.datasource.num_packets"] == frames
    for counter, n in expect.items():
        key = "hopwire.system." + counter
        assert after[key] - before[key] == n, (counter, before[key], after[key], n)
    assert "closing the link" in log


# ---- In the hwsim VM: kismet_cap_linux_wifi on a simulated radio ------------------
#
# One VM boot (../shared/vm/hwsim-vm) for these tests, in order, as in
# test_live_vm.py: hostapd APs on channels 1 (open), 11 (WPA2) and 36
# (open, 5 GHz); Kismet's linuxwifi tool on wlan3 ("kis"); then a Hopwire
# sensor on wlan4 and a Kismet tool on wlan5 in one group. ctest entry
# vm_kismet (label vm).

LINUX_WIFI = KISMET_DIR / "bin" / "kismet_cap_linux_wifi"
VM_APS = {
    "02:00:00:00:00:00": {"ssid": "hw-open", "channel": "1"},
    "02:00:00:00:01:00": {"ssid": "hw-wpa2", "channel": "11"},
    "02:00:00:00:02:00": {"ssid": "hw-5g", "channel": "36"},
}
VM_CHANNELS = ["1", "6", "11", "36"]
VM_HOSTAPD = {
    "open.conf": "interface=wlan0\ndriver=nl80211\nssid=hw-open\nhw_mode=g\nchannel=1\n",
    "wpa2.conf": ("interface=wlan1\ndriver=nl80211\nssid=hw-wpa2\nhw_mode=g\nchannel=11\nwpa=2\n"
                  "wpa_passphrase=correct-horse-battery\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\n"),
    "5g.conf": "interface=wlan2\ndriver=nl80211\nssid=hw-5g\nhw_mode=a\nchannel=36\ncountry_code=US\n",
}


def _vm_missing():
    from hwsim import find_hwsim_vm
    if MISSING:
        return MISSING
    if not LINUX_WIFI.exists():
        return "%s does not exist (../shared/kismet)" % LINUX_WIFI
    if find_hwsim_vm(SOURCE_DIR) is None:
        return "hwsim-vm not found (set HWSIM_VM=/path/to/shared/vm/hwsim-vm)"
    return None


def until(what, fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s; last: %r" % (timeout, what, last))


@pytest.fixture(scope="module")
def vmlab(tmp_path_factory):
    from conftest import BUILD_DIR
    from hwsim import HwsimVM, find_hwsim_vm
    work = tmp_path_factory.mktemp("kismet-vm")
    fleet = work / "collector.yaml"
    fleet.write_text("groups:\n  roof: {strategy: split}\n")
    c = Collector(work, admin_password="vm-test-admin-pw", tcp=False,
                  extra_args=["--config", str(fleet), "--kismet-sensors"]).start()
    vm = HwsimVM(find_hwsim_vm(SOURCE_DIR), BUILD_DIR / "vm-work" / "kismet", BUILD_DIR, radios=6,
                 forward=[(c.port, c.port)])
    vm.start()
    # The guest sees /usr, /etc and the build directory: the tool goes
    # where the guest can run it (its libraries are the host's, in /usr).
    tool = vm.work / "kismet_cap_linux_wifi"
    tool.write_bytes(LINUX_WIFI.read_bytes())
    tool.chmod(0o755)
    (vm.work / "token").write_text(c.token("datasource", "vm-kismet") + "\n")
    for name, text in VM_HOSTAPD.items():
        (vm.work / name).write_text(text)
    # As in test_live_vm.py: park the capture radios on an empty channel
    # first (mac80211_hwsim keeps delivering the channel a radio's first
    # monitor came up on).
    vm.run("for p in 3 4 5; do iw phy phy$p interface add park$p type monitor && ip link set park$p up && "
           "iw dev park$p set channel 149 && iw dev park$p del; done")
    vm.run("for c in open wpa2 5g; do hostapd -B -P $c.pid $c.conf > hostapd-$c.log 2>&1 || "
           "{ cat hostapd-$c.log; exit 1; }; done; sleep 1")
    lab = type("KismetLab", (), {})()
    lab.vm, lab.collector, lab.tool = vm, c, tool
    yield lab
    vm.run("for p in run-*.pid; do [ -e \"$p\" ] && kill -TERM -- -$(cat $p) 2>/dev/null; done; sleep 2; true",
           check=False)
    vm.stop()
    c.stop()


def vm_start(lab, tag, cmd):
    lab.vm.run("setsid %s > run-%s.log 2>&1 < /dev/null & echo $! > run-%s.pid" % (cmd, tag, tag))


def vm_stop(lab, tag):
    # The whole session: a Kismet tool without --disable-retry is a parent
    # that forks a child per connection attempt.
    lab.vm.run("pid=$(cat run-%s.pid); kill -TERM -- -$pid; for i in $(seq 100); do kill -0 -- -$pid 2>/dev/null "
               "|| break; sleep 0.1; done; kill -KILL -- -$pid 2>/dev/null; rm -f run-%s.pid; true" % (tag, tag))


def vm_kismet(lab, tag, source):
    vm_start(lab, tag, "%s --connect 127.0.0.1:%d --apikey $(cat token) --source='%s'" % (
        lab.tool, lab.collector.port, source))


def vm_source(lab, name):
    s = lab.collector.sources().get(name)
    return s if s and s["kismet.datasource.running"] else None


def vm_plan_taken(lab, name):
    s = vm_source(lab, name)
    if not s:
        return None
    p = s["hopwire.datasource.plan"]
    return s if p["request_id"] and p["acknowledged"] and p["ok"] else None


def vm_aps(lab, source_uuid=None):
    """The VM's APs the collector knows, {mac: packets} (heard by one source, if given)."""
    out = {}
    for d in lab.collector.get("/devices/views/all/devices.json"):
        mac = d["kismet.device.base.macaddr"].lower()
        if mac not in VM_APS:
            continue
        if source_uuid is None:
            out[mac] = d["kismet.device.base.packets.total"]
            continue
        for s in d["kismet.device.base.seenby"]:
            if s["kismet.common.seenby.uuid"] == source_uuid:
                out[mac] = s["kismet.common.seenby.num_packets"]
    return out


def vm_post(lab, path, body):
    status, reply = lab.collector.http.request("POST", path, user="admin", password=lab.collector.password,
                                               content_type="application/json", data=json.dumps(body))
    return status, reply.decode(errors="replace")


@pytest.mark.vm
@pytest.mark.skipif(_vm_missing() is not None, reason=_vm_missing() or "")
def test_vm_linux_wifi_tool_hops_the_collectors_plan_and_hears_every_ap(vmlab):
    vm_kismet(vmlab, "kis", 'wlan3:name=kis,channels="1,6,11,36",channel_hoprate=10/sec')
    try:
        s = until("kis running with its hop plan taken", lambda: vm_plan_taken(vmlab, "kis"), 90)
    except AssertionError:
        print(json.dumps(vmlab.collector.sources(), indent=1), vmlab.vm.file("run-kis.log"),
              vmlab.collector.log()[-4000:])
        raise
    assert s["kismet.datasource.type"] == "linuxwifi"
    assert s["hopwire.datasource.transport"] == "kismet-websocket"
    assert s["hopwire.datasource.protocol"] == "kismet-v3"
    assert s["kismet.datasource.dlt"] == 127
    assert s["kismet.datasource.hopping"] is True
    assert s["kismet.datasource.hop_rate"] == 10
    assert sorted(s["kismet.datasource.hop_channels"]) == sorted(VM_CHANNELS)
    uuid = s["kismet.datasource.uuid"]
    heard = until("every AP heard by kis", lambda: (a := vm_aps(vmlab, uuid)) and len(a) == len(VM_APS) and a, 90)
    print("kis heard %r" % heard)
    for d in vmlab.collector.get("/devices/views/all/devices.json"):
        mac = d["kismet.device.base.macaddr"].lower()
        if mac in VM_APS:
            assert d["kismet.device.base.name"] == VM_APS[mac]["ssid"], d
            assert d["kismet.device.base.channel"] == VM_APS[mac]["channel"], d


@pytest.mark.vm
@pytest.mark.skipif(_vm_missing() is not None, reason=_vm_missing() or "")
def test_vm_linux_wifi_tool_follows_a_set_channel_lock_within_2_s(vmlab):
    s = until("kis running", lambda: vm_source(vmlab, "kis"), 30)
    uuid = s["kismet.datasource.uuid"]
    status, body = vm_post(vmlab, "/datasource/by-uuid/%s/set_channel.cmd" % uuid, {"channel": "6"})
    assert status == 200, body
    until("the lock on 6 reported by the tool",
          lambda: (x := vm_plan_taken(vmlab, "kis")) and x["kismet.datasource.hop_channels"] == ["6"], 20)
    assert vm_source(vmlab, "kis")["kismet.datasource.hopping"] is False
    time.sleep(2)  # what was captured before the switch drains
    before = vm_aps(vmlab, uuid)
    time.sleep(4)
    after = vm_aps(vmlab, uuid)
    assert after == before, "heard an AP while locked on channel 6: %r -> %r" % (before, after)

    wpa2 = "02:00:00:00:01:00"
    t0 = time.monotonic()
    status, body = vm_post(vmlab, "/datasource/by-uuid/%s/set_channel.cmd" % uuid, {"channel": "11"})
    assert status == 200, body
    until("the WPA2 AP on channel 11", lambda: vm_aps(vmlab, uuid).get(wpa2, 0) > after.get(wpa2, 0), 10,
          interval=0.05)
    took = time.monotonic() - t0
    print("set_channel 11 -> first WPA2 beacon from the Kismet tool at the collector: %.2f s" % took)
    assert took <= 2.0, "heard the channel 11 AP only after %.2f s" % took
    time.sleep(2)
    now = vm_aps(vmlab, uuid)
    for mac in ("02:00:00:00:00:00", "02:00:00:00:02:00"):
        assert now.get(mac, 0) == after.get(mac, 0), (mac, after, now)
    x = until("the lock on 11 reported", lambda: (x := vm_plan_taken(vmlab, "kis"))
              and x["kismet.datasource.hop_channels"] == ["11"] and x, 10)
    assert x["kismet.datasource.channel"] == "11"
    vm_stop(vmlab, "kis")
    until("kis gone", lambda: not vm_source(vmlab, "kis"), 30)


@pytest.mark.vm
@pytest.mark.skipif(_vm_missing() is not None, reason=_vm_missing() or "")
def test_vm_a_hopwire_sensor_and_a_kismet_tool_in_one_group_split_the_channels(vmlab):
    from conftest import SENSOR
    vm_start(vmlab, "ours", "%s --connect 127.0.0.1:%d --apikey-file token --source "
                            "'wlan4:name=roof-ours,group=roof,channels=\"1,6,11,36\",channel_hoprate=10/sec'" %
             (SENSOR, vmlab.collector.port))
    vm_kismet(vmlab, "theirs", 'wlan5:name=roof-kis,group=roof,channels="1,6,11,36",channel_hoprate=10/sec')

    def split():
        a, b = vm_plan_taken(vmlab, "roof-ours"), vm_plan_taken(vmlab, "roof-kis")
        if not (a and b):
            return None
        ca, cb = a["kismet.datasource.hop_channels"], b["kismet.datasource.hop_channels"]
        return (ca, cb) if ca and cb and not set(ca) & set(cb) and set(ca) | set(cb) == set(VM_CHANNELS) else None

    ca, cb = until("a split plan for roof, taken by both", split, 90)
    print("roof-ours %s, roof-kis %s" % (ca, cb))
    assert len(ca) == len(cb) == 2
    kis = vm_source(vmlab, "roof-kis")
    assert kis["hopwire.datasource.plan"]["mode"] == "split"
    assert kis["hopwire.datasource.group"] == "roof"
    # Each hears the APs on its own channels and none on the other's.
    want = {mac for mac, ap in VM_APS.items() if ap["channel"] in cb}
    uuid = kis["kismet.datasource.uuid"]
    until("roof-kis hears the APs on its channels", lambda: set(vm_aps(vmlab, uuid)) >= want, 60)
    time.sleep(3)
    base = vm_aps(vmlab, uuid)
    time.sleep(4)
    now = vm_aps(vmlab, uuid)
    for mac, ap in VM_APS.items():
        if ap["channel"] not in cb:
            assert now.get(mac, 0) == base.get(mac, 0), (mac, base, now)

    # The Kismet tool leaves: our sensor takes every channel, without reconnecting.
    vm_stop(vmlab, "theirs")
    until("roof-ours to cover every channel", lambda: (s := vm_plan_taken(vmlab, "roof-ours"))
          and sorted(s["kismet.datasource.hop_channels"]) == sorted(VM_CHANNELS), 30)
    vm_stop(vmlab, "ours")

"""Live capture against real kernel radios: mac80211_hwsim in a VM, hostapd
access points, the sensor's linuxwifi source through nl80211 and libpcap,
and the collector on the host (reached through the VM's port forwarding).

One VM boot serves the whole module; the tests run in order and share it:
  wlan0  hostapd, open AP, channel 1      (hw-open)
  wlan1  hostapd, WPA2-PSK AP, channel 11 (hw-wpa2)
  wlan2  hostapd, open AP, channel 36     (hw-5g, needs --reg US)
  wlan3  sensor "solo"
  wlan4  sensor "roof-a", group roof
  wlan5  sensor "roof-b", group roof
"""
import json
import time

import pytest

from conftest import BUILD_DIR, SENSOR, SOURCE_DIR, Collector
from hwsim import HwsimVM, find_hwsim_vm

pytestmark = pytest.mark.vm

HARNESS = find_hwsim_vm(SOURCE_DIR)
if HARNESS is None:
    pytest.skip("hwsim-vm not found (set HWSIM_VM=/path/to/shared/vm/hwsim-vm)", allow_module_level=True)

APS = {
    "02:00:00:00:00:00": {"ssid": "hw-open", "channel": "1", "freq": 2412000, "crypt": "Open"},
    "02:00:00:00:01:00": {"ssid": "hw-wpa2", "channel": "11", "freq": 2462000, "crypt": "WPA2"},
    "02:00:00:00:02:00": {"ssid": "hw-5g", "channel": "36", "freq": 5180000, "crypt": "Open"},
}
CHANNELS = ["1", "6", "11", "36"]
SOLO = 'wlan3:name=solo,channels="1,6,11,36",channel_hoprate=10/sec'
FLEET = "groups:\n  roof: {strategy: split}\n"

HOSTAPD = {
    "open.conf": "interface=wlan0\ndriver=nl80211\nssid=hw-open\nhw_mode=g\nchannel=1\n",
    "wpa2.conf": ("interface=wlan1\ndriver=nl80211\nssid=hw-wpa2\nhw_mode=g\nchannel=11\nwpa=2\n"
                  "wpa_passphrase=correct-horse-battery\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\n"),
    "5g.conf": "interface=wlan2\ndriver=nl80211\nssid=hw-5g\nhw_mode=a\nchannel=36\ncountry_code=US\n",
}


def wait_until(what, fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s; last: %r" % (timeout, what, last))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("live")
    fleet = work / "collector.yaml"
    fleet.write_text(FLEET)
    collector = Collector(work, admin_password="vm-test-admin-pw", tcp=False,
                          extra_args=["--config", str(fleet)]).start()
    vm = HwsimVM(HARNESS, BUILD_DIR / "vm-work" / "live", BUILD_DIR, radios=6,
                 forward=[(collector.port, collector.port)])
    vm.start()
    token = collector.token("datasource", "vm-sensors")
    (vm.work / "token").write_text(token + "\n")
    (vm.work / "token").chmod(0o644)  # the no-permission case runs as nobody
    for name, text in HOSTAPD.items():
        (vm.work / name).write_text(text)
    lab = type("Lab", (), {})()
    lab.vm, lab.collector, lab.fleet = vm, collector, fleet
    # Park the sensors' radios on an empty channel first. mac80211_hwsim
    # keeps delivering the traffic of the channel a radio's first monitor
    # interface came up on (its internal monitor keeps that channel), on top
    # of the channel it is tuned to. A fresh radio comes up on channel 1,
    # where hw-open beacons; seen with iw alone, no Hopwire involved.
    vm.run("for p in 3 4 5; do iw phy phy$p interface add park$p type monitor && ip link set park$p up && "
           "iw dev park$p set channel 149 && iw dev park$p del; done")
    vm.run("for c in open wpa2 5g; do hostapd -B -P $c.pid $c.conf > hostapd-$c.log 2>&1 || "
           "{ cat hostapd-$c.log; exit 1; }; done; sleep 1; iw dev | grep -E 'Interface|channel'")
    yield lab
    vm.run("for p in sensor-*.pid; do [ -e \"$p\" ] && kill -TERM $(cat $p) 2>/dev/null; done; sleep 1; true",
           check=False)
    vm.stop()
    collector.stop()


def start_sensor(lab, tag, source, extra=""):
    lab.vm.run("setsid %s --connect 127.0.0.1:%d --apikey-file token --source '%s' %s > sensor-%s.log 2>&1 "
               "< /dev/null & echo $! > sensor-%s.pid" % (SENSOR, lab.collector.port, source, extra, tag, tag))


def stop_sensor(lab, tag):
    """SIGTERM, then the sensor's exit status."""
    _, out = lab.vm.run("pid=$(cat sensor-%s.pid); kill -TERM $pid; for i in $(seq 100); do "
                        "kill -0 $pid 2>/dev/null || break; sleep 0.1; done; "
                        "kill -0 $pid 2>/dev/null && echo STILL-RUNNING; rm -f sensor-%s.pid; true" % (tag, tag))
    assert "STILL-RUNNING" not in out, lab.vm.file("sensor-%s.log" % tag)


def source(lab, name):
    return lab.collector.sources().get(name)


def running(lab, name):
    s = source(lab, name)
    return s if s and s["kismet.datasource.running"] else None


def aps(lab):
    out = {}
    for d in lab.collector.get("/devices/views/all/devices.json"):
        mac = d["kismet.device.base.macaddr"].lower()
        if mac in APS:
            out[mac] = d
    return out


def post(lab, path, body):
    status, reply = lab.collector.http.request("POST", path, user="admin", password=lab.collector.password,
                                               content_type="application/json", data=json.dumps(body))
    return status, reply.decode(errors="replace")


def plan_taken(lab, name):
    s = running(lab, name)
    if not s:
        return None
    p = s["hopwire.datasource.plan"]
    return s if p["request_id"] and p["acknowledged"] and p["ok"] else None


def test_hopping_sensor_delivers_every_ap(lab):
    start_sensor(lab, "solo", SOLO)
    wait_until("source solo running", lambda: running(lab, "solo"), 60)

    def complete():
        seen = aps(lab)
        return seen if len(seen) == len(APS) else None

    seen = wait_until("all three APs", complete, 90)
    for mac, want in APS.items():
        d = seen[mac]
        assert d["kismet.device.base.name"] == want["ssid"], d
        assert d["kismet.device.base.channel"] == want["channel"], d
        assert int(d["kismet.device.base.frequency"]) == want["freq"], d
        assert d["kismet.device.base.crypt"] == want["crypt"], d
        assert d["kismet.device.base.type"] == "Wi-Fi AP", d
    s = source(lab, "solo")
    assert s["kismet.datasource.type"] == "linuxwifi"
    assert s["kismet.datasource.dlt"] == 127
    assert s["kismet.datasource.channels"] == CHANNELS
    assert s["kismet.datasource.hopping"] is True
    assert s["kismet.datasource.hop_rate"] == 10
    # The channel the radio is on comes with the sensor's next Status.
    wait_until("a current channel", lambda: source(lab, "solo")["kismet.datasource.channel"] in CHANNELS, 10)
    assert s["hopwire.datasource.collector_timestamps"] is True


def packets(lab):
    return {mac: d["kismet.device.base.packets.total"] for mac, d in aps(lab).items()}


def test_locked_channel_hears_only_what_is_on_it(lab):
    uuid = running(lab, "solo")["kismet.datasource.uuid"]
    status, body = post(lab, "/datasource/by-uuid/%s/set_channel.cmd" % uuid, {"channel": "6"})
    assert status == 200, body
    wait_until("lock on 6 acknowledged",
               lambda: (s := plan_taken(lab, "solo")) and s["kismet.datasource.hop_channels"] == ["6"]
               and s["kismet.datasource.channel"] == "6", 20)
    s = source(lab, "solo")
    assert s["kismet.datasource.hopping"] is False
    time.sleep(1.5)  # what was captured before the switch drains
    before = packets(lab)
    time.sleep(4)
    after = packets(lab)
    assert after == before, "heard an AP while locked on channel 6: %r -> %r" % (before, after)

    wpa2 = "02:00:00:00:01:00"
    t0 = time.monotonic()
    status, body = post(lab, "/datasource/by-uuid/%s/set_channel.cmd" % uuid, {"channel": "11"})
    assert status == 200, body
    wait_until("the WPA2 AP on channel 11", lambda: packets(lab)[wpa2] > after[wpa2], 10, interval=0.05)
    took = time.monotonic() - t0
    print("set_channel 11 -> first WPA2 beacon at the collector: %.2f s" % took)
    assert took <= 2.0, "heard the channel 11 AP only after %.2f s" % took
    # Only the channel 11 AP: the others stay silent.
    time.sleep(2)
    now = packets(lab)
    assert now["02:00:00:00:00:00"] == after["02:00:00:00:00:00"]
    assert now["02:00:00:00:02:00"] == after["02:00:00:00:02:00"]


def test_set_channel_refuses_bad_input(lab):
    uuid = running(lab, "solo")["kismet.datasource.uuid"]
    for body, status, text in [
        ({"channel": "6HT80"}, 400, "unknown suffix"),
        ({"channels": []}, 400, "non-empty array"),
        ({"channels": ["1", "6"], "rate": 50}, 400, "minimum dwell"),
        ({}, 400, "give \"channel\""),
    ]:
        got, reply = post(lab, "/datasource/by-uuid/%s/set_channel.cmd" % uuid, body)
        assert got == status and text in reply, (body, got, reply)
    got, reply = post(lab, "/datasource/by-uuid/00000000-0000-4000-8000-000000000000/set_channel.cmd",
                      {"channel": "6"})
    assert got == 404
    # Back to hopping its own list.
    got, reply = post(lab, "/datasource/by-uuid/%s/set_hop.cmd" % uuid, {})
    assert got == 200, reply
    wait_until("hopping again", lambda: (s := plan_taken(lab, "solo")) and s["kismet.datasource.hopping"]
               and s["kismet.datasource.hop_channels"] == CHANNELS, 20)


def test_group_split_is_disjoint_and_regrows_when_a_member_leaves(lab):
    for tag, iface in (("roof-a", "wlan4"), ("roof-b", "wlan5")):
        start_sensor(lab, tag, '%s:name=%s,group=roof,channels="1,6,11,36",channel_hoprate=10/sec' % (iface, tag))
        wait_until(tag + " running", lambda: running(lab, tag), 60)

    def both_planned():
        a, b = plan_taken(lab, "roof-a"), plan_taken(lab, "roof-b")
        if not (a and b):
            return None
        ca, cb = a["kismet.datasource.hop_channels"], b["kismet.datasource.hop_channels"]
        return (ca, cb) if ca and cb and not set(ca) & set(cb) and set(ca) | set(cb) == set(CHANNELS) else None

    ca, cb = wait_until("a split plan for roof", both_planned, 30)
    print("roof-a %s, roof-b %s" % (ca, cb))
    assert len(ca) == len(cb) == 2  # balanced
    a = source(lab, "roof-a")
    assert a["hopwire.datasource.group"] == "roof" and a["hopwire.datasource.plan"]["mode"] == "split"

    stop_sensor(lab, "roof-b")
    wait_until("roof-a to cover every channel",
               lambda: (s := plan_taken(lab, "roof-a")) and sorted(s["kismet.datasource.hop_channels"])
               == sorted(CHANNELS), 20)
    assert not running(lab, "roof-b")
    # No reconnect was needed for the new plan.
    assert source(lab, "roof-a")["hopwire.datasource.reconnects"] == 0
    stop_sensor(lab, "roof-a")


def test_filter_locals_drops_what_this_host_sends(lab):
    # Every radio in the VM is this host's, the access points included. The
    # source's UUID comes from the radio's MAC, so it is roof-b's record:
    # count from where it stands.
    start_sensor(lab, "fl", "wlan5:name=fl,channel=11,filter_locals=true")
    base = wait_until("fl running", lambda: running(lab, "fl"), 60)["kismet.datasource.num_packets"]
    time.sleep(4)
    assert source(lab, "fl")["kismet.datasource.num_packets"] == base
    stop_sensor(lab, "fl")
    assert "filter_locals: ignoring frames to or from all" in lab.vm.file("sensor-fl.log")
    # The same radio without the filter hears the channel 11 AP.
    start_sensor(lab, "fl", "wlan5:name=fl,channel=11")
    wait_until("fl hears the WPA2 AP",
               lambda: (s := running(lab, "fl")) and s["kismet.datasource.num_packets"] > base + 5, 20)
    stop_sensor(lab, "fl")


def test_fleet_reload_moves_a_sensor_without_reconnecting(lab):
    import signal
    # Two sensors connected; the edit moves one of them.
    start_sensor(lab, "other", 'wlan4:name=other,channels="1,6",channel_hoprate=5/sec')
    wait_until("other running", lambda: running(lab, "other"), 60)
    other_before = running(lab, "other")
    lab.fleet.write_text(FLEET + "sensors:\n  - name: solo\n    channels: [6, 11]\n    hop_rate: 4/sec\n")
    lab.collector.proc.send_signal(signal.SIGHUP)
    s = wait_until("solo on the fleet's channels",
                   lambda: (s := plan_taken(lab, "solo")) and s["kismet.datasource.hop_channels"] == ["6", "11"]
                   and s, 10)
    assert s["hopwire.datasource.plan"]["mode"] == "fleet"
    assert s["kismet.datasource.hop_rate"] == 4
    assert s["hopwire.datasource.reconnects"] == 0
    assert running(lab, "other")["kismet.datasource.hop_channels"] == ["1", "6"]

    # A broken edit: refused, the running plan stays, the log says why.
    lab.fleet.write_text(FLEET + "sensors:\n  - name: solo\n    channels: [6HT80]\n")
    lab.collector.proc.send_signal(signal.SIGHUP)
    wait_until("the refusal in the log", lambda: "reload of %s refused" % lab.fleet in lab.collector.log(), 10)
    assert "collector.yaml:5:16: channels: channel '6HT80': unknown suffix" in lab.collector.log()
    status, reply = post(lab, "/admin/reload.cmd", {})
    assert status == 400 and "6HT80" in reply, reply
    time.sleep(1)
    s = plan_taken(lab, "solo")
    assert s["kismet.datasource.hop_channels"] == ["6", "11"]

    # Out of the fleet file again (over REST this time): back to its own list.
    lab.fleet.write_text(FLEET)
    status, reply = post(lab, "/admin/reload.cmd", {})
    assert status == 200, reply
    wait_until("solo on its own list", lambda: (s := plan_taken(lab, "solo"))
               and s["kismet.datasource.hop_channels"] == CHANNELS, 10)
    assert source(lab, "solo")["hopwire.datasource.reconnects"] == 0
    # The other sensor was never touched: same list, same link.
    other = running(lab, "other")
    assert other["kismet.datasource.hop_channels"] == ["1", "6"]
    assert other["hopwire.datasource.plan"]["request_id"] == other_before["hopwire.datasource.plan"]["request_id"]
    # (Its UUID comes from wlan4's MAC, roof-a's record: count from there.)
    assert other["hopwire.datasource.reconnects"] == other_before["hopwire.datasource.reconnects"]
    stop_sensor(lab, "other")


def test_sigterm_removes_the_monitor_interface_and_a_restart_works(lab):
    _, out = lab.vm.run("iw dev")
    assert "wlan3mon" in out
    stop_sensor(lab, "solo")
    _, out = lab.vm.run("iw dev; ip -br link")
    assert "mon" not in out, out
    log = lab.vm.file("sensor-solo.log")
    assert "removed monitor interface wlan3mon" in log, log
    wait_until("solo offline", lambda: not running(lab, "solo"), 20)

    start_sensor(lab, "solo", SOLO)
    wait_until("solo back", lambda: running(lab, "solo"), 60)
    stop_sensor(lab, "solo")
    _, out = lab.vm.run("iw dev")
    assert "mon" not in out, out


@pytest.mark.parametrize("source_def,runner,expect", [
    ("wlan9", "", "no such interface 'wlan9' (Wi-Fi interfaces here:"),
    ("lo", "", "'lo' is not a Wi-Fi interface"),
    ("wlan3", "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all",
     "CAP_NET_ADMIN and CAP_NET_RAW"),
    ('wlan0:channels="6,11"', "", "phy0 is busy or refuses every channel"),
    ("wlan3:vif=wlan1", "", "interface wlan1 exists already and is not a monitor interface"),
    ('wlan3:channels="6HT80"', "", "channel '6HT80': unknown suffix"),
    ("wlan3:frobnicate=1", "", "unknown option 'frobnicate'"),
])
def test_bad_cases_say_what_is_wrong(lab, source_def, runner, expect):
    rc, out = lab.vm.run("%s timeout 30 %s --connect 127.0.0.1:%d --apikey-file token --source '%s' 2>&1" % (
        runner, SENSOR, lab.collector.port, source_def), check=False)
    assert rc == 1, out
    assert expect in out, out
    # Nothing left behind: no monitor interface, the APs still up.
    _, iw = lab.vm.run("iw dev")
    assert "mon" not in iw, iw
    assert iw.count("ssid hw-") == 3, iw

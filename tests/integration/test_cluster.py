"""Cluster mode (docs/cluster.md) with real parts on loopback: a three-node
nats-server cluster with JetStream (replicas 3), three collectors in cluster
mode, and sensors replaying captures with `--connect` lists.

What it shows: a sensor's source record is cluster-wide, so when its
collector is killed with -9 mid-replay the sensor moves to another within
5 s and every source's packet count ends exact (the frames in its capture:
no loss, no double count); a NATS node killed meanwhile loses nothing; a
collector cut off from NATS closes its links and refuses new ones with a
reason, and takes sensors again when NATS is back."""
import json
import os
import pathlib
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid as uuidlib

import pytest

from conftest import COLLECTOR, SENSOR, TOOLS, Collector, frame_count, free_port
from test_tls import make_ca, make_cert

sys.path.insert(0, str(TOOLS))
from nats_cluster import NATS_SERVER, NatsCluster  # noqa: E402

pytestmark = pytest.mark.skipif(NATS_SERVER is None, reason="nats-server is not installed "
                                "(deploy/setup-debian.sh test installs Debian's)")


def cluster_collector(workdir, name, nats, servers, password, commit_timeout="10s", replicas=3, ca_file=None,
                      threads=None):
    d = pathlib.Path(workdir) / name
    d.mkdir()
    cfg = d / "collector.yaml"
    c = Collector(d, extra_args=["--config", str(cfg), "--packet-log-max", "0"]
                  + (["--threads", str(threads)] if threads else []), admin_password=password)
    cfg.write_text(
        "cluster:\n"
        "  node_id: %s\n"
        "  advertise: http://127.0.0.1:%d\n"
        "  servers: [%s]\n"
        "  user: %s\n"
        "  password_file: %s\n"
        "  replicas: %d\n"
        "  commit_timeout: %s\n"
        % (name, c.port, ", ".join(servers), nats.user, nats.password_file, replicas, commit_timeout)
        + ("  ca_file: %s\n" % ca_file if ca_file else ""))
    return c


class ClusterSensor:
    """A sensor replaying `capture` at `pps` to the collectors listed, in order."""

    def __init__(self, workdir, name, capture, collectors, password, pps, retry=True, token=None, uuid=None):
        self.name = name
        self.uuid = uuid or str(uuidlib.uuid4())
        self.capture = capture
        self.log_path = pathlib.Path(workdir) / ("sensor-%s.log" % name)
        args = [str(SENSOR), "--connect", ",".join("127.0.0.1:%d" % c.port for c in collectors),
                "--source", "%s:name=%s,uuid=%s,pps=%d" % (capture, name, self.uuid, pps)]
        if not retry:
            args.append("--disable-retry")
        env = dict(os.environ)
        env.pop("HOPWIRE_APIKEY", None)
        env.pop("HOPWIRE_PASSWORD", None)
        if token:
            env["HOPWIRE_APIKEY"] = token
        else:
            args += ["--user", "admin"]
            env["HOPWIRE_PASSWORD"] = password
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        out.close()

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sensor %s did not finish in %d s:\n%s" % (self.name, timeout, self.log()[-3000:]))

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def cluster_status(c):
    status, body = c.http.request("GET", "/cluster/status.json", user="admin", password=c.password)
    return status, (json.loads(body) if body.startswith(b"{") else body)


def records(c):
    status, st = cluster_status(c)
    assert status == 200, "GET /cluster/status.json on %s: %d %r" % (c.workdir.name, status, st)
    return {r["uuid"]: r for r in st["sources"]}


def wait_until(what, cond, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            got = cond()
        except (AssertionError, KeyError) as e:
            # A stream leader being elected after a NATS node died answers
            # 503 for a few seconds; that is not yet, not no.
            got, last = None, e
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s (last: %s)" % (timeout, what, last))
        time.sleep(step)


@pytest.fixture
def fleet(tmp_path):
    nats = NatsCluster(tmp_path, free_port=free_port)
    nats.start_all()
    made = []
    yield nats, made
    for c in made:
        c.stop()
    nats.stop_all()


def start_collectors(tmp_path, nats, made, password, layout):
    """layout: [(name, [nats indices], commit_timeout)]."""
    out = []
    for name, idx, timeout in layout:
        c = cluster_collector(tmp_path, name, nats, [nats.url(i) for i in idx], password, timeout)
        c.start()
        made.append(c)
        out.append(c)
    for c in out:
        wait_until("%s to join the cluster" % c.workdir.name,
                   lambda c=c: cluster_status(c)[0] == 200 and cluster_status(c)[1].get("connected"), 30)
    return out


def test_standalone_has_no_cluster(collector):
    status, body = collector.http.request("GET", "/cluster/status.json", user="admin", password=collector.password)
    assert status == 404 and b"standalone" in body


def test_config_refuses_open_or_remote_plain_nats(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("x\n")
    cases = {
        "cluster:\n  servers: [nats://10.1.2.3:4222]\n  user: a\n  password_file: %s\n" % pw:
            "is not on loopback: NATS beyond this machine needs tls://",
        "cluster:\n  servers: [nats://127.0.0.1:4222]\n": "user: and password_file: are required",
        "cluster:\n  servers: [http://127.0.0.1:4222]\n  user: a\n  password_file: %s\n" % pw:
            "must start with tls://",
        "cluster:\n  node_id: 'a b'\n  servers: [tls://n:4222]\n  user: a\n  password_file: %s\n" % pw:
            "must be 1 to 64 letters",
    }
    for text, expected in cases.items():
        cfg = tmp_path / "c.yaml"
        cfg.write_text(text)
        res = subprocess.run([str(COLLECTOR), "--config", str(cfg), "--state-dir", str(tmp_path / "s"),
                              "--listen", "127.0.0.1:%d" % free_port()],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode != 0, text
        assert expected in res.stdout + res.stderr, (text, res.stdout + res.stderr)


def test_failover_after_kill9_is_exact(tmp_path, fleet, crafted):
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    a, b, c = start_collectors(tmp_path, nats, made, password,
                               [("collector-a", [0, 1, 2], "10s"), ("collector-b", [1, 2, 0], "10s"),
                                ("collector-c", [2, 0, 1], "10s")])
    order = [[a, b, c], [b, c, a], [c, a, b]]
    # The sensors' token is made on collector-a alone; the others learn it
    # through the cluster (and keep it when collector-a dies).
    token = a.token("datasource", "fleet-sensors")
    for other in (b, c):
        wait_until("%s to accept collector-a's token" % other.workdir.name,
                   lambda o=other: o.http.request("GET", "/system/status.json", token=token)[0] == 403
                   or o.http.request("GET", "/datasource/all_sources.json", token=token)[0] in (200, 403), 15)
    captures = [crafted(24000, aps=40, clients=400, client_offset=1000 * i) for i in range(6)]
    truth = {}
    sensors = []
    for i, cap in enumerate(captures):
        s = ClusterSensor(tmp_path, "s%d" % i, cap, order[i % 3], password, pps=3000, token=token)
        sensors.append(s)
        truth[s.uuid] = frame_count(cap)
    try:
        # Every sensor is on its first collector and counting.
        wait_until("all six sources to be owned and counting",
                   lambda: len([r for r in records(b).values() if r["num_packets"] > 3000]) == 6, 30)
        on_a = [s.uuid for s in sensors if records(b)[s.uuid]["owner"] == "collector-a"]
        assert len(on_a) == 2, records(b)
        a.kill9()
        killed = time.monotonic()
        moved = wait_until("collector-a's sources to move", lambda: all(
            records(b)[u]["owner"] in ("collector-b", "collector-c") for u in on_a), 20)
        failover = time.monotonic() - killed
        assert moved and failover < 5.0, "failover took %.1f s" % failover
        # A NATS node dies mid-replay too: the others keep quorum.
        mid = {u: r["num_packets"] for u, r in records(b).items()}
        assert any(mid[u] < truth[u] for u in truth), "the replay ended before the NATS node was killed"
        nats.kill9(1)
        for s in sensors:
            assert s.wait(120) == 0, s.log()[-3000:]
        final = wait_until("the final counts", lambda: (lambda r: r if all(
            r.get(u, {}).get("num_packets") == n for u, n in truth.items()) else None)(records(c)), 30)
        assert {u: final[u]["num_packets"] for u in truth} == truth
        assert sum(final[u]["num_packets"] for u in truth) == sum(truth.values())
        # The moved sensors said where they went.
        for s in sensors:
            if s.uuid in on_a:
                assert "connected to 127.0.0.1:%d" % a.port in s.log()
                assert ("connected to 127.0.0.1:%d" % b.port in s.log()
                        or "connected to 127.0.0.1:%d" % c.port in s.log()), s.log()[-2000:]
        # Both come back: the cluster heals and collector-a takes sensors again.
        nats.start(1)
        wait_until("the NATS node to be healthy", lambda: nats.healthy(1), 30)
        a.start()
        wait_until("collector-a to rejoin", lambda: cluster_status(a)[0] == 200 and cluster_status(a)[1]["connected"],
                   30)
        cap = crafted(3000, aps=5, clients=50, client_offset=9000)
        again = ClusterSensor(tmp_path, "again", cap, [a, b], password, pps=3000)
        assert again.wait(60) == 0, again.log()[-3000:]
        assert records(a)[again.uuid] == {**records(a)[again.uuid], "owner": "collector-a",
                                          "num_packets": frame_count(cap)}
    finally:
        for s in sensors:
            s.stop()


def test_partitioned_collector_refuses_and_recovers(tmp_path, fleet, crafted):
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    # collector-c reaches NATS through node 2 alone: stopping it cuts c off.
    a, c = start_collectors(tmp_path, nats, made, password,
                            [("collector-a", [0, 1], "10s"), ("collector-c", [2], "3s")])
    caps = [crafted(30000, aps=20, clients=200, client_offset=20000 + 1000 * i) for i in range(2)]
    sensors = [ClusterSensor(tmp_path, "p%d" % i, cap, [c, a], password, pps=2000) for i, cap in enumerate(caps)]
    truth = {s.uuid: frame_count(s.capture) for s in sensors}
    try:
        wait_until("both sources counting on collector-c", lambda: all(
            r["owner"] == "collector-c" and r["num_packets"] > 3000 for r in records(a).values()) and
            len(records(a)) == 2, 30)
        nats.kill9(2)
        # Its links close with the reason, and the sensors move to collector-a.
        wait_until("the sources to move to collector-a", lambda: all(
            records(a)[u]["owner"] == "collector-a" for u in truth), 30)
        assert "cannot reach the cluster" in c.log(), c.log()[-3000:]
        for s in sensors:
            assert "cannot reach the cluster" in s.log() or "cannot record source" in s.log(), s.log()[-3000:]
        # A new sensor that knows only collector-c is refused with the reason.
        lone = ClusterSensor(tmp_path, "lone", caps[0], [c], password, pps=2000, retry=False)
        assert lone.wait(30) != 0
        assert "cannot reach the cluster" in lone.log(), lone.log()
        status, st = cluster_status(c)
        assert status == 503 and st["connected"] is False
        for s in sensors:
            assert s.wait(120) == 0, s.log()[-3000:]
        assert {u: records(a)[u]["num_packets"] for u in truth} == truth
        # NATS is back: collector-c takes sensors again.
        nats.start(2)
        wait_until("collector-c to reconnect", lambda: cluster_status(c)[0] == 200, 30)
        cap = crafted(2000, aps=5, clients=50, client_offset=29000)
        back = ClusterSensor(tmp_path, "back", cap, [c], password, pps=2000, retry=False)
        assert back.wait(60) == 0, back.log()[-3000:]
        r = records(a)[back.uuid]
        assert r["owner"] == "collector-c" and r["num_packets"] == frame_count(cap)
    finally:
        for s in sensors:
            s.stop()


def test_tls_to_nats(tmp_path, crafted):
    """NATS over TLS with a CA made here: the collector checks the server's
    certificate against cluster.ca_file and counts a replay exactly."""
    pki = tmp_path / "pki"
    pki.mkdir()
    make_ca(pki, "ca")
    make_cert(pki, "ca", "nats", "DNS:localhost,IP:127.0.0.1")
    nats = NatsCluster(tmp_path, n=1, tls_dir=pki, free_port=free_port)
    nats.start_all()
    password = secrets.token_urlsafe(12)
    c = cluster_collector(tmp_path, "collector-t", nats, [nats.url(0)], password, replicas=1,
                          ca_file=pki / "ca.pem")
    try:
        c.start()
        wait_until("the collector to join over TLS", lambda: cluster_status(c)[0] == 200, 30)
        assert cluster_status(c)[1]["server"].startswith("tls://")
        cap = crafted(5000, aps=10, clients=100, client_offset=40000)
        s = ClusterSensor(tmp_path, "t0", cap, [c], password, pps=5000)
        assert s.wait(60) == 0, s.log()[-3000:]
        assert records(c)[s.uuid]["num_packets"] == frame_count(cap)
    finally:
        c.stop()
        nats.stop_all()


def token_state(c, token):
    """401: unknown here; 403: known (a datasource token may not read REST)."""
    return c.http.request("GET", "/system/status.json", token=token)[0]


def test_membership_tokens_and_node_ids(tmp_path, fleet, crafted):
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    a, b = start_collectors(tmp_path, nats, made, password,
                            [("collector-a", [0, 1, 2], "10s"), ("collector-b", [1, 2, 0], "10s")])
    # Both heartbeats are seen by each.
    for c in (a, b):
        wait_until("both nodes live in %s's view" % c.workdir.name, lambda c=c: sorted(
            n["node_id"] for n in cluster_status(c)[1]["nodes"] if n["live"]) == ["collector-a", "collector-b"], 15)
    # Prometheus sees the cluster's health.
    st, body = b.http.request("GET", "/metrics", user="admin", password=password)
    text = body.decode()
    assert st == 200 and "\nhopwire_cluster_connected 1\n" in text and "\nhopwire_cluster_nodes_live 2\n" in text, text
    # A token made on collector-a works on collector-b within seconds...
    token = a.token("datasource", "roof-7")
    assert token_state(a, token) == 403
    wait_until("collector-b to learn the token", lambda: token_state(b, token) == 403, 15)
    cap = crafted(3000, aps=5, clients=40, client_offset=50000)
    s = ClusterSensor(tmp_path, "tok", cap, [b], password, pps=3000, retry=False, token=token)
    assert s.wait(60) == 0, s.log()[-3000:]
    assert records(b)[s.uuid]["num_packets"] == frame_count(cap)
    # ...and revoked there, it stops working on collector-b too.
    subprocess.run([str(COLLECTOR), "token", "revoke", "--state-dir", str(a.state_dir), "roof-7"],
                   check=True, capture_output=True)
    wait_until("collector-b to drop the revoked token", lambda: token_state(b, token) == 401, 15)
    s = ClusterSensor(tmp_path, "tok2", cap, [b], password, pps=3000, retry=False, token=token)
    assert s.wait(60) != 0 and "401" in s.log(), s.log()[-3000:]
    # A second process with collector-a's node id refuses to start.
    dup = cluster_collector(tmp_path, "collector-a-twin", nats, [nats.url(0)], password)
    dup.extra_args[1] = str(dup.workdir / "collector.yaml")
    (dup.workdir / "collector.yaml").write_text(
        (dup.workdir / "collector.yaml").read_text().replace("node_id: collector-a-twin", "node_id: collector-a"))
    res = subprocess.run(dup.args(), capture_output=True, text=True, timeout=60, env=dup.env)
    assert res.returncode != 0
    assert "another collector is running as node 'collector-a'" in res.stdout + res.stderr, res.stdout + res.stderr
    # collector-a stops cleanly: its heartbeat goes with it.
    a.stop()
    wait_until("collector-a to leave collector-b's view", lambda: "collector-a" not in [
        n["node_id"] for n in cluster_status(b)[1]["nodes"]], 15)


def test_event_bus_subscriber_sees_the_fleet(tmp_path, fleet):
    """A subscriber on collector-b sees the new devices, SSIDs and messages
    of a replay that went to collector-a; collector-b's own clock
    (TIMESTAMP) stays its own."""
    websockets = pytest.importorskip("websockets", reason="Debian's python3-websockets is needed")
    import asyncio
    from conftest import DATA
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    a, b = start_collectors(tmp_path, nats, made, password,
                            [("collector-a", [0, 1, 2], "10s"), ("collector-b", [1, 2, 0], "10s")])
    wifite = DATA / "wifite2_handshake_not_exists.cap"
    token = b.token("readonly", "bus")

    async def run():
        async with websockets.connect("ws://127.0.0.1:%d/eventbus/events.ws" % b.port,
                                      extra_headers={"Authorization": "Bearer " + token}) as ws:
            for topic in ("NEW_DEVICE", "MESSAGE", "DOT11_ADVERTISED_SSID", "TIMESTAMP"):
                await ws.send(json.dumps({"SUBSCRIBE": topic}))
            # collector-a learns from collector-b's next heartbeat that
            # someone listens there.
            wait = time.monotonic() + 15
            while not any(n["node_id"] == "collector-b" and n.get("live") for n in cluster_status(a)[1]["nodes"]):
                assert time.monotonic() < wait
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.5)
            s = ClusterSensor(tmp_path, "bus", wifite, [a], password, pps=2000, retry=False)
            assert await asyncio.get_running_loop().run_in_executor(None, s.wait, 60) == 0, s.log()
            want = {d["kismet.device.base.macaddr"]
                    for d in a.get("/devices/views/all/devices.json")}
            got, msgs, ssids, stamps = set(), [], 0, 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (got != want or not msgs):
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1)
                except asyncio.TimeoutError:
                    continue
                m = json.loads(raw)
                if "NEW_DEVICE" in m:
                    got.add(m["NEW_DEVICE"]["kismet.device.base.macaddr"])
                if "MESSAGE" in m and "bus" in m["MESSAGE"]["kismet.messagebus.message_string"]:
                    msgs.append(m["MESSAGE"]["kismet.messagebus.message_string"])
                ssids += "DOT11_ADVERTISED_SSID" in m
                stamps += "TIMESTAMP" in m
            return want, got, msgs, ssids, stamps

    want, got, msgs, ssids, stamps = asyncio.run(run())
    assert want and got == want, (sorted(want - got), sorted(got - want))
    assert any("connected" in m for m in msgs), msgs
    assert ssids > 0
    assert stamps > 0  # collector-b's own, once a second
    # collector-b tracked none of it itself: the events came from collector-a.
    assert b.get("/devices/views/all/devices.json") == []


def test_a_source_stream_asked_of_another_collector_redirects(tmp_path, fleet, crafted):
    """Packets stay where they arrive: the live pcap-ng stream of a source
    on collector-a, asked of collector-b, is a 307 to collector-a's
    advertised URL, and curl following it gets the stream."""
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    a, b = start_collectors(tmp_path, nats, made, password,
                            [("collector-a", [0, 1, 2], "10s"), ("collector-b", [1, 2, 0], "10s")])
    cap = crafted(60000, aps=10, clients=100, client_offset=60000)
    s = ClusterSensor(tmp_path, "stream", cap, [a], password, pps=2000)
    try:
        wait_until("the source to be owned by collector-a",
                   lambda: records(b).get(s.uuid, {}).get("owner") == "collector-a", 20)
        wait_until("collector-b to know collector-a's URL", lambda: any(
            n["node_id"] == "collector-a" for n in cluster_status(b)[1]["nodes"]), 10)
        path = "/datasource/pcap/by-uuid/%s/packets.pcapng" % s.uuid
        st, headers, body = b.http.request_full("GET", path, user="admin", password=password)
        assert st == 307, (st, body)
        assert headers["location"] == "http://127.0.0.1:%d%s" % (a.port, path)
        out = subprocess.run(["curl", "-s", "-L", "--location-trusted", "-u", "admin:" + password, "--max-time", "3",
                              "-o", "-", "http://127.0.0.1:%d%s" % (b.port, path)], capture_output=True, timeout=20)
        assert out.stdout[:4] == bytes.fromhex("0a0d0d0a"), out.stdout[:64]  # a pcap-ng section header
        assert len(out.stdout) > 10000, len(out.stdout)
        # A source nobody holds is still a plain 404.
        st, _ = b.http.request("GET", "/datasource/pcap/by-uuid/%s/packets.pcapng" % uuidlib.uuid4(),
                               user="admin", password=password)
        assert st == 404
    finally:
        s.stop()


def test_a_second_sensor_with_the_same_uuid_is_refused_not_let_to_take_over(tmp_path, fleet, crafted):
    """Two sensor processes with one UUID on two collectors: the second is
    refused (as a standalone collector refuses it) instead of pushing the
    first off, which would make them take turns for ever."""
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    a, b = start_collectors(tmp_path, nats, made, password,
                            [("collector-a", [0, 1, 2], "10s"), ("collector-b", [1, 2, 0], "10s")])
    cap = crafted(30000, aps=10, clients=100, client_offset=70000)
    first = ClusterSensor(tmp_path, "first", cap, [a], password, pps=3000)
    try:
        wait_until("the first sensor to count on collector-a",
                   lambda: records(b).get(first.uuid, {}).get("num_packets", 0) > 0, 20)
        second = ClusterSensor(tmp_path, "second", cap, [b], password, pps=3000, retry=False, uuid=first.uuid)
        assert second.wait(30) != 0
        assert "from another sensor process" in second.log(), second.log()
        assert first.wait(60) == 0, first.log()[-3000:]
        assert first.log().count("connected to 127.0.0.1:%d" % a.port) == 1, first.log()
        r = records(b)[first.uuid]
        assert r["owner"] == "collector-a" and r["num_packets"] == frame_count(cap)
    finally:
        first.stop()


def test_status_waits_for_nats_off_the_http_thread(tmp_path, fleet):
    """/cluster/status.json reads NATS on the cluster's own thread. With the
    collector's only HTTP thread (--threads 1, which also carries the
    sensors' links) and its NATS server hung (SIGSTOP: the connection stays
    open, nothing answers), a status request waits while /system/status.json
    on the same thread is answered; the status request then ends with an
    answer that says why, not a hang."""
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    c = cluster_collector(tmp_path, "collector-a", nats, [nats.url(0)], password, threads=1)
    c.start()
    made.append(c)
    wait_until("the collector to join the cluster",
               lambda: cluster_status(c)[0] == 200 and cluster_status(c)[1].get("connected"), 30)
    hung = nats.procs[0]
    hung.send_signal(signal.SIGSTOP)
    try:
        got = {}
        waiting = threading.Thread(target=lambda: got.update(answer=cluster_status(c)))
        waiting.start()
        time.sleep(0.5)  # lets the request reach the collector; nothing is judged by it
        # Answered one after another on the thread the status request came
        # in on. Were that thread waiting on NATS, the first would wait with
        # it and the rest would come after the status answer.
        for _ in range(5):
            status, _ = c.http.request("GET", "/system/status.json", user="admin", password=password)
            assert status == 200
        assert waiting.is_alive(), ("the status answer came first: the HTTP thread waited on NATS "
                                    "and the requests behind it with it: %r" % (got,))
        waiting.join(timeout=30)
        assert not waiting.is_alive(), "/cluster/status.json hung with NATS stopped"
        code, body = got["answer"]
        assert code in (200, 503), (code, body)
        assert body.get("why"), body
    finally:
        hung.send_signal(signal.SIGCONT)
    wait_until("the collector to reconnect",
               lambda: cluster_status(c)[0] == 200 and cluster_status(c)[1].get("connected")
               and "why" not in cluster_status(c)[1], 60)


def fleet_devices(c, body=None):
    if body is None:
        status, raw = c.http.request("GET", "/cluster/devices.json", user="admin", password=c.password)
    else:
        status, raw = c.http.request("POST", "/cluster/devices.json", data=json.dumps(body).encode(), content_type="application/json",
                                     user="admin", password=c.password)
    assert status == 200, "GET /cluster/devices.json on %s: %d %r" % (c.workdir.name, status, raw[:300])
    return json.loads(raw)


# What a frame counted or not changes on a device.
COUNTED_KEYS = {"kismet.device.base.packets.total", "kismet.device.base.packets.tx_total",
                "kismet.device.base.packets.rx_total", "kismet.device.base.packets.llc",
                "kismet.device.base.packets.error", "kismet.device.base.packets.data",
                "kismet.device.base.packets.crypt", "kismet.device.base.datasize", "kismet.device.base.seenby",
                "kismet.device.base.signal", "kismet.device.base.first_time", "kismet.device.base.last_time"}


def comparable(d):
    """A device as JSON, but for what is each collector's own clock, with
    seen-by entries by UUID: two sources that first heard it in the same
    frame (the same capture, replayed twice) are listed in whichever order
    their sensors' first batches happened to arrive."""
    d = dict(d)
    d.pop("kismet.device.base.mod_time", None)
    d["kismet.device.base.seenby"] = sorted(d["kismet.device.base.seenby"],
                                            key=lambda s: s["kismet.common.seenby.uuid"])
    return d


def test_fleet_device_list_equals_a_single_collectors(tmp_path, fleet):
    """Six sensors replay real captures to three collectors, two each; two
    captures are heard by sensors on two collectors, so their devices are
    in two collectors' trackers. /cluster/devices.json asked of each
    collector equals, device by device and field by field (but for the
    modification time, each collector's clock), the device list of one
    standalone collector fed the same six sources — and each capture's
    devices pass its ground truth (test_truth.py's checks). Names and tags
    given on one collector show in every collector's answer, and
    /cluster/alerts.json lists every collector's alerts in time order. With
    a collector killed, the answer names it as missing instead of waiting."""
    from conftest import DATA
    from test_truth import compare
    nats, made = fleet
    password = secrets.token_urlsafe(12)
    cs = start_collectors(tmp_path, nats, made, password,
                          [("collector-a", [0, 1, 2], "10s"), ("collector-b", [1, 2, 0], "10s"),
                           ("collector-c", [2, 0, 1], "10s")])
    caps = {n: DATA / n for n in ("wifite2_handshake_not_exists.cap", "aircrack_n-02.cap",
                                  "aircrack_capture_wds-01.cap", "aircrack_test1.pcap",
                                  "fragattacks_ping_I_E_R_E-fromclient.pcapng")}
    plan = [("wifite2_handshake_not_exists.cap", 0), ("wifite2_handshake_not_exists.cap", 1),
            ("aircrack_n-02.cap", 1), ("aircrack_n-02.cap", 2), ("aircrack_capture_wds-01.cap", 2),
            ("aircrack_test1.pcap", 0), ("fragattacks_ping_I_E_R_E-fromclient.pcapng", 1)]
    uuids = [str(uuidlib.uuid4()) for _ in plan]
    sensors = [ClusterSensor(tmp_path, "s%d" % i, caps[cap], [cs[ci]], password, pps=4000, retry=False,
                             uuid=uuids[i]) for i, (cap, ci) in enumerate(plan)]
    for s in sensors:
        assert s.wait(120) == 0, s.log()[-2000:]
    want = {u: frame_count(caps[cap]) for u, (cap, _) in zip(uuids, plan)}
    wait_until("every source's frames counted in the cluster",
               lambda: all(records(cs[0]).get(u, {}).get("num_packets") == n for u, n in want.items()), 30)

    # One standalone collector, the same sources (same UUIDs and names).
    (tmp_path / "lone").mkdir()
    lone = Collector(tmp_path / "lone", admin_password=password).start()
    made.append(lone)
    ls = [ClusterSensor(tmp_path, "s%d" % i, caps[cap], [lone], password, pps=4000, retry=False, uuid=uuids[i])
          for i, (cap, _) in enumerate(plan)]
    for s in ls:
        assert s.wait(120) == 0, s.log()[-2000:]
    # A name given on one collector and a tag on another (set_name.cmd and
    # set_tag.cmd, as Kismet's clients send them); the same on the lone one.
    def annotate(c, key, cmd, body):
        st, raw = c.http.request("POST", "/devices/by-key/%s/%s" % (key, cmd), user="admin", password=password,
                                 data=json.dumps(body), content_type="application/json")
        assert st == 200, (c.workdir.name, st, raw)
    on_b = cs[1].get("/devices/views/all/devices.json")[0]["kismet.device.base.key"]
    on_c = cs[2].get("/devices/views/all/devices.json")[0]["kismet.device.base.key"]
    for c, key, cmd, body in ((cs[1], on_b, "set_name.cmd", {"username": "lobby"}),
                              (cs[2], on_c, "set_tag.cmd", {"tagname": "floor", "tagvalue": "3"})):
        annotate(c, key, cmd, body)
        annotate(lone, key, cmd, body)
    single = {d["kismet.device.base.macaddr"]: d for d in lone.get("/devices/views/all/devices.json")}
    assert len(single) > 20
    assert "lobby" in {d.get("kismet.device.base.username") for d in single.values()}

    # Each asks every collector whose heartbeat it has seen (one a second).
    for c in cs:
        wait_until("%s to see the three collectors" % c.workdir.name, lambda c=c: sorted(
            n["node_id"] for n in cluster_status(c)[1]["nodes"] if n["live"]) == [x.workdir.name for x in cs], 10)
    shares = {}
    for c in cs:
        got = fleet_devices(c)
        assert got["hopwire.cluster.missing"] == [], got["hopwire.cluster.missing"]
        shares[c.workdir.name] = {s["node_id"]: s["devices"] for s in got["hopwire.cluster.collectors"]}
        assert sorted(shares[c.workdir.name]) == ["collector-a", "collector-b", "collector-c"]
        devices = {d["kismet.device.base.macaddr"]: d for d in got["kismet.device.list"]}
        assert got["hopwire.cluster.devices"] == len(devices)
        assert sorted(devices) == sorted(single), (sorted(set(devices) - set(single)),
                                                   sorted(set(single) - set(devices)))
        exact = 0
        for mac, d in devices.items():
            f, one = comparable(d), comparable(single[mac])
            if f == one:
                exact += 1
                continue
            # Frames the tracker counts only on a device it knows (control
            # frames, docs/cluster.md): one collector counts those that
            # arrive after another source's frame made the device — which
            # depends on how its sensors' batches interleaved — a collector
            # whose own sensors had not made it yet does not.
            other = sorted(k for k in set(f) | set(one) if f.get(k) != one.get(k) and k not in COUNTED_KEYS)
            assert not other, (mac, [(k, f.get(k), one.get(k)) for k in other])
            assert f["kismet.device.base.packets.total"] <= one["kismet.device.base.packets.total"], mac
        assert exact >= 0.9 * len(devices), "%d of %d devices equal" % (exact, len(devices))
        # Some devices were on two collectors: their records were folded.
        assert got["hopwire.cluster.merged_records"] > 20
        assert sum(shares[c.workdir.name].values()) == len(devices) + got["hopwire.cluster.merged_records"]
        multi = [d for d in devices.values() if len(d["kismet.device.base.seenby"]) > 1]
        assert multi, "no device was heard by two sources"

    # Truth: each capture's devices in the fleet list (those its sources heard).
    fleet_list = fleet_devices(cs[1])["kismet.device.list"]
    for name, cap in caps.items():
        mine = {u for u, (n, _) in zip(uuids, plan) if n == name}
        devices = {d["kismet.device.base.macaddr"].lower(): d for d in fleet_list
                   if mine & {s["kismet.common.seenby.uuid"] for s in d["kismet.device.base.seenby"]}}
        truth = json.loads((DATA / (name + ".truth.json")).read_text())
        problems = compare(cap, truth, devices)
        assert not problems, "%s:\n%s" % (name, "\n".join(problems))

    # Fields and windows work as on the device lists.
    some = fleet_devices(cs[2], {"fields": ["kismet.device.base.macaddr", "kismet.device.base.packets.total"],
                                 "start": 0, "length": 5})
    assert len(some["kismet.device.list"]) == 5
    assert all(sorted(d) == ["kismet.device.base.macaddr", "kismet.device.base.packets.total"]
               for d in some["kismet.device.list"])

    # Views, as the lone collector's: access points, and one source's devices.
    def view_macs(got):
        return sorted(d["kismet.device.base.macaddr"] for d in got["kismet.device.list"])
    for view in ("phydot11_accesspoints", "seenby-" + uuids[2]):
        st, raw = cs[0].http.request("GET", "/cluster/devices/views/%s/devices.json" % view, user="admin",
                                     password=password)
        assert st == 200, (view, raw[:300])
        want = sorted(d["kismet.device.base.macaddr"] for d in lone.get("/devices/views/%s/devices.json" % view))
        assert view_macs(json.loads(raw)) == want and want, view
    st, _ = cs[0].http.request("GET", "/cluster/devices/views/no-such-view/devices.json", user="admin",
                               password=password)
    assert st == 404

    # last-time: a new sensor on collector-b replays a capture collector-a
    # has already heard; asked of collector-c, the devices changed since
    # are exactly those whose fleet record changed, each merged whole
    # (collector-a's share and collector-b's new one).
    before = {d["kismet.device.base.macaddr"]: d for d in fleet_devices(cs[2])["kismet.device.list"]}
    time.sleep(1.5)
    since = time.time()
    again = ClusterSensor(tmp_path, "again", caps["aircrack_test1.pcap"], [cs[1]], password, pps=4000, retry=False)
    assert again.wait(120) == 0, again.log()[-2000:]
    wait_until("the new source counted", lambda: records(cs[0]).get(again.uuid, {}).get("num_packets") ==
               frame_count(caps["aircrack_test1.pcap"]), 30)
    after = {d["kismet.device.base.macaddr"]: d for d in fleet_devices(cs[2])["kismet.device.list"]}
    st, raw = cs[2].http.request("GET", "/cluster/devices/last-time/%.3f/devices.json" % since, user="admin",
                                 password=password)
    assert st == 200, raw[:300]
    lt = json.loads(raw)
    assert lt["hopwire.cluster.missing"] == [] and lt["kismet.devicelist.timestamp"] >= int(since)
    changed = sorted(m for m, d in after.items()
                     if m not in before or d["kismet.device.base.packets.total"] !=
                     before[m]["kismet.device.base.packets.total"])
    got = {d["kismet.device.base.macaddr"]: d for d in lt["kismet.device.list"]}
    assert changed and sorted(got) == changed, (sorted(set(got) ^ set(changed)))
    for mac, d in got.items():
        assert comparable(d) == comparable(after[mac]), mac
    assert any(len(d["kismet.device.base.seenby"]) > 1 for d in got.values())

    # Alerts: one raised by a script on collector-a and one on collector-c,
    # beside what the replays raised; /cluster/alerts.json on collector-b
    # lists every collector's, in time order.
    def post(c, path, body):
        st, raw = c.http.request("POST", path, user="admin", password=password, data=json.dumps(body),
                                 content_type="application/json")
        assert st == 200, (c.workdir.name, path, st, raw)
    for c, text in ((cs[0], "door opened at a"), (cs[2], "door opened at c")):
        post(c, "/alerts/definitions/define_alert.cmd", {"name": "DOOR", "description": "a door", "class": "OTHER",
                                                          "severity": 5, "throttle": "10/min", "burst": "5/sec"})
        post(c, "/alerts/raise_alert.cmd", {"name": "DOOR", "text": text})
    own = {c.workdir.name: c.get("/alerts/all_alerts.json") for c in cs}
    st, raw = cs[1].http.request("GET", "/cluster/alerts.json", user="admin", password=password)
    assert st == 200, raw[:300]
    fa = json.loads(raw)
    assert fa["hopwire.cluster.missing"] == []
    assert {x["node_id"]: x["alerts"] for x in fa["hopwire.cluster.collectors"]} == {k: len(v) for k, v in own.items()}
    listed = fa["kismet.alert.list"]
    assert len(listed) == fa["hopwire.cluster.alerts"] == sum(len(v) for v in own.values())
    texts = [a["kismet.alert.text"] for a in listed]
    assert "door opened at a" in texts and "door opened at c" in texts
    stamps = [a["kismet.alert.timestamp"] for a in listed]
    assert stamps == sorted(stamps)
    st, raw = cs[1].http.request("POST", "/cluster/alerts.json", user="admin", password=password,
                                 data=json.dumps({"fields": ["kismet.alert.text"],
                                                  "regex": [["kismet.alert.text", "^door opened"]]}),
                                 content_type="application/json")
    assert st == 200, raw[:300]
    assert sorted(a["kismet.alert.text"] for a in json.loads(raw)["kismet.alert.list"]) == [
        "door opened at a", "door opened at c"]

    # A collector gone: the others answer at once and name it.
    cs[2].kill9()
    t0 = time.monotonic()
    got = fleet_devices(cs[0])
    # At once when NATS says "no responders"; within the 5 s a first part may take otherwise.
    assert time.monotonic() - t0 < 8
    answered = {s["node_id"] for s in got["hopwire.cluster.collectors"]}
    assert answered == {"collector-a", "collector-b"}, {k: v for k, v in got.items() if k != "kismet.device.list"}
    missing = {m["node_id"]: m["why"] for m in got["hopwire.cluster.missing"]}
    # Its heartbeat may still look live for up to 3 s: then it was asked and named.
    assert set(missing) <= {"collector-c"}, missing
    assert got["hopwire.cluster.devices"] < len(single)
    # last-time with a collector missing: the cursor stays at TS, so the
    # client asks again for what it missed.
    st, raw = cs[0].http.request("GET", "/cluster/devices/last-time/%.3f/devices.json" % since, user="admin",
                                 password=password)
    assert st == 200, raw[:300]
    lt = json.loads(raw)
    if lt["hopwire.cluster.missing"]:
        assert lt["kismet.devicelist.timestamp"] == int(since)
    else:
        assert lt["kismet.devicelist.timestamp"] > int(since)

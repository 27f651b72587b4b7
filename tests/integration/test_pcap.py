"""Live pcap-ng streams, read by real clients (curl, a slow socket client)
and checked with tshark against the original captures."""
import json
import pathlib
import socket
import struct
import subprocess
import time

import pytest

from conftest import CAPTURES, Collector, Sensor, basic_auth, frame_count, free_port

WIFITE = [c for c in CAPTURES if c.name.startswith("wifite2")][0]
RADIOTAP = [c for c in CAPTURES if c.name == "aircrack_test1.pcap"][0]
PLAIN = [c for c in CAPTURES if c.name == "aircrack_n-02.cap"][0]


def replay(collector, cap, name):
    s = Sensor(collector, "%s:name=%s,realtime=false" % (cap, name), extra=["--disable-retry"])
    assert s.run(timeout=120) == 0, s.out


class Stream:
    """curl reading a stream into a file, unbuffered."""

    def __init__(self, collector, path, out):
        self.collector, self.path, self.out = collector, path, pathlib.Path(out)
        self.start()

    def start(self):
        # A known local port tells our stream apart in /pcap/streams.json.
        self.port = free_port()
        self.proc = subprocess.Popen(["curl", "-N", "-s", "-S", "--local-port", str(self.port),
                                      "-u", "admin:" + self.collector.password,
                                      "-o", str(self.out), self.collector.http.base + self.path],
                                     stderr=subprocess.PIPE)

    def curl_failed(self):
        """curl's exit and complaint if it has stopped on its own, else None."""
        if self.proc.poll() is None:
            return None
        if not hasattr(self, "_failed"):
            self._failed = "curl exited %d: %s" % (self.proc.returncode, self.proc.stderr.read().decode(errors="replace"))
        return self._failed

    def stats(self):
        mine = [s for s in self.collector.get("/pcap/streams.json")
                if s["hopwire.pcap.stream.remote"] == "127.0.0.1:%d" % self.port]
        return mine[0] if mine else None

    def wait_started(self):
        deadline = time.monotonic() + 10
        while self.stats() is None:
            failed = self.curl_failed()
            if failed and self.proc.returncode == 45:
                # Another socket took the port in between (curl: "couldn't bind"): take a new one.
                del self._failed
                self.start()
                continue
            assert failed is None, failed
            assert time.monotonic() < deadline, "stream did not open"
            time.sleep(0.05)
        return self

    def finish(self):
        """Waits until everything queued for the stream is in our file, then stops curl."""
        deadline = time.monotonic() + 60
        while True:
            st = self.stats()
            assert st is not None, "stream closed early (%s)" % (self.curl_failed() or "curl still running")
            size = self.out.stat().st_size if self.out.exists() else 0
            if st["hopwire.pcap.stream.queued_bytes"] == 0 and size == st["hopwire.pcap.stream.bytes_sent"]:
                break
            assert time.monotonic() < deadline, "stream did not drain: %r, file %d" % (st, size)
            time.sleep(0.1)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return st


def streams(collector):
    return collector.get("/pcap/streams.json")


def newest_id(collector):
    return max(s["hopwire.pcap.stream.id"] for s in streams(collector))


def tshark_hashes(path, display_filter=None):
    # frame.md5_hash is computed only when this preference is on.
    cmd = ["tshark", "-o", "frame.generate_md5_hash:TRUE", "-r", str(path), "-T", "fields", "-e", "frame.md5_hash"]
    if display_filter:
        cmd += ["-Y", display_filter]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "cut short" not in res.stderr and "isn't a capture file" not in res.stderr, res.stderr
    hashes = res.stdout.split()
    assert all(len(h) == 32 for h in hashes), hashes[:3]
    return hashes


def pcapng_structure(path):
    """(link types of the interface blocks, packets per interface) by reading the blocks."""
    data = pathlib.Path(path).read_bytes()
    off, links, per_iface = 0, [], {}
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        assert blen >= 12 and blen % 4 == 0 and off + blen <= len(data), "bad block at %d" % off
        assert struct.unpack_from("<I", data, off + blen - 4)[0] == blen
        if btype == 1:
            links.append(struct.unpack_from("<H", data, off + 8)[0])
        elif btype == 6:
            iface = struct.unpack_from("<I", data, off + 8)[0]
            assert iface < len(links), "packet before its interface block"
            per_iface[iface] = per_iface.get(iface, 0) + 1
        off += blen
    assert off == len(data), "trailing bytes"
    return links, per_iface


def test_all_packets_stream_equals_the_original(collector, tmp_path):
    s = Stream(collector, "/pcap/all_packets.pcapng", tmp_path / "all.pcapng").wait_started()
    replay(collector, WIFITE, "live")
    st = s.finish()
    assert st["hopwire.pcap.stream.packets_dropped"] == 0
    assert st["hopwire.pcap.stream.packets_sent"] == frame_count(WIFITE)
    want = tshark_hashes(WIFITE)
    assert len(want) == frame_count(WIFITE)
    assert tshark_hashes(tmp_path / "all.pcapng") == want
    links, per_iface = pcapng_structure(tmp_path / "all.pcapng")
    assert links == [105] and per_iface == {0: frame_count(WIFITE)}


def test_two_sources_two_interfaces_and_filtered_streams(collector, tmp_path):
    # Devices must exist before by-key/by-bssid streams can be asked for.
    replay(collector, RADIOTAP, "radiotap")
    replay(collector, PLAIN, "plain")
    sources = collector.sources()
    uuid = sources["radiotap"]["kismet.datasource.uuid"]
    devices = collector.get("/devices/views/all/devices.json")
    ap = max((d for d in devices if d["kismet.device.base.type"] == "Wi-Fi AP"),
             key=lambda d: d["kismet.device.base.packets.total"])
    mac = ap["kismet.device.base.macaddr"].lower()
    opened = [
        Stream(collector, "/pcap/all_packets.pcapng", tmp_path / "all.pcapng"),
        Stream(collector, "/datasource/pcap/by-uuid/%s/packets.pcapng" % uuid, tmp_path / "uuid.pcapng"),
        Stream(collector, "/devices/pcap/by-key/%s/packets.pcapng" % ap["kismet.device.base.key"],
               tmp_path / "key.pcapng"),
        Stream(collector, "/phy/phy80211/pcap/by-bssid/%s/packets.pcapng" % mac, tmp_path / "bssid.pcapng"),
    ]
    for s in opened:
        s.wait_started()
    replay(collector, RADIOTAP, "radiotap")
    replay(collector, PLAIN, "plain")
    for s in opened:
        assert s.finish()["hopwire.pcap.stream.packets_dropped"] == 0

    links, per_iface = pcapng_structure(tmp_path / "all.pcapng")
    assert links == [127, 105]
    assert per_iface == {0: frame_count(RADIOTAP), 1: frame_count(PLAIN)}
    assert tshark_hashes(tmp_path / "all.pcapng") == tshark_hashes(RADIOTAP) + tshark_hashes(PLAIN)

    assert tshark_hashes(tmp_path / "uuid.pcapng") == tshark_hashes(RADIOTAP)
    assert pcapng_structure(tmp_path / "uuid.pcapng")[0] == [127]

    # Which capture holds the AP decides where its frames come from.
    expect_key = tshark_hashes(RADIOTAP, "wlan.addr == %s" % mac) + tshark_hashes(PLAIN, "wlan.addr == %s" % mac)
    expect_bssid = tshark_hashes(RADIOTAP, "wlan.bssid == %s" % mac) + tshark_hashes(PLAIN, "wlan.bssid == %s" % mac)
    assert expect_key and expect_bssid
    assert tshark_hashes(tmp_path / "key.pcapng") == expect_key
    assert tshark_hashes(tmp_path / "bssid.pcapng") == expect_bssid


def test_unknown_filters_are_404_and_streams_need_a_role(collector):
    for path in ("/datasource/pcap/by-uuid/8c9f1a2e-1111-4222-8333-444455556666/packets.pcapng",
                 "/devices/pcap/by-key/4202770D00000000_0000001122334455/packets.pcapng",
                 "/phy/phy80211/pcap/by-bssid/00:11:22:33:44:55/packets.pcapng"):
        rc, body = collector.http.request("GET", path, user="admin", password=collector.password)
        assert rc == 404, path
        assert body.strip()
    rc, _ = collector.http.request("GET", "/pcap/all_packets.pcapng")
    assert rc == 401


def read_chunked(sock, first):
    """Decodes a chunked HTTP body from what was read; returns (payload, done)."""
    head, _, rest = first.partition(b"\r\n\r\n")
    out, pos = bytearray(), 0
    while True:
        end = rest.find(b"\r\n", pos)
        if end < 0:
            break
        size = int(rest[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out), True
        if end + 2 + size + 2 > len(rest):
            break
        out += rest[end + 2:end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out), False


def test_slow_client_loses_whole_packets_and_they_are_counted(tmp_path, crafted):
    cap = crafted(30000, aps=20, clients=200)
    c = Collector(tmp_path, extra_args=["--pcap-queue", "64KiB"]).start()
    try:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", c.port))
        sock.sendall(("GET /pcap/all_packets.pcapng HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n"
                      % basic_auth("admin", c.password)).encode())
        raw = bytearray(sock.recv(1024))
        sensor = Sensor(c, "%s:name=flood,realtime=false" % cap, extra=["--disable-retry"]).start()
        # Read slowly while the replay floods the stream.
        while sensor.proc.poll() is None:
            raw += sock.recv(1024)
            time.sleep(0.01)
        assert sensor.wait() == 0
        sid = newest_id(c)
        sock.settimeout(1.0)
        # Then read everything that was queued or sent.
        deadline = time.monotonic() + 60
        while True:
            st = {s["hopwire.pcap.stream.id"]: s for s in streams(c)}[sid]
            payload, _ = read_chunked(sock, bytes(raw))
            if st["hopwire.pcap.stream.queued_bytes"] == 0 and len(payload) == st["hopwire.pcap.stream.bytes_sent"]:
                break
            assert time.monotonic() < deadline, st
            try:
                raw += sock.recv(65536)
            except socket.timeout:
                pass
        sock.close()
        (tmp_path / "slow.pcapng").write_bytes(payload)
        frames = frame_count(cap)
        assert st["hopwire.pcap.stream.packets_dropped"] > 0, "the client was not slow enough to lose anything"
        assert st["hopwire.pcap.stream.packets_sent"] + st["hopwire.pcap.stream.packets_dropped"] == frames
        hashes = tshark_hashes(tmp_path / "slow.pcapng")
        assert len(hashes) == st["hopwire.pcap.stream.packets_sent"]
        # What arrived is a subsequence of the original, in order.
        original = iter(tshark_hashes(cap))
        assert all(h in original for h in hashes)
        # Ingest lost nothing.
        assert c.sources()["flood"]["kismet.datasource.num_packets"] == frames
    finally:
        c.stop()


def test_twenty_concurrent_streams_all_complete(collector, tmp_path):
    opened = [Stream(collector, "/pcap/all_packets.pcapng", tmp_path / ("s%02d.pcapng" % i)) for i in range(20)]
    for s in opened:
        s.wait_started()
    replay(collector, WIFITE, "twenty")
    want = tshark_hashes(WIFITE)
    for s in opened:
        st = s.finish()
        assert st["hopwire.pcap.stream.packets_dropped"] == 0
        assert tshark_hashes(s.out) == want
    # Streams whose clients left are gone.
    deadline = time.monotonic() + 10
    while streams(collector):
        assert time.monotonic() < deadline, streams(collector)
        time.sleep(0.1)

"""TLS end to end with a CA made here: HTTPS REST and pcap-ng with curl
--cacert, a sensor over WSS with --ssl=ca.pem, and a sensor that refuses a
certificate from another CA or for another host name, saying why."""
import json
import pathlib
import subprocess
import time

import pytest

from conftest import CAPTURES, Collector, Sensor, frame_count

WIFITE = [c for c in CAPTURES if c.name.startswith("wifite2")][0]


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=%s" % name, "-keyout", "%s.key" % name, "-out", "%s.pem" % name, cwd=d)


def make_cert(d, ca, name, san):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=%s" % name,
            "-keyout", "%s.key" % name, "-out", "%s.csr" % name, cwd=d)
    (d / ("%s.ext" % name)).write_text("subjectAltName=%s\n" % san)
    openssl("x509", "-req", "-in", "%s.csr" % name, "-CA", "%s.pem" % ca, "-CAkey", "%s.key" % ca,
            "-CAcreateserial", "-days", "2", "-extfile", "%s.ext" % name, "-out", "%s.pem" % name, cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "ca", "server", "DNS:localhost,IP:127.0.0.1")
    make_cert(d, "ca", "wronghost", "DNS:collector.example")
    return d


def tls_collector(tmp_path, pki, cert="server"):
    return Collector(tmp_path, extra_args=["--tls-cert", str(pki / ("%s.pem" % cert)),
                                           "--tls-key", str(pki / ("%s.key" % cert))]).start()


def curl(c, pki, path, *extra):
    return subprocess.run(["curl", "-s", "-S", "--cacert", str(pki / "ca.pem"), "-u", "admin:" + c.password]
                          + list(extra) + ["https://127.0.0.1:%d%s" % (c.port, path)], capture_output=True)


def test_https_rest_wss_sensor_and_pcapng_stream(tmp_path, pki):
    c = tls_collector(tmp_path, pki)
    try:
        res = curl(c, pki, "/system/status.json")
        assert res.returncode == 0, res.stderr
        assert b"kismet.system.version" in res.stdout
        # Plain HTTP on the TLS port is refused.
        plain = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                "http://127.0.0.1:%d/system/status.json" % c.port], capture_output=True, text=True)
        assert plain.stdout != "200"
        out = tmp_path / "live.pcapng"
        stream = subprocess.Popen(["curl", "-N", "-s", "--cacert", str(pki / "ca.pem"), "-u", "admin:" + c.password,
                                   "-o", str(out), "https://127.0.0.1:%d/pcap/all_packets.pcapng" % c.port])
        deadline = time.monotonic() + 10
        while b"hopwire.pcap.stream.id" not in curl(c, pki, "/pcap/streams.json").stdout:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        s = Sensor(c, "%s:name=tls,realtime=false" % WIFITE, extra=["--disable-retry", "--ssl=%s" % (pki / "ca.pem")])
        assert s.run(timeout=60) == 0, s.out
        frames = frame_count(WIFITE)
        sources = {x["kismet.datasource.name"]: x for x in json.loads(curl(c, pki, "/datasource/all_sources.json").stdout)}
        assert sources["tls"]["kismet.datasource.num_packets"] == frames
        # Wait until the stream has handed everything to curl, then stop it.
        deadline = time.monotonic() + 30
        while True:
            st = json.loads(curl(c, pki, "/pcap/streams.json").stdout)[0]
            if st["hopwire.pcap.stream.queued_bytes"] == 0 and out.exists() and \
                    out.stat().st_size == st["hopwire.pcap.stream.bytes_sent"]:
                break
            assert time.monotonic() < deadline, st
            time.sleep(0.1)
        stream.terminate()
        stream.wait()
        count = subprocess.run(["capinfos", "-c", "-M", "-T", "-r", str(out)], capture_output=True, text=True)
        assert count.returncode == 0, count.stderr
        assert int(count.stdout.strip().split("\t")[-1]) == frames
    finally:
        c.stop()


def sensor_output(c, pki, ca):
    s = Sensor(c, "%s:name=refused,realtime=false" % WIFITE, extra=["--disable-retry", "--ssl=%s" % (pki / ca)])
    rc = s.run(timeout=60)
    return rc, s.out


def test_sensor_refuses_a_certificate_from_another_ca(tmp_path, pki):
    c = tls_collector(tmp_path, pki)
    try:
        rc, out = sensor_output(c, pki, "other-ca.pem")
        assert rc != 0
        assert "certificate verify failed" in out and "local issuer certificate" in out, out
        names = [x["kismet.datasource.name"] for x in json.loads(curl(c, pki, "/datasource/all_sources.json").stdout)]
        assert "refused" not in names
    finally:
        c.stop()


def test_sensor_refuses_a_certificate_for_another_host(tmp_path, pki):
    c = tls_collector(tmp_path, pki, cert="wronghost")
    try:
        rc, out = sensor_output(c, pki, "ca.pem")
        assert rc != 0
        assert "the certificate is not for host 127.0.0.1" in out, out
    finally:
        c.stop()

"""Behind a real nginx terminating TLS under a path prefix: the collector
runs with --uri-prefix, a sensor connects through the proxy with --endpoint,
and REST and pcap-ng work through it."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import CAPTURES, Collector, Sensor, free_port, frame_count, wait_for_port
from test_tls import pki  # noqa: F401  (the test CA fixture)

WIFITE = [c for c in CAPTURES if c.name.startswith("wifite2")][0]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {pki}/server.pem;
    ssl_certificate_key {pki}/server.key;
    location /hopwire/ {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }}
  }}
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
}}
"""


@pytest.fixture
def proxied(tmp_path, pki):  # noqa: F811
    if not os.path.exists(NGINX):
        pytest.fail("nginx is not installed: run deploy/setup-debian.sh")
    c = Collector(tmp_path, extra_args=["--uri-prefix", "/hopwire"]).start()
    ndir = tmp_path / "nginx"
    ndir.mkdir()
    port = free_port()
    (ndir / "nginx.conf").write_text(CONF.format(user="user root;" if os.geteuid() == 0 else "", dir=ndir,
                                                 port=port, pki=pki, upstream=c.port))
    proc = subprocess.Popen([NGINX, "-p", str(ndir), "-c", str(ndir / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc=proc)
        yield c, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        c.stop()


def test_sensor_and_rest_through_nginx_with_a_prefix(proxied, pki, tmp_path):  # noqa: F811
    c, port = proxied
    base = "https://127.0.0.1:%d/hopwire" % port
    curl = ["curl", "-s", "-S", "--cacert", str(pki / "ca.pem"), "-u", "admin:" + c.password]
    live = tmp_path / "live.pcapng"
    stream = subprocess.Popen(curl + ["-N", "-o", str(live), base + "/pcap/all_packets.pcapng"])
    deadline = time.monotonic() + 10
    while not json.loads(subprocess.run(curl + [base + "/pcap/streams.json"], capture_output=True).stdout):
        assert time.monotonic() < deadline, "stream did not open through the proxy"
        time.sleep(0.05)
    s = Sensor(c, "%s:name=proxied,realtime=false" % WIFITE,
               extra=["--disable-retry", "--ssl=%s" % (pki / "ca.pem"),
                      "--endpoint", "/hopwire/datasource/remote/remotesource.ws"])
    s.args[s.args.index("--connect") + 1] = "127.0.0.1:%d" % port
    assert s.run(timeout=60) == 0, s.out
    frames = frame_count(WIFITE)
    sources = {x["kismet.datasource.name"]: x
               for x in json.loads(subprocess.run(curl + [base + "/datasource/all_sources.json"],
                                                  capture_output=True).stdout)}
    assert sources["proxied"]["kismet.datasource.num_packets"] == frames
    assert sources["proxied"]["kismet.datasource.remote_ip"] == "127.0.0.1"
    devices = json.loads(subprocess.run(curl + [base + "/devices/views/all/devices.json"], capture_output=True).stdout)
    assert len(devices) > 20
    deadline = time.monotonic() + 30
    while True:
        st = json.loads(subprocess.run(curl + [base + "/pcap/streams.json"], capture_output=True).stdout)[0]
        if st["hopwire.pcap.stream.queued_bytes"] == 0 and live.exists() and \
                live.stat().st_size == st["hopwire.pcap.stream.bytes_sent"]:
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.1)
    stream.terminate()
    stream.wait()
    count = subprocess.run(["capinfos", "-c", "-M", "-T", "-r", str(live)], capture_output=True, text=True)
    assert count.returncode == 0, count.stderr
    assert int(count.stdout.strip().split("\t")[-1]) == frames
    # Without the prefix, through the proxy, there is nothing.
    rc = subprocess.run(curl + ["-o", "/dev/null", "-w", "%{http_code}",
                                "https://127.0.0.1:%d/system/status.json" % port], capture_output=True, text=True)
    assert rc.stdout == "404"

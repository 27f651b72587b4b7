"""Harness for integration tests: real hopwire binaries on loopback ports
chosen at run time, driven by real clients (curl, tshark, the sensor)."""
import base64
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("HOPWIRE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("HOPWIRE_BUILD_DIR", SOURCE_DIR / "build"))
COLLECTOR = BUILD_DIR / "collector" / "hopwire-collector"
SENSOR = BUILD_DIR / "sensor" / "hopwire-sensor"
DATA = SOURCE_DIR / "tests" / "data"
TOOLS = SOURCE_DIR / "tests" / "tools"

CAPTURES = sorted(p for p in DATA.iterdir() if p.suffix in (".pcap", ".cap", ".pcapng"))


_ports_given = set()


def free_port():
    """A loopback port free now and not handed out before in this run: the
    kernel may offer a just-closed port again, and two clients told to bind
    the same one would be taken for each other."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def wait_for_port(port, timeout=20.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listening on port %d after %.0f s" % (port, timeout))


def frame_count(path):
    """Frame count of a capture as Wireshark's capinfos reports it."""
    out = subprocess.run(["capinfos", "-c", "-M", "-T", "-r", str(path)], check=True,
                         capture_output=True, text=True).stdout.strip()
    # -T -r: table without header: "<file>\t<count>"
    return int(out.split("\t")[-1])


class Http:
    """curl, as users would call it."""

    def __init__(self, base):
        self.base = base

    def request(self, method, path, user=None, password=None, token=None, headers=(), data=None,
                content_type=None, raw_url=None, max_time=20, header_file=None):
        cmd = ["curl", "-s", "-S", "-o", "-", "-w", "\n%{http_code}", "-X", method, "--max-time", str(max_time)]
        if header_file is not None:
            cmd += ["-D", str(header_file)]
        if user is not None:
            cmd += ["-u", "%s:%s" % (user, password)]
        if token is not None:
            cmd += ["-H", "Authorization: Bearer " + token]
        for h in headers:
            cmd += ["-H", h]
        if content_type:
            cmd += ["-H", "Content-Type: " + content_type]
        if data is not None:
            cmd += ["--data-binary", "@-"]
        cmd.append(raw_url or (self.base + path))
        res = subprocess.run(cmd, input=data.encode() if isinstance(data, str) else data,
                             capture_output=True, timeout=max_time + 10)
        body, _, status = res.stdout.rpartition(b"\n")
        return int(status or 0), body

    def request_full(self, method, path, **kw):
        """Like request(), plus the response headers: (status, {lower-case name: value}, body)."""
        with tempfile.NamedTemporaryFile(prefix="hopwire-headers-") as f:
            status, body = self.request(method, path, header_file=f.name, **kw)
            text = pathlib.Path(f.name).read_text(errors="replace")
        # The last header block (after any 100 Continue).
        blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
        headers = {}
        for line in (blocks[-1].splitlines()[1:] if blocks else []):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, body

    def get_json(self, path, **kw):
        status, body = self.request("GET", path, **kw)
        assert status == 200, "GET %s: HTTP %d %r" % (path, status, body[:300])
        return json.loads(body)


class Collector:
    def __init__(self, workdir, extra_args=(), env=None, admin_password=None, tcp=True, rlimit_nofile=None):
        self.workdir = pathlib.Path(workdir)
        self.rlimit_nofile = rlimit_nofile  # (soft, hard) for the collector process, as `ulimit -n` sets
        self.state_dir = self.workdir / "state"
        self.port = free_port()
        self.tcp_port = free_port() if tcp else 0
        self.extra_args = list(extra_args)
        self.env = dict(os.environ)
        self.env.pop("HOPWIRE_ADMIN_PASSWORD", None)
        if admin_password:
            self.env["HOPWIRE_ADMIN_PASSWORD"] = admin_password
        if env:
            self.env.update(env)
        self.proc = None
        self.log_path = self.workdir / "collector.log"
        self.http = Http("http://127.0.0.1:%d" % self.port)
        self.starts = 0

    def args(self):
        return [str(COLLECTOR), "--state-dir", str(self.state_dir), "--listen", "127.0.0.1:%d" % self.port,
                "--remote-capture-port", str(self.tcp_port)] + self.extra_args

    def start(self):
        self.starts += 1
        log = open(self.log_path, "ab")
        preexec = None
        if self.rlimit_nofile is not None:
            limit = self.rlimit_nofile

            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, limit)
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                     preexec_fn=preexec)
        log.close()
        wait_for_port(self.port, proc=self.proc)
        return self

    @property
    def password(self):
        if "HOPWIRE_ADMIN_PASSWORD" in self.env:
            return self.env["HOPWIRE_ADMIN_PASSWORD"]
        return (self.state_dir / "admin-password").read_text().strip()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path, **kw):
        kw.setdefault("user", "admin")
        kw.setdefault("password", self.password)
        return self.http.get_json(path, **kw)

    def sources(self):
        return {s["kismet.datasource.name"]: s for s in self.get("/datasource/all_sources.json")}

    def status(self):
        return self.get("/system/status.json")

    def token(self, role, name):
        out = subprocess.run([str(COLLECTOR), "token", "create", "--state-dir", str(self.state_dir), "--role", role,
                              "--name", name], check=True, capture_output=True, text=True)
        return out.stdout.strip()


class Sensor:
    """One hopwire-sensor process."""

    def __init__(self, collector, source, *, user="admin", password=None, apikey=None, extra=(), tcp=False,
                 log_path=None):
        self.collector = collector
        args = [str(SENSOR), "--source", source]
        env = dict(os.environ)
        env.pop("HOPWIRE_PASSWORD", None)
        env.pop("HOPWIRE_APIKEY", None)
        if tcp:
            args += ["--connect", "127.0.0.1:%d" % collector.tcp_port, "--tcp"]
        else:
            args += ["--connect", "127.0.0.1:%d" % collector.port]
        if apikey is not None:
            env["HOPWIRE_APIKEY"] = apikey
        elif user is not None:
            args += ["--user", user]
            env["HOPWIRE_PASSWORD"] = password if password is not None else collector.password
        self.args = args + list(extra)
        self.env = env
        self.log_path = log_path
        self.proc = None

    def start(self):
        out = open(self.log_path, "ab") if self.log_path else subprocess.PIPE
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        if self.log_path:
            out.close()
        return self

    def wait(self, timeout=120):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise AssertionError("sensor did not finish in %d s; output:\n%s" % (timeout, self.output(out)))
        self.out = self.output(out)
        return self.proc.returncode

    def output(self, out=None):
        if self.log_path:
            return pathlib.Path(self.log_path).read_text(errors="replace")
        return (out or b"").decode(errors="replace")

    def run(self, timeout=120):
        self.start()
        return self.wait(timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@pytest.fixture
def collector(tmp_path):
    c = Collector(tmp_path).start()
    yield c
    c.stop()


_crafted = {}


@pytest.fixture(scope="session")
def crafted_dir():
    d = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-crafted-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def crafted(crafted_dir):
    """crafted(frames, **opts) -> path of a crafted radiotap pcap (cached)."""

    def make(frames, **opts):
        key = (frames, tuple(sorted(opts.items())))
        if key not in _crafted:
            path = crafted_dir / ("crafted-%d-%d.pcap" % (frames, len(_crafted)))
            cmd = [sys.executable, str(TOOLS / "make_capture.py"), str(path), "--frames", str(frames)]
            for k, v in opts.items():
                cmd += ["--" + k.replace("_", "-"), str(v)]
            subprocess.run(cmd, check=True)
            _crafted[key] = path
        return _crafted[key]

    return make


def basic_auth(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: runs in the hwsim Wi-Fi VM (ctest entry vm_live_capture)")

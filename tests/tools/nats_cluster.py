"""A nats-server cluster on loopback for tests and benchmarks: n servers
routed into one cluster, JetStream on file storage in a directory of its
own, a user with a random password (NATS is never open), TLS when given a
directory holding nats.pem and nats.key. Ports are free ones picked now.

  from nats_cluster import NatsCluster
  nats = NatsCluster(workdir, n=3, free_port=free_port)
  nats.start_all()            # waits for every /healthz
  nats.url(0), nats.user, nats.password_file
  nats.kill9(1); nats.start(1); nats.stop_all()
"""
import json
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

NATS_SERVER = shutil.which("nats-server")


def _any_free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsCluster:
    """n nats-server processes routed into one cluster, JetStream on file
    storage, a user with a random password (NATS is never open)."""

    def __init__(self, workdir, n=3, tls_dir=None, free_port=_any_free_port):
        self.tls = tls_dir is not None
        self.dir = pathlib.Path(workdir) / "nats"
        self.dir.mkdir()
        tls_dir = pathlib.Path(tls_dir) if tls_dir else None
        self.user = "hopwire"
        self.password = secrets.token_urlsafe(18)
        self.password_file = self.dir / "password"
        self.password_file.write_text(self.password + "\n")
        self.client = [free_port() for _ in range(n)]
        self.route = [free_port() for _ in range(n)]
        self.monitor = [free_port() for _ in range(n)]
        route_pw = secrets.token_urlsafe(18)
        self.procs = [None] * n
        self.confs = []
        for i in range(n):
            routes = ", ".join("nats-route://route:%s@127.0.0.1:%d" % (route_pw, self.route[j])
                               for j in range(n) if j != i)
            conf = self.dir / ("n%d.conf" % i)
            text = ("server_name: hw-nats-%d\n"
                    "listen: 127.0.0.1:%d\n"
                    "http: 127.0.0.1:%d\n"
                    "jetstream { store_dir: \"%s\", max_memory_store: 64MB, max_file_store: 1GB }\n"
                    "authorization { users: [ { user: %s, password: \"%s\" } ] }\n"
                    % (i, self.client[i], self.monitor[i], self.dir / ("store%d" % i), self.user, self.password))
            if n > 1:
                text += ("cluster {\n  name: hopwire-test\n  listen: 127.0.0.1:%d\n"
                         "  authorization { user: route, password: \"%s\" }\n  routes: [%s]\n}\n"
                         % (self.route[i], route_pw, routes))
            if self.tls:
                text += ("tls { cert_file: \"%s\", key_file: \"%s\", timeout: 2 }\n"
                         % (tls_dir / "nats.pem", tls_dir / "nats.key"))
            conf.write_text(text)
            self.confs.append(conf)

    def url(self, i):
        return "%s://127.0.0.1:%d" % ("tls" if self.tls else "nats", self.client[i])

    def start(self, i):
        log = open(self.dir / ("n%d.log" % i), "ab")
        self.procs[i] = subprocess.Popen([NATS_SERVER, "-c", str(self.confs[i])], stdout=log,
                                         stderr=subprocess.STDOUT)
        log.close()

    def healthy(self, i):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.monitor[i], timeout=2) as r:
                return b"ok" in r.read()
        except OSError:
            return False

    def start_all(self):
        for i in range(len(self.procs)):
            self.start(i)
        deadline = time.monotonic() + 30
        while not all(self.healthy(i) for i in range(len(self.procs))):
            assert time.monotonic() < deadline, "the NATS cluster did not come up:\n" + self.logs()
            time.sleep(0.2)

    def kill9(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(timeout=10)

    def stop_all(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()

    def logs(self):
        return "\n".join((self.dir / ("n%d.log" % i)).read_text(errors="replace")[-2000:]
                         for i in range(len(self.procs)) if (self.dir / ("n%d.log" % i)).exists())

    def pids(self):
        return [p.pid for p in self.procs if p and p.poll() is None]

    def varz(self, i):
        """The server's /varz counters (in_msgs, in_bytes, out_msgs, out_bytes, cpu, mem)."""
        with urllib.request.urlopen("http://127.0.0.1:%d/varz" % self.monitor[i], timeout=5) as r:
            return json.loads(r.read())

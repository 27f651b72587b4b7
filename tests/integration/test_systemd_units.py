"""deploy/systemd: both units pass `systemd-analyze verify`, say what the
hardening asks for, and the collector really runs inside the collector
unit's sandbox as far as it can be rebuilt without systemd as PID 1: as an
unprivileged user with no capabilities and no_new_privs, with every file
system read-only except its state directory."""
import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import tempfile

import pytest

from conftest import CAPTURES, COLLECTOR, SENSOR, SOURCE_DIR, Sensor, free_port, frame_count, wait_for_port

UNITS = SOURCE_DIR / "deploy" / "systemd"
COLLECTOR_UNIT = UNITS / "hopwire-collector.service"
SENSOR_UNIT = UNITS / "hopwire-sensor@.service"
NOBODY = 65534


def service_settings(unit):
    """[Service] settings: {key: [values in order]}."""
    out, section = {}, None
    for line in unit.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def verify(path, instance=None):
    target = path
    if instance:
        target = path.parent / path.name.replace("@.", "@%s." % instance)
        target.symlink_to(path.name)
    res = subprocess.run(["systemd-analyze", "verify", str(target)], capture_output=True, text=True, timeout=120)
    # verify exits 0 on settings it ignores; those are failures here too.
    ours = [l for l in (res.stdout + res.stderr).splitlines() if "hopwire" in l]
    return res.returncode, ours


def copy_with_binary(unit, binary, tmp_path):
    """verify checks that ExecStart's program exists: point it at the build."""
    text = re.sub(r"^ExecStart=\S+", "ExecStart=" + str(binary), unit.read_text(), flags=re.M)
    dest = tmp_path / unit.name
    dest.write_text(text)
    return dest


def test_both_units_pass_systemd_analyze_verify(tmp_path):
    rc, out = verify(copy_with_binary(COLLECTOR_UNIT, COLLECTOR, tmp_path))
    assert rc == 0 and not out, out
    rc, out = verify(copy_with_binary(SENSOR_UNIT, SENSOR, tmp_path), instance="wlan1")
    assert rc == 0 and not out, out


def test_verify_would_report_a_broken_setting(tmp_path):
    # The check above means something: a typo in a setting is reported.
    broken = tmp_path / "broken" / COLLECTOR_UNIT.name
    broken.parent.mkdir()
    broken.write_text(copy_with_binary(COLLECTOR_UNIT, COLLECTOR, tmp_path).read_text()
                      .replace("ProtectSystem=strict", "ProtectSystem=strikt"))
    _, out = verify(broken)
    assert any("strikt" in l for l in out), out


def test_collector_unit_asks_for_the_agreed_hardening():
    s = service_settings(COLLECTOR_UNIT)
    assert s["Type"] == ["notify"] and s["WatchdogSec"]
    assert s["CapabilityBoundingSet"] == [""] and s["AmbientCapabilities"] == [""]
    assert s["NoNewPrivileges"] == ["yes"]
    assert s["ProtectSystem"] == ["strict"] and s["ProtectHome"] == ["yes"] and s["PrivateTmp"] == ["yes"]
    assert s["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert s["SystemCallFilter"] == ["@system-service"]
    assert s["Restart"] == ["on-failure"]
    assert s["User"] != ["root"] or s.get("DynamicUser") == ["yes"]
    state = "/var/lib/" + s["StateDirectory"][0]
    argv = s["ExecStart"][0].split()
    assert argv[argv.index("--config") + 1] == "/etc/hopwire/collector.yaml"
    assert argv[argv.index("--state-dir") + 1] == state


def test_sensor_unit_is_not_root_and_keeps_only_two_capabilities():
    s = service_settings(SENSOR_UNIT)
    assert s.get("DynamicUser") == ["yes"] or (s.get("User") and s["User"] != ["root"])
    assert set(s["AmbientCapabilities"][0].split()) == {"CAP_NET_ADMIN", "CAP_NET_RAW"}
    assert set(s["CapabilityBoundingSet"][0].split()) == {"CAP_NET_ADMIN", "CAP_NET_RAW"}
    assert s["NoNewPrivileges"] == ["yes"]
    assert s["EnvironmentFile"] == ["/etc/hopwire/sensor-%i.env"]
    argv = s["ExecStart"][0].split()
    assert "--source" in argv and argv[argv.index("--source") + 1].startswith("%i")
    assert not any("APIKEY" in a or "--apikey" in a for a in argv)  # the token stays off the command line


# --- the collector inside the unit's sandbox -------------------------------

# ProtectSystem=strict + StateDirectory=: in a mount namespace of its own,
# every mount read-only except the state directory (the API file systems
# /proc, /sys and /dev stay). User= + CapabilityBoundingSet= (empty) +
# NoNewPrivileges=: setpriv to an unprivileged uid, no capabilities at all.
SANDBOX = r"""
set -e
state=$1
shift
mount --bind "$state" "$state"
for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"$state") continue ;; esac
  mount -o remount,bind,ro "$m"
done
exec setpriv --reuid=%(uid)d --regid=%(uid)d --clear-groups --no-new-privs \
  --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- "$@"
""" % {"uid": NOBODY}


def sandbox_available():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          "mount -o remount,bind,ro / && true"], capture_output=True)
    return res.returncode == 0


def sandboxed(state, argv):
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX, "sandbox", str(state)] + argv


def proc_status(pid):
    fields = {}
    for line in pathlib.Path("/proc/%d/status" % pid).read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def socket_families(pid):
    """The address family of every socket the process holds."""
    inodes = set()
    for fd in pathlib.Path("/proc/%d/fd" % pid).iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    families = {}
    for family, table in (("AF_INET", "tcp"), ("AF_INET", "udp"), ("AF_INET6", "tcp6"), ("AF_INET6", "udp6"),
                          ("AF_UNIX", "unix")):
        lines = pathlib.Path("/proc/%d/net/%s" % (pid, table)).read_text().splitlines()[1:]
        for line in lines:
            cols = line.split()
            inode = cols[6] if table == "unix" else cols[9]
            if inode in inodes:
                families[inode] = family
    return {families.get(i, "other") for i in inodes}


@pytest.fixture
def sandbox_dirs():
    if not sandbox_available():
        pytest.skip("needs root and mount namespaces (unshare) to rebuild the unit's sandbox")
    top = pathlib.Path(tempfile.mkdtemp(prefix="hopwire-unit-"))
    os.chmod(top, 0o755)  # the unprivileged user must reach its state directory
    state = top / "state"
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)
    yield top, state
    shutil.rmtree(top, ignore_errors=True)


def test_the_sandbox_rebuild_is_real(sandbox_dirs):
    top, state = sandbox_dirs
    probe = ["sh", "-c", 'touch "$0/ok" && ! touch /var/tmp/hopwire-sandbox-probe 2>/dev/null '
                         '&& ! touch "$0/../outside" 2>/dev/null', str(state)]
    res = subprocess.run(sandboxed(state, probe), capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert (state / "ok").exists() and not (top / "outside").exists()


def test_collector_runs_under_the_collector_units_constraints(sandbox_dirs):
    top, state = sandbox_dirs
    port, tcp_port = free_port(), free_port()
    config = top / "collector.yaml"
    config.write_text("listen: 127.0.0.1:%d\nremote_capture_port: %d\n" % (port, tcp_port))
    os.chmod(config, 0o644)
    # The unit's own command line, with the build's binary and our paths.
    argv = service_settings(COLLECTOR_UNIT)["ExecStart"][0].split()
    argv[0] = str(COLLECTOR)
    argv[argv.index("--config") + 1] = str(config)
    argv[argv.index("--state-dir") + 1] = str(state)
    log_path = top / "collector.log"
    env = dict(os.environ, HOPWIRE_ADMIN_PASSWORD="sandbox-admin-pw")
    env.pop("NOTIFY_SOCKET", None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(sandboxed(state, argv), stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, proc=proc)
        status = proc_status(proc.pid)
        assert status["Uid"].split()[0] == str(NOBODY)
        for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[caps], 16) == 0, (caps, status[caps])
        assert status["NoNewPrivs"] == "1"

        # Real work: a sensor replays a capture, which the collector stores.
        class C:  # what Sensor needs to know about the collector
            pass
        c = C()
        c.port, c.tcp_port, c.password = port, tcp_port, "sandbox-admin-pw"
        cap = CAPTURES[0]
        sensor = Sensor(c, "%s:name=sandboxed,realtime=false" % cap, extra=["--disable-retry"])
        assert sensor.run(timeout=60) == 0, sensor.out
        out = subprocess.run(["curl", "-s", "-u", "admin:sandbox-admin-pw",
                              "http://127.0.0.1:%d/datasource/all_sources.json" % port],
                             capture_output=True, text=True, timeout=30).stdout
        sources = {x["kismet.datasource.name"]: x for x in json.loads(out)}
        assert sources["sandboxed"]["kismet.datasource.num_packets"] == frame_count(cap)

        # RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
        assert socket_families(proc.pid) <= {"AF_INET", "AF_INET6", "AF_UNIX"}
        # MemoryDenyWriteExecute=yes: no mapping both writable and executable.
        maps = pathlib.Path("/proc/%d/maps" % proc.pid).read_text().splitlines()
        assert not [m for m in maps if "w" in m.split()[1] and "x" in m.split()[1]]

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = log_path.read_text(errors="replace")
    assert "Read-only file system" not in log and "Permission denied" not in log, log
    # Everything it wrote is in its state directory, owned by its user.
    assert (state / "db").is_dir()
    for p in state.rglob("*"):
        assert p.stat().st_uid == NOBODY, p
    assert stat.S_IMODE(state.stat().st_mode) == 0o700

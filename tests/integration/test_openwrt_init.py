"""The OpenWRT init script turns /etc/config/hopwire into sensor command
lines. Run with a procd/UCI stand-in (tests/openwrt/procd_standin.sh) and
checked argument by argument; one generated command line is then run for
real against a collector."""
import os
import pathlib
import stat
import subprocess

from conftest import CAPTURES, SENSOR, SOURCE_DIR, Collector, frame_count

INIT = SOURCE_DIR / "deploy" / "openwrt" / "hopwire-sensor" / "files" / "hopwire.init"
DEFAULT_CONFIG = SOURCE_DIR / "deploy" / "openwrt" / "hopwire-sensor" / "files" / "hopwire.config"
STANDIN = SOURCE_DIR / "tests" / "openwrt" / "procd_standin.sh"


def run_init(tmp_path, config, action="start", prog=None):
    uci = tmp_path / "uci"
    uci.mkdir(exist_ok=True)
    (uci / "hopwire").write_text(config)
    run_dir = tmp_path / "run"
    env = dict(os.environ, UCI_CONFIG_DIR=str(uci), STANDIN_RUN_DIR=str(run_dir))
    if prog:
        env["STANDIN_PROG"] = str(prog)
    res = subprocess.run(["sh", str(STANDIN), str(INIT), action], env=env, capture_output=True, text=True,
                         timeout=30)
    return res, run_dir


def instances(out):
    """{instance name: {"command": [argv], "params": {name: value}}}"""
    found, cur = {}, None
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if key == "instance":
            cur = found[value] = {"command": [], "params": {}}
        elif key == "command":
            cur["command"].append(value)
        elif key == "param":
            name, _, rest = value.partition(" ")
            cur["params"][name] = rest
        elif key == "end":
            cur = None
    return found


FULL = """
config hopwire 'sensor'
	option enabled '1'
	option server 'collector.example.net:443'
	option token 's3cret-token'
	option ca_file '{ca}'
	option endpoint '/hopwire/datasource/remote/remotesource.ws'
	option fixed_gps '52.3702,4.8952,12'
	option gps_name 'roof'
	option buffer '8MiB'
	option log_level 'debug'

config source 'radio1'
	option interface 'wlan1'
	option name 'roof-5g'
	option uuid '8c9f1a2e-1111-4222-8333-444455556666'
	option channels '36,40,44,48'
	option extra 'filter_locals=true'

config source 'radio0'
	option enabled '0'
	option interface 'wlan0'

config source 'radio2'
	option interface 'wlan2'
"""


def test_full_config_gives_exact_command_lines_and_keeps_the_token_off_them(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("dummy\n")
    res, run_dir = run_init(tmp_path, FULL.format(ca=ca))
    assert res.returncode == 0, res.stderr
    inst = instances(res.stdout)
    assert sorted(inst) == ["radio1", "radio2"]  # radio0 is disabled
    token_file = run_dir / "token"
    assert inst["radio1"]["command"] == [
        "/usr/bin/hopwire-sensor",
        "--connect", "collector.example.net:443",
        "--source", 'wlan1:name=roof-5g,uuid=8c9f1a2e-1111-4222-8333-444455556666,channels="36,40,44,48",'
                    "filter_locals=true",
        "--apikey-file", str(token_file),
        "--ssl=" + str(ca),
        "--endpoint", "/hopwire/datasource/remote/remotesource.ws",
        "--fixed-gps", "52.3702,4.8952,12",
        "--gps-name", "roof",
        "--buffer", "8MiB",
        "--log-level", "debug",
    ]
    assert inst["radio2"]["command"][:5] == ["/usr/bin/hopwire-sensor", "--connect", "collector.example.net:443",
                                             "--source", "wlan2"]
    assert inst["radio1"]["params"]["respawn"] == "3600 5 0"
    assert inst["radio1"]["params"]["file"] == "/etc/config/hopwire " + str(token_file)
    # The token is in a file only its owner can read, and on no command line.
    assert token_file.read_text() == "s3cret-token\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert "s3cret-token" not in res.stdout


def test_minimal_config_uses_the_defaults(tmp_path):
    res, _ = run_init(tmp_path, """
config hopwire 'sensor'
	option enabled '1'
	option server '[fd00::1]:2501'
	option token_file '{tf}'
	option ssl 'yes'

config source
	option enabled 'true'
	option interface 'wlan1'
""".format(tf=DEFAULT_CONFIG))  # any existing file will do as the token file
    assert res.returncode == 0, res.stderr
    inst = instances(res.stdout)
    assert list(inst.values())[0]["command"] == [
        "/usr/bin/hopwire-sensor", "--connect", "[fd00::1]:2501", "--source", "wlan1",
        "--apikey-file", str(DEFAULT_CONFIG), "--ssl", "--buffer", "4MiB", "--log-level", "info"]


def test_the_shipped_config_starts_nothing_until_enabled(tmp_path):
    res, _ = run_init(tmp_path, DEFAULT_CONFIG.read_text())
    assert res.returncode == 0, res.stderr
    assert instances(res.stdout) == {}


def test_invalid_values_are_refused_by_validation(tmp_path):
    base = "config hopwire 'sensor'\n\toption enabled '1'\n\toption server 'c:1'\n\toption token 't'\n"
    source = "config source 's'\n\toption interface 'wlan1'\n"
    res, _ = run_init(tmp_path, base + "\toption log_level 'chatty'\n" + source)
    assert res.returncode != 0 and "log_level" in res.stderr
    res, _ = run_init(tmp_path, base + "\toption ca_file '/nonexistent/ca.pem'\n" + source)
    assert res.returncode != 0 and "ca_file" in res.stderr
    # A bad source section is skipped, the others still start.
    res, _ = run_init(tmp_path, base + source + "config source 'bad'\n\toption enabled 'perhaps'\n")
    assert res.returncode == 0
    assert list(instances(res.stdout)) == ["s"] and "'bad'" in res.stderr
    # No token at all: nothing starts.
    res, _ = run_init(tmp_path, "config hopwire 'sensor'\n\toption enabled '1'\n\toption server 'c:1'\n" + source)
    assert res.returncode != 0 and "token" in res.stderr


def test_reload_trigger_and_validation_are_registered(tmp_path):
    res, _ = run_init(tmp_path, DEFAULT_CONFIG.read_text(), action="triggers")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "reload_trigger hopwire" in lines
    assert any(l.startswith("validate hopwire ") and "server:string" in l for l in lines)
    assert any(l.startswith("validate source ") and "interface:string" in l for l in lines)


def test_a_generated_command_line_streams_to_a_real_collector(tmp_path):
    (tmp_path / "collector").mkdir()
    c = Collector(tmp_path / "collector").start()
    try:
        token = c.token("datasource", "openwrt-box")
        cap = CAPTURES[0]
        res, _ = run_init(tmp_path, """
config hopwire 'sensor'
	option enabled '1'
	option server '127.0.0.1:{port}'
	option token '{token}'

config source 'replay'
	option interface '{cap}'
	option name 'from-uci'
	option extra 'realtime=false'
""".format(port=c.port, token=token, cap=cap), prog=SENSOR)
        assert res.returncode == 0, res.stderr
        argv = instances(res.stdout)["replay"]["command"]
        assert token not in argv
        run = subprocess.run(argv + ["--disable-retry"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        src = c.sources()["from-uci"]
        assert src["kismet.datasource.num_packets"] == frame_count(cap)
    finally:
        c.stop()

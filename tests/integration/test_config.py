"""hopwire-collector config check: the example passes; broken files fail
with the line, the column and what was expected, every error at once."""
import subprocess
import textwrap

import pytest

from conftest import COLLECTOR, SOURCE_DIR, Collector

EXAMPLE = SOURCE_DIR / "deploy" / "examples" / "collector.yaml"


def check(path):
    return subprocess.run([str(COLLECTOR), "config", "check", str(path)], capture_output=True, text=True)


def test_the_example_passes():
    out = check(EXAMPLE)
    assert out.returncode == 0, out.stderr
    assert "OK (5 sensors, 2 groups)" in out.stdout


BROKEN = [
    ("bad indent", """
        groups:
          roof:
            strategy: split
           channels: [1, 6]
        """, ":4:", "indentation"),
    ("unknown key", """
        listen: 127.0.0.1:2501
        colour: blue
        """, ":2:1: unknown setting 'colour'", "known: listen"),
    ("unknown sensor key", """
        sensors:
          - name: a
            chanels: [1]
        """, ":3:5: sensor: unknown key 'chanels'", "known: uuid, name, group, channels"),
    ("bad channel", """
        sensors:
          - name: a
            channels: [1, 6HT80, 11]
        """, ":3:19: channels: channel '6HT80': unknown suffix", "HT40+"),
    ("duplicate uuid", """
        sensors:
          - uuid: 5584a2af-93c3-5f16-8258-7442c95306b5
          - name: b
          - uuid: 5584A2AF-93C3-5F16-8258-7442C95306B5
        """, ":4:5: duplicate sensor uuid 5584a2af-93c3-5f16-8258-7442c95306b5", "first at"),
    ("wrong type", """
        threads: many
        """, ":1:10: threads: expected a number of threads, got 'many'", ""),
    ("wrong type, list", """
        sensors:
          name: a
        """, ":2:3: sensors: expected a list of sensors", ""),
    ("bad strategy", """
        groups:
          roof: {strategy: sideways}
        """, "strategy: expected split or offset, got 'sideways'", ""),
    ("undefined group", """
        sensors:
          - name: a
            group: attic
        """, "names group 'attic', which the groups section does not define", ""),
    ("hop rate too fast", """
        groups:
          roof: {hop_rate: 50/sec}
        """, "hop_rate: expected above 0 and at most 20/sec", ""),
    ("bad location", """
        sensors:
          - name: a
            location: {lat: 95, lon: 0}
        """, "location: expected lat in [-90, 90]", ""),
]


@pytest.mark.parametrize("label,text,where,hint", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_files_fail_with_line_and_message(tmp_path, label, text, where, hint):
    path = tmp_path / "collector.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    out = check(path)
    assert out.returncode == 1, out
    assert str(path) in out.stderr
    assert where in out.stderr, out.stderr
    assert hint in out.stderr, out.stderr


def test_every_error_is_reported_at_once(tmp_path):
    path = tmp_path / "collector.yaml"
    path.write_text("threads: 0\ncolour: blue\nsensors:\n  - name: a\n    channels: [99]\n  - group: x\n")
    out = check(path)
    assert out.returncode == 1
    for text in (":1:10: threads: expected 1 to 64", ":2:1: unknown setting 'colour'",
                 ":5:16: channels: channel '99': 99 is not a 2.4 or 5 GHz channel number",
                 ":6:5: sensor: give a uuid or a name"):
        assert text in out.stderr, out.stderr
    assert "4 errors" in out.stderr


def test_a_collector_will_not_start_on_a_broken_file(tmp_path):
    path = tmp_path / "collector.yaml"
    path.write_text("colour: blue\n")
    c = Collector(tmp_path, extra_args=["--config", str(path)])
    proc = subprocess.run(c.args(), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "unknown setting 'colour'" in proc.stderr


def test_reload_without_a_config_file_says_so(collector):
    status, reply = collector.http.request("POST", "/admin/reload.cmd", user="admin", password=collector.password,
                                           data="{}")
    assert status == 400 and b"started without --config" in reply

"""Security: every route against every kind of credential, brute-force
limits, sessions, token management over REST, file modes, and no secret in
any log."""
import json
import os
import re
import stat
import subprocess
import time

from conftest import COLLECTOR, SOURCE_DIR

ROLES = ["admin", "readonly", "datasource", "scanreport", "gps", "metrics"]


def routes():
    out = subprocess.run([str(COLLECTOR), "routes", "--format", "json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def fill(path):
    return (path.replace("{uuid}", "8c9f1a2e-1111-4222-8333-444455556666")
            .replace("{key}", "4202770D00000000_0000001122334455").replace("{mac}", "00:11:22:33:44:55")
            .replace("{ts}", "0").replace("{title}", "x.pcapng").replace("{name}", "rooftop")
            .replace("{device}", "4202770D00000000_0000001122334466").replace("{view}", "all").replace("{hash}", "0")
            .replace("{id}", "1").replace("{type}", "both"))


def status(collector, method, path, auth=(), source="127.0.0.1"):
    """The status line's code, even for streams (curl gives up after 1 s)."""
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", "--interface", source]
    if method == "WS":
        cmd += ["-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
                "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    else:
        cmd += ["-X", method]
        if method == "POST":
            cmd += ["--data", "{}", "-H", "Content-Type: application/json"]
    cmd += list(auth) + [collector.http.base + path]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    return int(out[-3:]) if out else 0


def test_every_route_answers_each_credential_as_the_table_says(collector):
    table = routes()
    assert len(table) > 40
    tokens = {r: collector.token(r, "walk-" + r) for r in ROLES}
    expired = subprocess.run([str(COLLECTOR), "token", "create", "--state-dir", str(collector.state_dir), "--role",
                              "admin", "--name", "old", "--expires", "1s"], capture_output=True, text=True,
                             check=True).stdout.strip()
    revoked = collector.token("admin", "gone")
    subprocess.run([str(COLLECTOR), "token", "revoke", "gone", "--state-dir", str(collector.state_dir)], check=True,
                   capture_output=True)
    time.sleep(1.5)
    bad = {"none": (), "wrong password": ("-u", "admin:not-the-password"),
           "expired token": ("-H", "Authorization: Bearer " + expired),
           "revoked token": ("-H", "Authorization: Bearer " + revoked)}
    n = 0
    problems = []
    for r in table:
        path = fill(r["path"]).replace("{file}", "no-such-file.js")
        if r.get("open"):
            # The web UI's files: anyone may load them (the login page comes
            # first); they hold no data. Bad credentials change nothing.
            for label, auth in list(bad.items())[:1]:
                got = status(collector, r["method"], path, auth)
                if got in (401, 403):
                    problems.append("open route %s %s with %s: %d" % (r["method"], path, label, got))
            continue
        for label, auth in bad.items():
            # Failed logins are spread over many loopback addresses so the
            # brute-force limit (tested below) does not answer instead.
            n += 1
            got = status(collector, r["method"], path, auth, source="127.0.0.%d" % (2 + n % 60))
            if got != 401:
                problems.append("%s %s with %s: %d, expected 401" % (r["method"], path, label, got))
        for role in ROLES:
            got = status(collector, r["method"], path, ("-H", "Authorization: Bearer " + tokens[role]))
            allowed = role in r["roles"]
            if allowed and got in (401, 403, 429, 0):
                problems.append("%s %s as %s: %d, expected to be let in" % (r["method"], path, role, got))
            if not allowed and got != 403:
                problems.append("%s %s as %s: %d, expected 403" % (r["method"], path, role, got))
    for role in ROLES:
        got = status(collector, "GET", "/no/such/route.json", ("-H", "Authorization: Bearer " + tokens[role]))
        if got != 404:
            problems.append("unknown route as %s: %d" % (role, got))
    assert not problems, "\n".join(problems)


def test_security_doc_prints_the_route_table_from_the_code():
    doc = (SOURCE_DIR / "docs" / "security.md").read_text()
    table = subprocess.run([str(COLLECTOR), "routes"], capture_output=True, text=True, check=True).stdout
    assert table.strip() in doc, "docs/security.md is out of date: regenerate it with `hopwire-collector routes`"


def test_brute_force_gets_429_and_the_right_password_still_works_after(collector):
    codes, retry = [], None
    for _ in range(50):
        rc = subprocess.run(["curl", "-s", "-o", "/dev/null", "-D", "-", "-u", "admin:wrong",
                             collector.http.base + "/system/status.json"], capture_output=True, text=True).stdout
        code = int(rc.split()[1])
        codes.append(code)
        m = re.search(r"(?im)^retry-after:\s*(\d+)", rc)
        if m:
            retry = int(m.group(1))
    assert 429 in codes and codes[0] == 401, codes
    assert retry and retry >= 1
    # Another address is not affected, right now.
    assert status(collector, "GET", "/system/status.json", ("-u", "admin:" + collector.password),
                  source="127.0.0.77") == 200
    # This one is refused even with the right password until Retry-After.
    assert status(collector, "GET", "/system/status.json", ("-u", "admin:" + collector.password)) == 429
    time.sleep(retry + 0.2)
    assert status(collector, "GET", "/system/status.json", ("-u", "admin:" + collector.password)) == 200


def test_password_login_sets_a_session_cookie_that_works_alone(collector):
    out = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "-u", "admin:" + collector.password,
                          collector.http.base + "/session/check_login"], capture_output=True, text=True).stdout
    m = re.search(r"(?im)^set-cookie:\s*KISMET=([^;\s]+)(.*)$", out)
    assert m, out
    attrs = m.group(2)
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Max-Age=" in attrs
    cookie = ("-H", "Cookie: KISMET=" + m.group(1))
    assert status(collector, "GET", "/session/check_session", cookie) == 200
    assert status(collector, "GET", "/devices/views/all/devices.json", cookie) == 200
    assert status(collector, "GET", "/session/check_session", ("-H", "Cookie: KISMET=forged")) == 401
    # An API token works as the cookie too, as in Kismet.
    tok = collector.token("readonly", "cookie-token")
    assert status(collector, "GET", "/system/status.json", ("-H", "Cookie: KISMET=" + tok)) == 200


def test_tokens_over_rest_admin_only_and_never_shown_again(collector):
    admin = ("-u", "admin:" + collector.password)
    res = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-u", "admin:" + collector.password,
                          "--data", "json=" + json.dumps({"name": "rest-made", "role": "readonly", "duration": "1h"}),
                          collector.http.base + "/auth/apikey/generate.cmd"], capture_output=True, text=True).stdout
    body, code = res.rsplit("\n", 1)
    assert code == "200", body
    token = body.strip()
    assert token.startswith("hw_")
    bearer = ("-H", "Authorization: Bearer " + token)
    assert status(collector, "GET", "/system/status.json", bearer) == 200
    listing = subprocess.run(["curl", "-s", "-u", "admin:" + collector.password,
                              collector.http.base + "/auth/apikey/list.json"], capture_output=True, text=True).stdout
    entries = json.loads(listing)
    mine = [e for e in entries if e["kismet.httpd.auth.name"] == "rest-made"]
    assert mine and mine[0]["kismet.httpd.auth.role"] == "readonly" and mine[0]["kismet.httpd.auth.expiration"] > 0
    assert token not in listing
    assert status(collector, "POST", "/auth/apikey/generate.cmd", bearer) == 403  # readonly may not
    rc = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:" + collector.password,
                         "--data", json.dumps({"name": "rest-made"}), "-H", "Content-Type: application/json",
                         collector.http.base + "/auth/apikey/revoke.cmd"], capture_output=True, text=True).stdout
    assert rc == "200"
    assert status(collector, "GET", "/system/status.json", bearer) == 401


def test_files_are_private_and_no_secret_is_logged(collector):
    assert stat.S_IMODE(os.stat(collector.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(collector.state_dir / "admin-password").st_mode) == 0o600
    tok = collector.token("readonly", "secret-check")
    for auth in (("-u", "admin:" + collector.password), ("-u", "admin:wrong-secret-guess"),
                 ("-H", "Authorization: Bearer " + tok)):
        status(collector, "GET", "/system/status.json", auth)
    collector.stop()
    log = collector.log()
    for secret in (collector.password, tok, "wrong-secret-guess"):
        assert secret not in log

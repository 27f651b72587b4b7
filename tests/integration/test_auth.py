"""Nobody streams without the right credentials, and the sensor says why."""
import pytest

import wire
from conftest import CAPTURES, Sensor, basic_auth

WS = "/datasource/remote/remotesource.ws"


def ws_status(collector, authorization=None, path=WS):
    c = wire.WsClient(collector.port, path=path, authorization=authorization)
    status = c.status
    c.close()
    return status


def test_upgrade_without_credentials_is_401_with_challenge(collector):
    c = wire.WsClient(collector.port)
    assert c.status == 401
    assert "www-authenticate: basic" in c.response.lower()
    c.close()


def test_upgrade_statuses_for_each_kind_of_credential(collector):
    ro = collector.token("readonly", "viewer")
    ds = collector.token("datasource", "feeder")
    assert ws_status(collector, basic_auth("admin", "wrong-password")) == 401
    assert ws_status(collector, basic_auth("nobody", collector.password)) == 401
    assert ws_status(collector, "Bearer hw_not_a_real_token") == 401
    assert ws_status(collector, "Bearer " + ro) == 403
    assert ws_status(collector, "Bearer " + ds) == 101
    assert ws_status(collector, basic_auth("admin", collector.password)) == 101


def test_credentials_in_the_url_are_refused_with_400(collector):
    status, body = collector.http.request(
        "GET", "/system/status.json?user=admin&password=" + collector.password)
    assert status == 400
    assert b"Authorization header" in body
    assert ws_status(collector, path=WS + "?apikey=abc") == 400


def run_refused(collector, **kw):
    sensor = Sensor(collector, "%s:name=refused" % CAPTURES[0], extra=["--disable-retry"] + kw.pop("extra", []), **kw)
    rc = sensor.run(timeout=30)
    lines = [l for l in sensor.out.splitlines() if "error" in l]
    return rc, lines


def test_sensor_with_wrong_password_says_so_in_one_line_and_exits_nonzero(collector):
    rc, lines = run_refused(collector, password="wrong-password")
    assert rc != 0
    assert len(lines) == 1, lines
    assert "authentication failed (HTTP 401)" in lines[0]
    assert "wrong user name or password" in lines[0]


def test_sensor_token_without_datasource_role_is_refused_with_403(collector):
    token = collector.token("readonly", "looker")
    rc, lines = run_refused(collector, apikey=token)
    assert rc != 0
    assert len(lines) == 1, lines
    assert "HTTP 403" in lines[0] and "datasource" in lines[0]


def test_sensor_with_credentials_in_endpoint_url_is_refused(collector):
    rc, lines = run_refused(collector, extra=["--endpoint", WS + "?user=admin&password=x"])
    assert rc != 0
    assert len(lines) == 1, lines
    assert "HTTP 400" in lines[0] and "credentials in the URL" in lines[0]


def test_sensor_without_any_credentials_refuses_to_start(collector):
    sensor = Sensor(collector, "%s:name=nocreds" % CAPTURES[0], user=None, extra=["--disable-retry"])
    rc = sensor.run(timeout=30)
    assert rc != 0
    assert "no credentials" in sensor.out


def test_tcp_link_refuses_bad_and_wrong_role_tokens(collector):
    ro = collector.token("readonly", "tcp-viewer")
    for token, code_word in (("hw_bogus", "unknown or revoked"), (ro, "datasource")):
        sensor = Sensor(collector, "%s:name=tcp-refused" % CAPTURES[0], apikey=token, tcp=True,
                        extra=["--disable-retry"])
        assert sensor.run(timeout=30) != 0
        assert code_word in sensor.out, sensor.out
    assert "tcp-refused" not in collector.sources()


def test_rest_without_credentials_is_401_and_unknown_route_404(collector):
    status, _ = collector.http.request("GET", "/system/status.json")
    assert status == 401
    status, _ = collector.http.request("GET", "/no/such/route.json")
    assert status == 404
    status, _ = collector.http.request("GET", "/no/such/route.json", user="admin", password=collector.password)
    assert status == 404
    ds = collector.token("datasource", "ds-only")
    status, _ = collector.http.request("GET", "/system/status.json", token=ds)
    assert status == 403

"""Where packets are placed and when they are stamped: a virtual GPS fed over
REST (metagps=NAME), and the collector's clock instead of the sensor's
(timestamp=)."""
import json
import time

from conftest import DATA, Sensor

CAPTURE = DATA / "aircrack_wpa.cap"  # captured in 2005, or thereabouts


def post(collector, path, body, **auth):
    if not auth:
        auth = {"user": "admin", "password": collector.password}
    status, reply = collector.http.request("POST", path, content_type="application/json",
                                           data=body if isinstance(body, str) else json.dumps(body), **auth)
    return status, reply.decode(errors="replace")


def devices(collector):
    return collector.get("/devices/views/all/devices.json")


def test_packets_of_a_metagps_source_take_its_position(collector):
    gps = collector.token("gps", "van")
    status, reply = post(collector, "/gps/meta/van-1/update.cmd", {"lat": 52.52, "lon": 13.405, "alt": 34.5,
                                                                 "speed": 12}, token=gps)
    assert status == 200, reply
    Sensor(collector, "%s:name=van,metagps=van-1" % CAPTURE).run()
    located = [d for d in devices(collector) if "kismet.device.base.location" in d]
    assert located, "no device got a location"
    for d in located:
        last = d["kismet.device.base.location"]["kismet.common.location.last"]
        assert last["kismet.common.location.geopoint"] == [13.405, 52.52]
        assert last["kismet.common.location.alt"] == 34.5


def test_gps_updates_are_checked(collector):
    gps = collector.token("gps", "van")
    ro = collector.token("readonly", "viewer")
    for body, want, text in [
        ({"lat": 91, "lon": 0}, 400, '"lat" must be a number in'),
        ({"lat": 10}, 400, '"lon" is required'),
        ({"lat": "north", "lon": 0}, 400, '"lat" must be a number'),
        ("not json", 400, "expected a JSON object"),
    ]:
        status, reply = post(collector, "/gps/meta/van/update.cmd", body, token=gps)
        assert (status, text in reply) == (want, True), (body, status, reply)
    status, reply = post(collector, "/gps/meta/bad%20name/update.cmd", {"lat": 1, "lon": 1}, token=gps)
    assert status == 400 and "GPS names" in reply
    status, _ = post(collector, "/gps/meta/van/update.cmd", {"lat": 1, "lon": 1}, token=ro)
    assert status == 403


def test_replays_keep_their_times_unless_told_otherwise(collector):
    Sensor(collector, "%s:name=old" % CAPTURE).run()
    old = devices(collector)
    assert old and max(d["kismet.device.base.last_time"] for d in old) < 1.5e9  # the capture's own clock
    src = collector.sources()["old"]
    assert src["hopwire.datasource.collector_timestamps"] is False


def test_timestamp_true_stamps_with_the_collectors_clock(collector):
    before = time.time()
    Sensor(collector, "%s:name=now,timestamp=true" % CAPTURE).run()
    after = time.time()
    ds = devices(collector)
    assert ds
    for d in ds:
        assert before - 2 <= d["kismet.device.base.last_time"] <= after + 2, d["kismet.device.base.last_time"]
    assert collector.sources()["now"]["hopwire.datasource.collector_timestamps"] is True


def test_channel_commands_refuse_a_source_that_cannot_tune(collector):
    Sensor(collector, "%s:name=file" % CAPTURE).run()
    uuid = collector.sources()["file"]["kismet.datasource.uuid"]
    status, reply = post(collector, "/datasource/by-uuid/%s/set_channel.cmd" % uuid, {"channel": "6"})
    assert status == 409 and "has no channels to tune" in reply, reply
    ro = collector.token("readonly", "viewer")
    status, _ = post(collector, "/datasource/by-uuid/%s/set_channel.cmd" % uuid, {"channel": "6"}, token=ro)
    assert status == 403

"""Spine: a sensor replays captures over an authenticated WebSocket and the
collector counts every frame, per source, exactly."""
import pytest

from conftest import CAPTURES, Sensor, frame_count


def test_every_capture_in_tests_data_is_counted_exactly(collector):
    assert CAPTURES, "tests/data holds no captures"
    expected = {}
    for cap in CAPTURES:
        name = "replay-" + cap.stem
        sensor = Sensor(collector, "%s:name=%s,realtime=false" % (cap, name), extra=["--disable-retry"])
        rc = sensor.run(timeout=60)
        assert rc == 0, sensor.out
        expected[name] = frame_count(cap)
    sources = collector.sources()
    for name, frames in expected.items():
        src = sources[name]
        assert src["kismet.datasource.num_packets"] == frames, name
        assert src["hopwire.datasource.dropped_ring"] == 0, name
        assert src["kismet.datasource.running"] is False
        assert src["kismet.datasource.remote_ip"] == "127.0.0.1"
        assert src["kismet.datasource.type"] == "pcapfile"
    status = collector.status()
    assert status["hopwire.system.packets_received"] == sum(expected.values())
    assert status["hopwire.system.frames_malformed"] == 0


def test_link_types_pass_through_untouched(collector):
    dlts = {}
    for cap in CAPTURES:
        sensor = Sensor(collector, "%s:name=dlt-%s" % (cap, cap.stem), extra=["--disable-retry"])
        assert sensor.run(timeout=60) == 0, sensor.out
    for name, src in collector.sources().items():
        dlts[name] = src["kismet.datasource.dlt"]
    assert dlts["dlt-aircrack_test1"] == 127
    assert dlts["dlt-aircrack_n-02"] == 105
    assert dlts["dlt-aircrack_wpa"] == 119


def test_same_definition_keeps_its_uuid_across_runs(collector):
    cap = CAPTURES[0]
    for _ in range(2):
        sensor = Sensor(collector, "%s:name=twice" % cap, extra=["--disable-retry"])
        assert sensor.run(timeout=60) == 0, sensor.out
    all_sources = collector.get("/datasource/all_sources.json")
    twice = [s for s in all_sources if s["kismet.datasource.name"] == "twice"]
    assert len(twice) == 1
    # Two sensor runs, two full replays: counted twice, no resend confusion.
    assert twice[0]["kismet.datasource.num_packets"] == 2 * frame_count(cap)
    assert twice[0]["hopwire.datasource.reconnects"] == 1


def test_explicit_uuid_is_used_and_a_bad_one_is_refused(collector):
    cap = CAPTURES[0]
    uuid = "8c9f1a2e-1111-4222-8333-444455556666"
    sensor = Sensor(collector, "%s:name=withuuid,uuid=%s" % (cap, uuid), extra=["--disable-retry"])
    assert sensor.run(timeout=60) == 0, sensor.out
    src = collector.get("/datasource/by-uuid/%s/source.json" % uuid)
    assert src["kismet.datasource.name"] == "withuuid"

    bad = Sensor(collector, "%s:name=bad,uuid=not-a-uuid" % cap, extra=["--disable-retry"])
    assert bad.run(timeout=30) != 0
    assert "uuid" in bad.out.lower()


def test_legacy_tcp_link_with_datasource_token_counts_exactly(collector):
    cap = CAPTURES[0]
    token = collector.token("datasource", "tcp-sensor")
    sensor = Sensor(collector, "%s:name=via-tcp" % cap, apikey=token, tcp=True, extra=["--disable-retry"])
    assert sensor.run(timeout=60) == 0, sensor.out
    src = collector.sources()["via-tcp"]
    assert src["kismet.datasource.num_packets"] == frame_count(cap)
    assert src["hopwire.datasource.transport"] == "tcp"


def test_missing_file_and_truncated_capture_give_clear_errors(collector, tmp_path):
    missing = Sensor(collector, "/nonexistent/file.pcap:name=x", extra=["--disable-retry"])
    assert missing.run(timeout=30) != 0
    assert "no such file" in missing.out

    # A capture cut in the middle of a packet: every whole packet arrives,
    # the sensor says what is wrong and exits non-zero.
    src = CAPTURES[0]
    data = src.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 7])
    sensor = Sensor(collector, "%s:name=cut" % cut, extra=["--disable-retry"])
    assert sensor.run(timeout=60) == 1
    assert "truncated" in sensor.out
    assert collector.sources()["cut"]["kismet.datasource.num_packets"] == frame_count(src) - 1

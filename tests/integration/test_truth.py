"""Device tracking against ground truth: every capture in tests/data is
replayed through a real sensor into its own collector, and the device REST
output is compared with the capture's truth JSON (made by tshark; format in
tests/data/README.md). Known, explained disagreements are listed in
tests/data/truth-exceptions.json; anything else fails."""
import json
import pathlib

import pytest

from conftest import CAPTURES, Collector, Sensor

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
EXCEPTIONS = json.loads((DATA / "truth-exceptions.json").read_text())["exceptions"]
PROTOCOL_ORDER = ["WPA", "WPA2", "WPA3", "OWE"]


def excepted(capture, subject, check):
    return any(e["file"] == capture and e["subject"] == subject and e["check"] == check for e in EXCEPTIONS)


def union_summary(records):
    """The truth's encryption summary: Open/WEP only if nothing stronger was
    seen, else the union of the protocols of every record."""
    parts, plain = set(), set()
    for r in records:
        s = r["dot11.advertisedssid.crypt_string"]
        if s in ("Open", "WEP"):
            plain.add(s)
        else:
            parts.update(s.split("/"))
    if parts:
        return "/".join(p for p in PROTOCOL_ORDER if p in parts)
    return "WEP" if "WEP" in plain else "Open"


def union(records, field):
    out = set()
    for r in records:
        out.update(r[field])
    return out


def replay(tmp_path, cap):
    (tmp_path / cap.stem).mkdir()
    c = Collector(tmp_path / cap.stem).start()
    try:
        s = Sensor(c, "%s:name=truth,realtime=false" % cap, extra=["--disable-retry"])
        assert s.run(timeout=60) == 0, s.out
        devices = c.get("/devices/views/all/devices.json")
        status = c.status()
    finally:
        c.stop()
    return {d["kismet.device.base.macaddr"].lower(): d for d in devices}, status


def compare(cap, truth, devices):
    """Returns a list of human-readable mismatches."""
    problems = []
    name = cap.name

    def check(subject, what, expected, actual):
        if expected != actual and not excepted(name, subject, what):
            problems.append("%s %s: expected %r, got %r" % (subject, what, expected, actual))

    ssid_records = {}
    for mac, d in devices.items():
        recs = d["dot11.device"]["dot11.device.advertised_ssid_map"] + \
            d["dot11.device"]["dot11.device.responded_ssid_map"]
        if recs:
            ssid_records[mac] = recs

    advertised = {b for b, v in truth["bssids"].items() if v["advertised"]}
    check("*", "advertising BSSIDs", sorted(advertised), sorted(ssid_records))

    for bssid in sorted(advertised & set(ssid_records)):
        t = truth["bssids"][bssid]
        recs = ssid_records[bssid]
        check(bssid, "SSIDs", sorted({s["hex"] for s in t["ssids"]}),
              sorted({r["hopwire.advertisedssid.ssid_hex"] for r in recs}))
        check(bssid, "hidden", t["hidden"], any(r["dot11.advertisedssid.cloaked"] == 1 for r in recs))
        if t["ds_channels"]:
            check(bssid, "channel", sorted(t["ds_channels"]),
                  sorted({int(r["dot11.advertisedssid.channel"]) for r in recs if r["dot11.advertisedssid.channel"]}))
        enc = t["encryption"]
        check(bssid, "encryption", enc["summary"], union_summary(recs))
        if enc["rsn"]:
            check(bssid, "RSN AKMs", sorted(enc["rsn"]["akms"]), sorted(union(recs, "hopwire.crypt.akms")))
            check(bssid, "RSN pairwise", sorted(enc["rsn"]["pairwise"]), sorted(union(recs, "hopwire.crypt.pairwise")))
            check(bssid, "MFP required", enc["rsn"]["mfpr"], any(r["dot11.advertisedssid.wpa_mfp_required"] for r in recs))
        if enc["wpa"]:
            check(bssid, "WPA AKMs", sorted(enc["wpa"]["akms"]), sorted(union(recs, "hopwire.crypt.wpa_akms")))
        check(bssid, "mesh ID", sorted(t["mesh_ids"]),
              sorted({r["hopwire.advertisedssid.mesh_id"] for r in recs if "hopwire.advertisedssid.mesh_id" in r}))

    # Clients of every BSSID that exchanged data.
    for bssid, t in sorted(truth["bssids"].items()):
        clients = t.get("data", {}).get("clients", [])
        if not clients:
            continue
        d = devices.get(bssid)
        got = sorted(m.lower() for m in d["dot11.device"]["dot11.device.associated_client_map"]) if d else None
        check(bssid, "clients", sorted(clients), got)

    # Probing stations and what they probed for.
    for mac, p in sorted(truth["probe_requests"]["sources"].items()):
        d = devices.get(mac)
        if d is None:
            check(mac, "probing station", "present", "absent")
            continue
        dot11 = d["dot11.device"]
        check(mac, "wildcard probe", p["wildcard"], dot11["hopwire.dot11.device.wildcard_probes"] > 0)
        check(mac, "probed SSIDs", sorted(s["hex"] for s in p["ssids"]),
              sorted(s["hopwire.probedssid.ssid_hex"] for s in dot11["dot11.device.probed_ssid_map"]))

    # Security asked for in (re)association requests.
    for a in truth["association_requests"]:
        d = devices.get(a["client"])
        reqs = [r for r in d["dot11.device"]["hopwire.dot11.device.assoc_requests"]
                if r["hopwire.assoc.bssid"].lower() == a["bssid"]] if d else []
        subject = "%s->%s" % (a["client"], a["bssid"])
        if not reqs:
            check(subject, "association request", "present", "absent")
            continue
        r = reqs[0]
        summary = r["hopwire.assoc.crypt_string"]
        want = a["requested_security"]["summary"]
        check(subject, "requested security", want, "none" if summary in ("Open", "WEP") and want == "none" else summary)
        if a["requested_security"]["rsn"]:
            check(subject, "requested AKMs", sorted(a["requested_security"]["rsn"]["akms"]), sorted(r["hopwire.crypt.akms"]))

    # EAPOL 4-way handshake progress per (BSSID, client).
    for x in truth["eapol"]["exchanges"]:
        # Seen from the client: its entry for the BSSID in dot11.device.client_map.
        d = devices.get(x["client"])
        links = [c for m, c in d["dot11.device"]["dot11.device.client_map"].items()
                 if m.lower() == x["bssid"]] if d else []
        got = links[0]["hopwire.dot11.client.eapol_messages"] if links else None
        check("%s/%s" % (x["bssid"], x["client"]), "EAPOL messages", sorted(set(x["key_messages"])), got)
    return problems


@pytest.mark.parametrize("cap", CAPTURES, ids=[c.name for c in CAPTURES])
def test_rest_output_matches_truth(tmp_path, cap):
    truth = json.loads((DATA / (cap.name + ".truth.json")).read_text())
    devices, status = replay(tmp_path, cap)
    problems = compare(cap, truth, devices)
    assert not problems, "\n".join(problems)
    assert status["kismet.system.devices.count"] == len(devices)
    # Bad FCS: the truth counts them; every one of ours is an error packet.
    assert status["hopwire.decode.fcs_bad"] == truth["fcs"]["bad_frames"]


def test_every_exception_is_still_needed():
    """An exception that no longer matches anything is stale: remove it."""
    files = {c.name for c in CAPTURES}
    for e in EXCEPTIONS:
        assert e["file"] in files, e
        assert e.get("reason"), e

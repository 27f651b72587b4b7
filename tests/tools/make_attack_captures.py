#!/usr/bin/env python3
"""Crafts one radiotap pcap per attack the alert engine detects, with
python3-scapy (Debian), and a manifest of what each must raise.

  make_attack_captures.py OUTDIR     # writes OUTDIR/<attack>.pcap and OUTDIR/manifest.json

The manifest maps each capture to the alerts it must raise (header,
transmitter MAC) and names the MACs it uses, so a test can replay a capture
and check the answer. Every attack uses its own locally administered MACs
(02:00:00:00:NN:xx, NN the attack's number), so captures replayed into one
collector never touch each other's state. Signal -40 dBm, 2.4 GHz unless the
attack needs otherwise.
"""
import json
import pathlib
import struct
import sys

from scapy.all import (Dot11, Dot11AssoReq, Dot11Beacon, Dot11Deauth, Dot11Disas, Dot11Elt, Dot11ProbeReq,
                       Dot11ProbeResp, LLC, SNAP, RadioTap, Raw, wrpcap)

T0 = 1718900000.0  # capture time of each attack's first frame
BCAST = "ff:ff:ff:ff:ff:ff"
CORP_OUI_AP = "00:11:22:33:44:55"
CANARY = "FreeAirportWiFi"
WATCHED = "02:00:00:00:14:02"


def mac(n, host):
    return "02:00:00:00:%02x:%02x" % (n, host)


def freq(channel):
    return 2407 + 5 * channel if channel < 14 else 5000 + 5 * channel


def rt(channel=6, signal=-40):
    return RadioTap(present="Channel+dBm_AntSignal", ChannelFrequency=freq(channel),
                    ChannelFlags=0x00a0 if channel < 14 else 0x0140, dBm_AntSignal=signal)


def rsn(mfpc=False, akm=2, pairwise=4):
    body = struct.pack("<H", 1) + b"\x00\x0f\xac\x04" + struct.pack("<H", 1) + b"\x00\x0f\xac" + bytes([pairwise])
    body += struct.pack("<H", 1) + b"\x00\x0f\xac" + bytes([akm]) + struct.pack("<H", 0x0080 if mfpc else 0)
    return Dot11Elt(ID=48, info=body)


def wpa1():
    body = b"\x00\x50\xf2\x01" + struct.pack("<H", 1) + b"\x00\x50\xf2\x02" + struct.pack("<H", 1) + b"\x00\x50\xf2\x02"
    body += struct.pack("<H", 1) + b"\x00\x50\xf2\x02"
    return Dot11Elt(ID=221, info=body)


def capability(bits):
    # scapy packs the capability field as a big-endian bit field whose flag
    # names follow the little-endian wire order: swap the bytes.
    return ((bits & 0xFF) << 8) | (bits >> 8)


RATES = Dot11Elt(ID=1, info=bytes([0x82, 0x84, 0x8B, 0x96, 0x0C, 0x12, 0x18, 0x24]))


def beacon(bssid, ssid, channel=6, security="wpa2", interval=100, tsf=0, signal=-40, extra=b"", ds=True):
    cap = 0x0001 | (0x0010 if security != "open" else 0)
    f = rt(channel, signal) / Dot11(type=0, subtype=8, addr1=BCAST, addr2=bssid, addr3=bssid) / Dot11Beacon(
        timestamp=tsf, beacon_interval=interval, cap=capability(cap)) / Dot11Elt(ID=0, info=ssid) / RATES
    if ds:
        f = f / Dot11Elt(ID=3, info=bytes([channel]))
    if security == "wpa2":
        f = f / rsn()
    elif security == "wpa":
        f = f / wpa1()
    if extra:
        f = f / Raw(load=extra)
    return f


def probe_resp(bssid, sta, ssid, channel=6, security="open", elements=True):
    cap = 0x0001 | (0x0010 if security != "open" else 0)
    f = rt(channel) / Dot11(type=0, subtype=5, addr1=sta, addr2=bssid, addr3=bssid) / Dot11ProbeResp(
        timestamp=123456789, beacon_interval=100, cap=capability(cap)) / Dot11Elt(ID=0, info=ssid) / RATES / Dot11Elt(
            ID=3, info=bytes([channel]))
    if security == "wpa2":
        f = f / rsn()
    return f


def probe_req(sta, ssid):
    return rt() / Dot11(type=0, subtype=4, addr1=BCAST, addr2=sta, addr3=BCAST) / Dot11ProbeReq() / Dot11Elt(
        ID=0, info=ssid) / RATES


def eapol(ap, sta, from_ap, key_info, counter, nonce, key_data=b"", retry=False):
    fc = 0x02 if from_ap else 0x01
    if retry:
        fc |= 0x08
    if from_ap:
        hdr = Dot11(type=2, subtype=0, FCfield=fc, addr1=sta, addr2=ap, addr3=ap)
    else:
        hdr = Dot11(type=2, subtype=0, FCfield=fc, addr1=ap, addr2=sta, addr3=ap)
    body = bytes([0x02]) + struct.pack(">HH", key_info, 16) + struct.pack(">Q", counter) + nonce
    body += b"\x00" * (16 + 8 + 8 + 16) + struct.pack(">H", len(key_data)) + key_data
    eap = bytes([0x02, 0x03]) + struct.pack(">H", len(body)) + body
    return rt() / hdr / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x888E) / Raw(load=eap)


M1, M2, M3, M4 = 0x008A, 0x010A, 0x13CA, 0x030A


def wsc(ap, sta, msg_type, ident):
    wsc = b"\x00\x37\x2a\x00\x00\x00\x01" + bytes([0x04, 0x00])  # WFA SimpleConfig, WSC_MSG, no flags
    wsc += struct.pack(">HHB", 0x104A, 1, 0x10) + struct.pack(">HHB", 0x1022, 1, msg_type)
    wsc += struct.pack(">HH", 0x1047, 16) + b"\x11" * 16  # UUID-E
    eap = bytes([0x01, ident & 0xFF]) + struct.pack(">H", 5 + len(wsc)) + bytes([254]) + wsc
    payload = bytes([0x02, 0x00]) + struct.pack(">H", len(eap)) + eap
    return rt() / Dot11(type=2, subtype=0, FCfield=0x02, addr1=sta, addr2=ap, addr3=ap) / LLC(
        dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x888E) / Raw(load=payload)


def disconnect(src, dst, bssid, reason, deauth=True):
    sub = 12 if deauth else 10
    layer = Dot11Deauth(reason=reason) if deauth else Dot11Disas(reason=reason)
    return rt() / Dot11(type=0, subtype=sub, addr1=dst, addr2=src, addr3=bssid) / layer


def assoc_req(sta, ap, ssid, mfpc):
    return rt() / Dot11(type=0, subtype=0, addr1=ap, addr2=sta, addr3=ap) / Dot11AssoReq(
        cap=capability(0x0411), listen_interval=10) / Dot11Elt(ID=0, info=ssid) / RATES / rsn(mfpc=mfpc)


def timed(frames, start=T0, step=0.1):
    out = []
    for i, f in enumerate(frames):
        if isinstance(f, tuple):
            t, f = f
        else:
            t = start + i * step
        f.time = t
        out.append(f)
    return out


# ---------------------------------------------------------------------------
# The attacks. Each returns (frames, expected alerts, notes).

def deauthflood():
    ap = mac(1, 1)
    return timed([disconnect(ap, mac(1, 0x10 + i % 5), ap, 7) for i in range(40)], step=0.025), [("DEAUTHFLOOD", ap)]


def bcastdiscon():
    ap = mac(2, 1)
    return timed([disconnect(ap, BCAST, ap, 3, deauth=False) for _ in range(3)], step=1.0), [("BCASTDISCON", ap)]


def apspoof():
    # An unknown BSSID advertising the known network CorpNet (WPA2, channel 6
    # as the network expects: only the transmitter is wrong).
    evil = mac(3, 1)
    return timed([beacon(evil, "CorpNet", channel=6, tsf=1000 + i * 102400) for i in range(10)], step=0.1024), [
        ("APSPOOF", evil)]


def cryptodrop():
    ap = mac(4, 1)
    frames = [beacon(ap, "HomeNet", tsf=1000 + i * 102400) for i in range(5)]
    frames += [beacon(ap, "HomeNet", security="open", tsf=1000 + (5 + i) * 102400) for i in range(5)]
    return timed(frames, step=0.1024), [("CRYPTODROP", ap)]


def advcryptchange():
    ap = mac(5, 1)
    frames = [beacon(ap, "Cafe2", tsf=1000 + i * 102400) for i in range(5)]
    frames += [beacon(ap, "Cafe2", security="wpa", tsf=1000 + (5 + i) * 102400) for i in range(5)]
    return timed(frames, step=0.1024), [("ADVCRYPTCHANGE", ap)]


def bsstimestamp():
    # Two transmitters with one BSSID: the real AP's TSF (days of uptime)
    # and a twin's (just booted) alternate.
    bssid = mac(6, 1)
    frames = []
    for i in range(20):
        t = T0 + i * 0.1024
        frames.append((t, beacon(bssid, "Lab", tsf=9_000_000_000 + i * 102400)))
        frames.append((t + 0.05, beacon(bssid, "Lab", tsf=1_000_000 + i * 102400)))
    return timed(frames), [("BSSTIMESTAMP", bssid)]


def karmaoui():
    karma = "00:13:37:00:07:01"
    sta = mac(7, 0x99)
    frames = [probe_resp(karma, sta, s) for s in ("HomeWiFi", "Starbucks", "AirportFree", "Hotel-Guest")]
    return timed(frames, step=0.2), [("KARMAOUI", karma)]


def wpsbrute():
    ap, sta = mac(8, 1), mac(8, 2)
    return timed([wsc(ap, sta, 0x07, i) for i in range(8)], step=5.0), [("WPSBRUTE", ap)]


def noncereuse():
    ap, sta = mac(9, 1), mac(9, 2)
    anonce, snonce = bytes(range(1, 33)), bytes(range(101, 133))
    frames = [
        (T0, eapol(ap, sta, True, M1, 1, anonce)),
        (T0 + 0.01, eapol(ap, sta, False, M2, 1, snonce, bytes(rsn()))),
        (T0 + 0.02, eapol(ap, sta, True, M3, 2, anonce, b"\xdd" * 56)),
        (T0 + 0.03, eapol(ap, sta, False, M4, 2, b"\x00" * 32)),
        # Three seconds later: message 1 again, same ANonce, same replay counter.
        (T0 + 3.0, eapol(ap, sta, True, M1, 1, anonce)),
    ]
    return timed(frames), [("NONCEREUSE", ap)]


def noncedegrade():
    ap, sta = mac(10, 1), mac(10, 2)
    return timed([eapol(ap, sta, True, M1, 5, b"\x00" * 32)]), [("NONCEDEGRADE", ap)]


def disconcodeinvalid():
    ap, sta = mac(11, 1), mac(11, 2)
    return timed([disconnect(sta, ap, ap, 99, deauth=False)]), [("DISCONCODEINVALID", ap)]


def deauthcodeinvalid():
    ap, sta = mac(22, 1), mac(22, 2)
    return timed([disconnect(sta, ap, ap, 0)]), [("DEAUTHCODEINVALID", ap)]


def longssid():
    ap = mac(12, 1)
    return timed([beacon(ap, "L" * 33, tsf=1000)]), [("LONGSSID", ap)]


def nullproberesp():
    ap, sta = mac(13, 1), mac(13, 2)
    return timed([probe_resp(ap, sta, "")]), [("NULLPROBERESP", ap)]


def chanchange():
    ap = mac(14, 1)
    frames = [beacon(ap, "Roamer", channel=6, tsf=1000 + i * 102400) for i in range(3)]
    frames += [beacon(ap, "Roamer", channel=11, tsf=1000 + (3 + i) * 102400) for i in range(3)]
    return timed(frames, step=0.1024), [("CHANCHANGE", ap)]


def probechan():
    ap, sta = mac(15, 1), mac(15, 2)
    frames = [beacon(ap, "Prober", channel=1, tsf=1000 + i * 102400) for i in range(3)]
    frames.append(probe_resp(ap, sta, "Prober", channel=6, security="wpa2"))
    return timed(frames, step=0.1024), [("PROBECHAN", ap)]


def beaconrate():
    ap = mac(16, 1)
    frames = [beacon(ap, "Ticker", interval=100, tsf=1000 + i * 102400) for i in range(3)]
    frames += [beacon(ap, "Ticker", interval=200, tsf=400000 + i * 204800) for i in range(3)]
    return timed(frames, step=0.1024), [("BEACONRATE", ap)]


def noclientmfp():
    ap, sta = mac(17, 1), mac(17, 2)
    return timed([assoc_req(sta, ap, "Office", mfpc=False)]), [("NOCLIENTMFP", ap)]


def malformmgmt():
    ap = mac(18, 1)
    # A vendor element that claims 40 bytes and has 3.
    return timed([beacon(ap, "Broken", tsf=1000, extra=bytes([221, 40, 0x00, 0x50, 0xF2]))]), [("MALFORMMGMT", ap)]


def ssidcanary():
    sta = mac(19, 2)
    return timed([probe_req(sta, CANARY)]), [("SSIDCANARY", sta)]


def devicefound():
    return timed([probe_req(WATCHED, "home") for _ in range(3)], step=0.5), [("DEVICEFOUND", "00:00:00:00:00:00")]


def overpowered():
    ap = mac(21, 1)
    return timed([beacon(ap, "Loud", tsf=1000, signal=-5)]), [("OVERPOWERED", ap)]


ATTACKS = [deauthflood, bcastdiscon, apspoof, cryptodrop, advcryptchange, bsstimestamp, karmaoui, wpsbrute,
           noncereuse, noncedegrade, disconcodeinvalid, deauthcodeinvalid, longssid, nullproberesp, chanchange,
           probechan, beaconrate, noclientmfp, malformmgmt, ssidcanary, devicefound, overpowered]


def write_all(outdir):
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for attack in ATTACKS:
        frames, expected = attack()
        path = outdir / (attack.__name__ + ".pcap")
        wrpcap(str(path), frames, linktype=127)
        manifest[attack.__name__] = {"file": str(path), "frames": len(frames),
                                     "alerts": [{"header": h, "transmitter": t.upper()} for h, t in expected]}
    (outdir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    m = write_all(sys.argv[1])
    print("%d captures in %s" % (len(m), sys.argv[1]))

// The 802.11 detectors: what in a decoded frame makes each alert, with
// Kismet's conditions where they work and our own where Kismet's never
// fire or fire on everything (docs/alerts.md lists each difference).
//
// Per-BSSID state (what a network's beacons and probe responses last said,
// and per sensor its TSF sequence, disconnect and WPS counters) lives in
// sharded fixed-size tables; the station-pair nonce history in another.
// Times in detector state are packet times (what happened on the air, so
// a replay behaves like the live capture); the rate limits and merge
// windows use the collector's clock, as Kismet's do.
#include <fmt/format.h>
#include <zlib.h>

#include "collector/alerts/engine_internal.h"
#include "common/channel.h"
#include "common/text.h"

namespace hopwire::collector {

namespace {

constexpr std::uint64_t kSec = 1'000'000'000ull;
constexpr std::uint32_t kKarmaOui = 0x001337;

bool real_mac(mac_addr m) { return m.v != 0 && !m.is_group(); }

// What most frame detections share: about transmitter `who` of packet `p`
// heard by `src`, in the BSS the frame names (if any), to its destination.
// Callers change what differs.
detection frame_detection(builtin_alert def, const ingest_source& src, const decoded_packet& p, mac_addr who) {
  const dot11_frame& f = p.dot11;
  detection d;
  d.def = def;
  d.subject = who.v;
  d.transmitter = f.has_bssid ? f.bssid : mac_addr{};
  d.source = f.ta;
  d.dest = f.da;
  d.device = who;
  d.has_device = true;
  d.sensor = src.index;
  d.src = &src;
  d.pkt = &p;
  return d;
}

std::uint16_t announced_channel(const element_info& ie) {
  if (ie.ds_channel) return ie.ds_channel;
  if (ie.ht_primary) return ie.ht_primary;
  return ie.he6_primary;
}

std::string_view ssid_of(const dot11_frame& f) {
  return {reinterpret_cast<const char*>(f.ie.ssid.data()), f.ie.ssid.size()};
}

// IEEE 802.11-2020 Table 9-49: 1-39, 45-66 and 67-71 are defined; 0 and
// 40-44 are reserved, as is everything above 71. (Kismet still uses the
// 2007 table: it calls 25-31 and everything above 45 invalid, which
// modern access points send every day.)
bool reason_invalid(std::uint16_t code) { return code == 0 || (code >= 40 && code <= 44) || code > 71; }

std::string hex_upper(std::span<const std::uint8_t> b) {
  static constexpr char d[] = "0123456789ABCDEF";
  std::string s;
  s.reserve(b.size() * 2);
  for (auto c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

std::string quoted(std::string_view ssid) {
  std::string s(1, '\'');
  s += ssid_text(ssid);
  s += '\'';
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// Encryption summaries.

std::uint32_t crypt_bits(const dot11_frame& f) {
  const auto& ie = f.ie;
  std::uint32_t c = 0;
  auto akms = [&](std::uint32_t a) {
    if (a & (kAkmPsk | kAkmFtPsk | kAkmPskSha256 | kAkmPskSha384 | kAkmFtPskSha384)) c |= kCrPsk;
    if (a & (kAkmEap | kAkmFtEap | kAkmEapSha256 | kAkmFils256 | kAkmFils384 | kAkmFtFils256 | kAkmFtFils384))
      c |= kCrEap;
    if (a & (kAkmSae | kAkmFtSae | kAkmSaeExt | kAkmFtSaeExt)) c |= kCrSae;
    if (a & kAkmOwe) c |= kCrOwe;
    if (a & (kAkmFtEap | kAkmFtPsk | kAkmFtSae | kAkmFtEapSha384 | kAkmFtFils256 | kAkmFtFils384 | kAkmFtSaeExt |
             kAkmFtPskSha384))
      c |= kCrFt;
    if (a & (kAkmEapSuiteB | kAkmEapSuiteB192 | kAkmFtEapSha384)) c |= kCrSuiteB;
  };
  auto ciphers = [&](std::uint32_t p) {
    if (p & kCipherTkip) c |= kCrTkip;
    if (p & (kCipherCcmp128 | kCipherCcmp256)) c |= kCrCcmp;
    if (p & (kCipherGcmp128 | kCipherGcmp256)) c |= kCrGcmp;
  };
  if (ie.wpa.present) {
    c |= kCrWpa;
    akms(ie.wpa.akms);
    ciphers(ie.wpa.pairwise);
  }
  if (ie.rsn.present) {
    c |= kCrRsn;
    akms(ie.rsn.akms);
    ciphers(ie.rsn.pairwise);
  }
  if (f.cap_privacy() && !ie.wpa.present && !ie.rsn.present) c |= kCrWep;
  if (ie.owe_transition && c == 0) c |= kCrOweTransition;
  return c;
}

std::uint8_t crypt_protocols(std::uint32_t c) {
  if ((c & ~kCrOweTransition) == 0) return (c & kCrOweTransition) ? kNetOwe : kNetOpen;
  std::uint8_t p = 0;
  if (c & kCrWep) p |= kNetWep;
  if (c & kCrWpa) p |= kNetWpa;
  if (c & kCrRsn) {
    if ((c & (kCrPsk | kCrEap)) || !(c & (kCrSae | kCrOwe | kCrSuiteB))) p |= kNetWpa2;
    if (c & (kCrSae | kCrSuiteB)) p |= kNetWpa3;
    if (c & kCrOwe) p |= kNetOwe;
  }
  return p;
}

std::string protocols_text(std::uint8_t p) {
  static constexpr std::pair<std::uint8_t, const char*> kNames[] = {
      {kNetOpen, "Open"}, {kNetWep, "WEP"}, {kNetWpa, "WPA"}, {kNetWpa2, "WPA2"}, {kNetWpa3, "WPA3"}, {kNetOwe, "OWE"}};
  std::string s;
  for (const auto& [bit, name] : kNames)
    if (p & bit) {
      if (!s.empty()) s += "/";
      s += name;
    }
  return s.empty() ? "nothing" : s;
}

std::string crypt_text(std::uint32_t c) {
  std::string s = protocols_text(crypt_protocols(c));
  std::string detail;
  auto add = [&](std::uint32_t bit, const char* name) {
    if (!(c & bit)) return;
    if (!detail.empty()) detail += ", ";
    detail += name;
  };
  add(kCrPsk, "PSK");
  add(kCrEap, "EAP");
  add(kCrSae, "SAE");
  add(kCrOwe, "OWE");
  add(kCrFt, "FT");
  add(kCrSuiteB, "Suite B");
  add(kCrTkip, "TKIP");
  add(kCrCcmp, "CCMP");
  add(kCrGcmp, "GCMP");
  return detail.empty() ? s : s + " (" + detail + ")";
}

// ---------------------------------------------------------------------------
// Per packet.

void alert_engine::check_packet(chunk& c, const decoded_packet& p) {
  if (p.error()) return;
  const dot11_frame& f = p.dot11;
  if (c.overpowered && f.has_ta && p.has_signal()) {
    const auto s = p.signal_dbm();
    if (s > c.cfg->raw.overpowered_dbm && s < 0) {
      detection d = frame_detection(builtin_alert::overpowered, c.src, p, f.ta);
      d.dest = f.ra;
      const int limit = c.cfg->raw.overpowered_dbm;
      auto text = [&] {
        return fmt::format("IEEE 802.11 transmitter {} heard at {} dBm by sensor {}, above the {} dBm a legitimate "
                           "transmitter should reach: an amplifier turned too high, or a transmitter at the sensor.",
                           mac_text(f.ta), s, ssid_text(c.src.name), limit);
      };
      hit(d, text_fn(text));
    }
  }
  if (f.has_ta && !c.watch->empty())
    if (const auto types = c.watch->match(f.ta)) check_watch(c, p, types);
  switch (f.kind) {
    case frame_kind::mgmt:
      switch (f.subtype) {
        case kBeacon:
        case kProbeResp: check_bss_frame(c, p); break;
        case kProbeReq: check_probe_request(c, p); break;
        case kAssocReq:
        case kReassocReq: check_assoc(c, p); break;
        case kDeauth:
        case kDisassoc: check_disconnect(c, p); break;
        case kAssocResp:
        case kReassocResp:
        case kAuth:
          if (c.malformed && !f.protected_frame && (!f.fixed_ok || f.ie.malformed)) check_malformed(c, p);
          break;
        default: break;
      }
      break;
    case frame_kind::data:
      if (c.eapol && f.eapol.present) check_eapol(c, p);
      break;
    default: break;
  }
}

// MALFORMMGMT: Kismet registers it and never raises it. Ours: a management
// frame whose fixed fields are cut short or whose elements run past the end
// or have impossible lengths, from a unicast transmitter. Frames whose FCS
// failed never get here (they are noise, not frames). An over-long SSID is
// LONGSSID's, not this one's.
void alert_engine::check_malformed(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  if (!f.has_ta || !real_mac(f.ta)) return;
  if (f.ie.has_ssid && f.ie.ssid.size() > 32) return;
  // Some drivers (Prism headers among them) pass the FCS on without saying
  // so; those four bytes then read as a broken element. A frame that ends
  // in its own valid CRC is whole, not malformed.
  if (!p.radio.fcs_present && p.frame.size() > 28) {
    const std::size_t n = p.frame.size() - 4;
    const auto crc = static_cast<std::uint32_t>(crc32(0L, p.frame.data(), static_cast<uInt>(n)));
    const std::uint8_t* t = p.frame.data() + n;
    if (crc == (std::uint32_t{t[0]} | std::uint32_t{t[1]} << 8 | std::uint32_t{t[2]} << 16 | std::uint32_t{t[3]} << 24))
      return;
  }
  const detection d = frame_detection(builtin_alert::malformmgmt, c.src, p, f.ta);
  auto text = [&] {
    return fmt::format("IEEE 802.11 malformed management frame (subtype {}) from {}: {}; a driver passing on damaged "
                       "frames, or an attack on parsers.",
                       f.subtype, mac_text(f.ta),
                       f.fixed_ok ? "its elements run past the end or have impossible lengths"
                                  : "its fixed fields are cut short");
  };
  hit(d, text_fn(text));
}

void alert_engine::check_long_ssid(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  if (!f.ie.has_ssid || f.ie.ssid.size() <= 32 || !f.has_ta) return;
  const detection d = frame_detection(builtin_alert::longssid, c.src, p, f.ta);
  auto text = [&] {
    return fmt::format("IEEE 802.11 SSID of {} bytes (more than 32) from {}: a corrupted frame, or an attack on "
                       "drivers.",
                       f.ie.ssid.size(), mac_text(f.ta));
  };
  hit(d, text_fn(text));
}

void alert_engine::check_bss_frame(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  const bool beacon = f.subtype == kBeacon;
  if (!f.fixed_ok) {
    if (c.malformed && !f.protected_frame) check_malformed(c, p);
    return;
  }
  if (c.long_ssid && f.ie.ssid.size() > 32) check_long_ssid(c, p);
  if (c.malformed && f.ie.malformed) check_malformed(c, p);
  if (!c.bss || !f.has_ta || !real_mac(f.ta)) return;

  const mac_addr tx = f.ta;
  const std::string_view ssid = ssid_of(f);
  const bool named = f.ie.has_ssid && !ssid.empty();
  const bool mesh = f.ie.has_mesh_id;
  const std::uint64_t sh = hash_bytes(f.ie.ssid);
  const std::uint32_t crypt = crypt_bits(f);
  const std::uint16_t chan = announced_channel(f.ie);
  const engine_config& cfg = *c.cfg;
  const char* what = beacon ? "advertising" : "responding for";

  // Filled only when something fires: most beacons raise nothing.
  detection d;
  bool filled = false;
  auto fill = [&] {
    if (filled) return;
    filled = true;
    d.transmitter = f.bssid;
    d.source = tx;
    d.dest = f.da;
    d.device = tx;
    d.has_device = true;
    d.channel = chan;
    d.sensor = c.src.index;
    d.src = &c.src;
    d.pkt = &p;
  };
  // Raises on the first frame of a record, then folds the frames after it
  // into the alert (they name the other sensors).
  auto once = [&](builtin_alert a, std::uint64_t subject, bool& raised, auto&& text) {
    if (!c.is_on(a)) return;
    fill();
    d.def = a;
    d.subject = subject;
    if (!raised) {
      hit(d, text_fn(text));
      raised = true;
    } else {
      touch(d);
    }
  };

  const std::uint64_t key = bss_key(tx, c.src.index);
  auto& shard = st_->bss_of(key);
  std::lock_guard lock(shard.mu);
  bool fresh;
  bss_state& s = shard.table.get(key, fresh);
  ssid_view& v = beacon ? s.beacon : s.response;
  bool new_record = false;
  if (!v.valid || v.ssid_hash != static_cast<std::uint32_t>(sh)) {
    v = ssid_view{};
    v.valid = true;
    v.ssid_hash = static_cast<std::uint32_t>(sh);
    new_record = true;
  }
  if (v.gen != cfg.gen) {
    v.gen = cfg.gen;
    v.network = named ? cfg.find_network(ssid, sh) : engine_config::kNone;
    v.canary = named && cfg.any_canary() ? cfg.find_canary(ssid, sh) : engine_config::kNone;
    v.spoof_raised = v.canary_raised = v.known_crypt_raised = v.known_chan_raised = false;
  }

  if (!beacon) {
    // KARMAOUI: Kismet's check, on each new SSID a responder answers for.
    if (tx.oui() == kKarmaOui && c.is_on(builtin_alert::karmaoui)) {
      fill();
      d.def = builtin_alert::karmaoui;
      d.subject = tx.v;
      auto text = [&] {
        return "IEEE 802.11 probe response from OUI 00:13:37 (" + mac_text(tx) + ") for SSID " + quoted(ssid) +
               ", which typically implies a Karma AP impersonation attack.";
      };
      if (new_record) hit(d, text_fn(text));
      else touch(d);
    }
    // NULLPROBERESP: Kismet registers it and never raises it. A probe
    // response without an SSID, or with an empty one; mesh stations answer
    // with an empty SSID and a Mesh ID by design, so not those.
    if ((!f.ie.has_ssid || f.ie.ssid.empty()) && !mesh) {
      auto text = [&] {
        return "IEEE 802.11 probe response from " + mac_text(tx) +
               " with an empty SSID, which crashes some old (Orinoco) firmware.";
      };
      once(builtin_alert::nullproberesp, tx.v, s.nullresp_raised, text);
    }
  }

  // Known networks: who may transmit them, how, and where.
  if (v.network != engine_config::kNone) {
    const known_network& n = cfg.raw.known_networks[v.network];
    const std::string& label = n.name.empty() ? n.ssid : n.name;
    if (!n.bssids.empty()) {
      bool allowed = false;
      for (const auto& m : n.bssids) allowed = allowed || m.matches(tx);
      if (!allowed) {
        auto text = [&] {
          return "IEEE 802.11 unauthorized device (" + mac_text(tx) + ") " + what + " SSID " + quoted(ssid) +
                 ", matching known network " + quoted(label) + ", which does not list it: possible spoofing or "
                 "impersonation.";
        };
        once(builtin_alert::apspoof, tx.v ^ sh, v.spoof_raised, text);
      }
    }
    if (n.encryption) {
      const std::uint8_t proto = crypt_protocols(crypt);
      if (proto & ~n.encryption) {
        const bool open = proto == kNetOpen;
        auto text = [&] {
          return "IEEE 802.11 " + mac_text(tx) + " " + what + " SSID " + quoted(ssid) + " with " + crypt_text(crypt) +
                 ", but known network " + quoted(label) + " allows only " + protocols_text(n.encryption) +
                 (open ? ": an unencrypted impersonator or a downgrade." : ".");
        };
        once(open ? builtin_alert::cryptodrop : builtin_alert::advcryptchange, tx.v, v.known_crypt_raised, text);
      }
    }
    if (!n.channels.empty() && chan) {
      bool expected = false;
      for (auto ch : n.channels) expected = expected || ch == chan;
      if (!expected) {
        auto text = [&] {
          std::string list;
          for (auto ch : n.channels) list += (list.empty() ? "" : ", ") + std::to_string(ch);
          return "IEEE 802.11 " + mac_text(tx) + " " + what + " SSID " + quoted(ssid) + " on channel " +
                 std::to_string(chan) + ", where known network " + quoted(label) + " does not run (channels " + list +
                 ").";
        };
        once(builtin_alert::chanchange, tx.v, v.known_chan_raised, text);
      }
    }
  }

  // SSIDCANARY, advertised or answered for.
  if (v.canary != engine_config::kNone) {
    const auto& cn = cfg.raw.canaries[v.canary];
    auto text = [&] {
      return "IEEE 802.11 access point " + mac_text(tx) + " " + what + " canary SSID " + quoted(cn.name) + " (" +
             quoted(ssid) + ").";
    };
    once(builtin_alert::ssidcanary, tx.v ^ sh ^ 0x5ca9a11ull, v.canary_raised, text);
  }

  // CRYPTODROP / ADVCRYPTCHANGE: this SSID's record changed its encryption.
  if (v.has_crypt && v.crypt != crypt) {
    const bool open = crypt == 0;
    const builtin_alert a = open ? builtin_alert::cryptodrop : builtin_alert::advcryptchange;
    if (c.is_on(a)) {
      fill();
      d.def = a;
      d.subject = tx.v;
      const std::uint32_t before = v.crypt;
      auto text = [&] {
        return "IEEE 802.11 network BSSID " + mac_text(tx) + " SSID " + quoted(ssid) +
               " changed advertised encryption from " + crypt_text(before) + " to " + crypt_text(crypt) +
               (open ? ", which may indicate a downgrade or an unencrypted impersonator." : ".");
      };
      hit(d, text_fn(text));
    }
  }
  v.has_crypt = true;
  v.crypt = static_cast<std::uint16_t>(crypt);

  if (chan) {
    if (beacon) {
      // CHANCHANGE: whatever channel the beacons announce (Kismet only
      // compares an HT beacon's channel with a later non-HT one).
      if (v.channel && v.channel != chan && c.is_on(builtin_alert::chanchange)) {
        fill();
        d.def = builtin_alert::chanchange;
        d.subject = tx.v;
        const auto before = v.channel;
        auto text = [&] {
          return "IEEE 802.11 access point " + mac_text(tx) + " SSID " + quoted(ssid) + " changed channel from " +
                 std::to_string(before) + " to " + std::to_string(chan) +
                 ": automatic channel selection, or an impersonator on another channel.";
        };
        hit(d, text_fn(text));
      }
      v.channel = static_cast<std::uint8_t>(chan);
    } else {
      // PROBECHAN: never reachable in Kismet (its responded-SSID records
      // have no channel). Ours compares with the same BSSID's beacons.
      if (s.beacon.valid && s.beacon.channel && s.beacon.channel != chan && c.is_on(builtin_alert::probechan)) {
        fill();
        d.def = builtin_alert::probechan;
        d.subject = tx.v;
        const auto beacon_chan = s.beacon.channel;
        auto text = [&] {
          return "IEEE 802.11 access point " + mac_text(tx) + " sent a probe response for SSID " + quoted(ssid) +
                 " with channel " + std::to_string(chan) + " while its beacons announce channel " +
                 std::to_string(beacon_chan) + ".";
        };
        hit(d, text_fn(text));
      }
      v.channel = static_cast<std::uint8_t>(chan);
    }
  }

  if (!beacon) return;

  // BEACONRATE: the interval in TU changed.
  if (f.beacon_interval) {
    if (s.interval && s.interval != f.beacon_interval && c.is_on(builtin_alert::beaconrate)) {
      fill();
      d.def = builtin_alert::beaconrate;
      d.subject = tx.v;
      const auto before = s.interval;
      auto text = [&] {
        return fmt::format("IEEE 802.11 access point {} SSID {} changed its beacon interval from {} to {} TU "
                           "({:.1f} to {:.1f} beacons a second).",
                           mac_text(tx), quoted(ssid), before, f.beacon_interval, 1e6 / (before * 1024.0),
                           1e6 / (f.beacon_interval * 1024.0));
      };
      hit(d, text_fn(text));
    }
    s.interval = f.beacon_interval;
  }

  // BSSTIMESTAMP: Kismet's gate is never true (it compares the device's
  // last time after updating it to this packet's). Ours, per sensor: the
  // TSF must not run backwards, nor jump ahead of the time between the two
  // beacons by more than 10 s; more than five such steps within a minute
  // mean two clocks share the BSSID. One AP reboot is one step.
  if (f.tsf && f.cap_ess() && !f.cap_ibss() && !mesh && c.is_on(builtin_alert::bsstimestamp)) {
    bss_state& slot = s;
    if (slot.tsf_ts_ns) {
      bool bad = f.tsf < slot.tsf;
      if (!bad && p.ts_ns >= slot.tsf_ts_ns) {
        const std::uint64_t elapsed_us = (p.ts_ns - slot.tsf_ts_ns) / 1000;
        bad = f.tsf - slot.tsf > elapsed_us + 10'000'000ull;
      }
      if (bad) {
        const auto now_s = static_cast<std::uint32_t>(p.ts_ns / kSec);
        if (slot.tsf_bad == 0 || now_s < slot.tsf_bad_first_s || now_s - slot.tsf_bad_first_s > 60) {
          slot.tsf_bad = 1;
          slot.tsf_bad_first_s = now_s;
        } else {
          ++slot.tsf_bad;
        }
        if (slot.tsf_bad > 5) {
          fill();
          d.def = builtin_alert::bsstimestamp;
          d.subject = tx.v;
          d.packets = slot.tsf_bad;
          const std::uint64_t prev = slot.tsf;
          auto text = [&] {
            return fmt::format("IEEE 802.11 network BSSID {} SSID {}: out-of-sequence BSS timestamps (TSF {} after "
                               "{}, {} times within a minute), which suggests two transmitters share the BSSID: "
                               "possible impersonation.",
                               mac_text(tx), quoted(ssid), f.tsf, prev, slot.tsf_bad);
          };
          hit(d, text_fn(text));
          d.packets = 1;
          slot.tsf_bad = 0;
        }
      }
    }
    slot.tsf = f.tsf;
    slot.tsf_ts_ns = p.ts_ns;
  }
}

void alert_engine::check_canary_probe(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  if (!f.ie.has_ssid || f.ie.ssid.empty() || !f.has_ta) return;
  const std::string_view ssid = ssid_of(f);
  const std::uint64_t sh = hash_bytes(f.ie.ssid);
  const auto idx = c.cfg->find_canary(ssid, sh);
  if (idx == engine_config::kNone) return;
  const auto& cn = c.cfg->raw.canaries[idx];
  detection d = frame_detection(builtin_alert::ssidcanary, c.src, p, f.ta);
  d.subject = f.ta.v ^ sh ^ 0x9b0be5ull;
  // The prober is the transmitter (a probe request's BSSID is broadcast).
  d.transmitter = f.ta;
  auto text = [&] {
    return "IEEE 802.11 device " + mac_text(f.ta) + " probing for canary SSID " + quoted(cn.name) + " (" +
           quoted(ssid) + ").";
  };
  hit(d, text_fn(text));
}

void alert_engine::check_probe_request(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  if (c.long_ssid) check_long_ssid(c, p);
  if (c.malformed && f.ie.malformed) check_malformed(c, p);
  if (c.canary) check_canary_probe(c, p);
}

void alert_engine::check_assoc(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  if (f.protected_frame) return;
  if (!f.fixed_ok) {
    if (c.malformed) check_malformed(c, p);
    return;
  }
  if (c.long_ssid) check_long_ssid(c, p);
  if (c.malformed && f.ie.malformed) check_malformed(c, p);
  if (c.canary) check_canary_probe(c, p);
  // NOCLIENTMFP: Kismet reads the RSN element of association requests only
  // after this check, so it fires for every association. Ours: a client
  // that joins an RSN network (its request carries an RSN element) without
  // the MFP-capable bit. Open and WEP networks have no MFP to lack.
  if (f.subtype != kAssocReq || !f.ie.rsn.present || f.ie.rsn.mfpc || !real_mac(f.bssid) ||
      !active(builtin_alert::noclientmfp))
    return;
  detection d = frame_detection(builtin_alert::noclientmfp, c.src, p, f.ta);
  d.subject = mix64(f.ta.v, f.bssid.v);
  const std::string_view ssid = ssid_of(f);
  auto text = [&] {
    return "IEEE 802.11 network BSSID " + mac_text(f.bssid) + " SSID " + quoted(ssid) + " client " + mac_text(f.ta) +
           " does not support management frame protection (MFP), so forged deauthentications can disconnect it.";
  };
  hit(d, text_fn(text));
}

void alert_engine::check_disconnect(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  if (f.protected_frame) return;  // 802.11w: the reason is encrypted, and forging is what MFP stops
  if (!f.fixed_ok) {
    if (c.malformed) check_malformed(c, p);
    return;
  }
  if (!c.disconnects) return;
  const bool deauth = f.subtype == kDeauth;
  const mac_addr bssid = f.bssid;
  detection d;
  d.transmitter = bssid;
  d.source = f.sa;
  d.dest = f.da;
  d.other = f.ta != f.sa ? f.ta : mac_addr{};
  d.device = bssid;
  d.has_device = real_mac(bssid);
  d.sensor = c.src.index;
  d.src = &c.src;
  d.pkt = &p;
  const char* kind = deauth ? "deauthentication" : "disassociation";

  const builtin_alert code_alert = deauth ? builtin_alert::deauthcodeinvalid : builtin_alert::disconcodeinvalid;
  if (reason_invalid(f.reason) && active(code_alert)) {
    d.def = code_alert;
    d.subject = bssid.v;
    auto text = [&] {
      return fmt::format("IEEE 802.11 unknown {} reason code {} from network {} (source {}, destination {}).", kind,
                         f.reason, mac_text(bssid), mac_text(f.sa), mac_text(f.da));
    };
    hit(d, text_fn(text));
  }
  if (!real_mac(bssid)) return;
  if (f.da.is_broadcast() && active(builtin_alert::bcastdiscon)) {
    d.def = builtin_alert::bcastdiscon;
    d.subject = bssid.v;
    auto text = [&] {
      return fmt::format("IEEE 802.11 access point BSSID {} broadcast {} (reason {}) of all clients: the access point "
                         "shutting down, or a denial of service or handshake-capture attack.",
                         mac_text(bssid), kind, f.reason);
    };
    hit(d, text_fn(text));
  }
  if (!active(builtin_alert::deauthflood)) return;
  d.def = builtin_alert::deauthflood;
  d.subject = bssid.v;
  if (touch(d)) return;
  // Kismet's counter, per sensor: a frame within a second of the last one
  // counts up, a later one starts again at 1; more than ten raise.
  std::uint32_t count = 0;
  {
    const std::uint64_t key = bss_key(bssid, c.src.index);
    auto& shard = st_->bss_of(key);
    std::lock_guard lock(shard.mu);
    bool fresh;
    bss_state& slot = shard.table.get(key, fresh);
    const auto now_s = static_cast<std::uint32_t>(p.ts_ns / kSec);
    if (slot.disc_count == 0 || now_s < slot.disc_last_s || now_s - slot.disc_last_s > 1) slot.disc_count = 1;
    else if (slot.disc_count < 0xffff) ++slot.disc_count;
    slot.disc_last_s = now_s;
    if (slot.disc_count > 10) {
      count = slot.disc_count;
      slot.disc_count = 1;
    }
  }
  if (!count) return;
  d.packets = count;
  auto text = [&] {
    return fmt::format("IEEE 802.11 deauthentication/disassociation flood on BSSID {}: {} frames, each within a "
                       "second of the last (sensor {}).",
                       mac_text(bssid), count, ssid_text(c.src.name));
  };
  hit(d, text_fn(text));
}

void alert_engine::check_eapol(chunk& c, const decoded_packet& p) {
  const dot11_frame& f = p.dot11;
  const eapol_info& e = f.eapol;
  // WPSBRUTE: an AP (the EAP authenticator) sends M3 in an EAP Request once
  // per PIN guess; Kismet's count, per AP and per sensor: within 300 s of
  // the last one counts up, more than five raise.
  if (e.packet_type == 0 && e.eap_code == 1 && e.wps_message == 0x07 && f.has_ta && real_mac(f.ta) &&
      active(builtin_alert::wpsbrute)) {
    detection d = frame_detection(builtin_alert::wpsbrute, c.src, p, f.ta);
    d.transmitter = f.ta;
    d.source = f.sa;
    if (touch(d)) return;
    std::uint32_t count = 0;
    {
      const std::uint64_t key = bss_key(f.ta, c.src.index);
      auto& shard = st_->bss_of(key);
      std::lock_guard lock(shard.mu);
      bool fresh;
      bss_state& slot = shard.table.get(key, fresh);
      const auto now_s = static_cast<std::uint32_t>(p.ts_ns / kSec);
      if (slot.wps_count == 0 || now_s < slot.wps_last_s || now_s - slot.wps_last_s > 300) slot.wps_count = 1;
      else if (slot.wps_count < 0xffff) ++slot.wps_count;
      slot.wps_last_s = now_s;
      if (slot.wps_count > 5) {
        count = slot.wps_count;
        slot.wps_count = 1;
      }
    }
    if (count) {
      d.packets = count;
      auto text = [&] {
        return fmt::format("IEEE 802.11 AP {} sending an excessive number of WPS messages ({} M3 within minutes of "
                           "each other), which may indicate a WPS PIN brute force (Reaver, Bully).",
                           mac_text(f.ta), count);
      };
      hit(d, text_fn(text));
    }
    return;
  }

  if (!e.is_key || e.nonce.size() != 32 || f.to_ds == f.from_ds) return;
  const std::uint8_t msg = e.message;
  if (msg < 1 || msg > 3) return;
  const mac_addr ap = f.bssid;
  const mac_addr sta = f.from_ds ? f.da : f.sa;
  bool zero = true;
  for (auto b : e.nonce) zero = zero && b == 0;
  detection d;
  d.transmitter = ap;
  d.source = f.sa;
  d.dest = f.da;
  d.other = sta;
  d.device = sta;
  d.has_device = true;
  d.subject = mix64(ap.v, sta.v);
  d.sensor = c.src.index;
  d.src = &c.src;
  d.pkt = &p;
  if (zero) {
    // NONCEDEGRADE: pairwise messages 1-3 must carry a random nonce. (Kismet
    // tests message-4-like group frames, which normally have a zero nonce.)
    if (!active(builtin_alert::noncedegrade)) return;
    d.def = builtin_alert::noncedegrade;
    auto text = [&] {
      return fmt::format("IEEE 802.11 network BSSID {} client {}: handshake message {} with an all-zero nonce, which "
                         "may indicate a nonce downgrade attack or a damaged capture.",
                         mac_text(ap), mac_text(sta), msg);
    };
    hit(d, text_fn(text));
    return;
  }
  if (msg == 2 || !active(builtin_alert::noncereuse)) return;
  // NONCEREUSE, Kismet's rules, per AP, station and sensor (one sensor
  // hearing a frame twice is a retransmission; two sensors hearing it once
  // each are not a reuse). The same nonce again with a replay counter that
  // did not grow: for message 3, more than a second later; for message 1,
  // at once unless it is a retransmission (then more than a second later).
  // Retransmitted frames never raise.
  const std::uint64_t h = hash_bytes(e.nonce);
  bool dupe = false;
  {
    const std::uint64_t key = mix64(d.subject, c.src.index);
    auto& shard = st_->nonces_of(key);
    std::lock_guard lock(shard.mu);
    bool fresh;
    nonce_state& ns = shard.table.get(key, fresh);
    auto& list = msg == 1 ? ns.m1 : ns.m3;
    auto& next = msg == 1 ? ns.next1 : ns.next3;
    nonce_record* found = nullptr;
    for (auto& r : list)
      if (r.used && r.hash == h) found = &r;
    if (found) {
      if (e.replay_counter <= found->counter) {
        const std::uint64_t dt = p.ts_ns > found->ts_ns ? p.ts_ns - found->ts_ns : found->ts_ns - p.ts_ns;
        if (msg == 3 || f.retry) dupe = dt > kSec;
        else dupe = true;
      } else {
        found->counter = e.replay_counter;
        found->ts_ns = p.ts_ns;
      }
    } else {
      list[next] = nonce_record{h, e.replay_counter, p.ts_ns, true};
      next = static_cast<std::uint8_t>((next + 1) % kNonceHistory);
    }
  }
  if (!dupe || f.retry) return;
  d.def = builtin_alert::noncereuse;
  auto text = [&] {
    return fmt::format("IEEE 802.11 network BSSID {} client {}: handshake message {} reused a previously used {} "
                       "(replay counter {}), which may indicate a key reinstallation (KRACK) or a replayed message "
                       "({}: {}).",
                       mac_text(ap), mac_text(sta), msg, msg == 1 ? "anonce" : "nonce", e.replay_counter,
                       msg == 1 ? "anonce" : "nonce", hex_upper(e.nonce));
  };
  hit(d, text_fn(text));
}

// ---------------------------------------------------------------------------
// Watch list.

void alert_engine::check_watch(chunk& c, const decoded_packet& p, std::uint8_t types) {
  const dot11_frame& f = p.dot11;
  const mac_addr dev = f.ta;
  const auto& cfg = c.cfg->raw;
  const std::uint32_t mhz = p.freq_mhz();
  bool found;
  {
    std::lock_guard lock(st_->watch_mu);
    bool fresh;
    watch_device& w = st_->watched.get(dev.v, fresh);
    found = fresh || (p.ts_ns > w.last_pkt_ns && p.ts_ns - w.last_pkt_ns > cfg.found_timeout_ns);
    if (found && (types & kWatchLost)) w.lost_armed = true;
    if (fresh || p.ts_ns > w.last_pkt_ns) w.last_pkt_ns = p.ts_ns;
    w.last_wall_ns = c.now;
    w.source = c.src.index;
    if (f.has_bssid && real_mac(f.bssid)) w.bssid = f.bssid;
    if (mhz) w.channel = static_cast<std::uint16_t>(mhz_to_channel(mhz));
  }
  if (!(types & kWatchFound) || !active(builtin_alert::devicefound)) return;
  detection d = frame_detection(builtin_alert::devicefound, c.src, p, dev);
  // Kismet's transmitter here is the device's network: its BSSID, if it has one.
  d.transmitter = f.has_bssid && real_mac(f.bssid) ? f.bssid : mac_addr{};
  d.source = dev;
  d.other = f.ta;
  if (!found) {
    touch(d);
    return;
  }
  auto text = [&] {
    const std::string vendor = ouis_ ? std::string(ouis_->manufacturer(dev)) : std::string("Unknown");
    return "Monitored device " + mac_text(dev) + " (" + vendor + ") has been found.";
  };
  hit(d, text_fn(text));
}

void alert_engine::check_lost_devices(std::uint64_t now_ns) {
  const auto cfg = st_->config();
  const auto idx = watch_.snapshot();
  struct lost {
    mac_addr mac, bssid;
    std::uint32_t source;
    std::uint16_t channel;
    std::uint64_t secs;
  };
  std::vector<lost> gone;
  {
    std::lock_guard lock(st_->watch_mu);
    st_->watched.for_each([&](std::uint64_t key, watch_device& w) {
      if (!w.lost_armed || now_ns <= w.last_wall_ns || now_ns - w.last_wall_ns <= cfg->raw.lost_timeout_ns) return;
      w.lost_armed = false;
      if (!(idx->match(mac_addr{key}) & kWatchLost)) return;
      gone.push_back({mac_addr{key}, w.bssid, w.source, w.channel, (now_ns - w.last_wall_ns) / kSec});
    });
  }
  for (const auto& g : gone) {
    detection d;
    d.def = builtin_alert::devicelost;
    d.subject = g.mac.v;
    d.transmitter = g.bssid;
    d.source = g.mac;
    d.device = g.mac;
    d.has_device = true;
    d.channel = g.channel;
    auto text = [&] {
      const std::string vendor = ouis_ ? std::string(ouis_->manufacturer(g.mac)) : std::string("Unknown");
      return "Monitored device " + mac_text(g.mac) + " (" + vendor + ") has not been seen for " +
             std::to_string(g.secs) + " seconds.";
    };
    hit(d, text_fn(text));
  }
}

}  // namespace hopwire::collector

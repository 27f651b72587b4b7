#include "collector/api/device_json.h"

#include <cstring>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/track/device_tracker.h"
#include "collector/decode/dot11_frame.h"
#include "collector/api/ek_writer.h"
#include "collector/decode/radio_header.h"

namespace hopwire::collector {

namespace {

constexpr std::string_view kPhyKeyPrefix = "4202770D00000000_";

std::uint64_t sec(std::uint64_t ns) { return ns / 1000000000ull; }

// The device key into `buf` (at least 34 bytes), without allocating.
std::string_view format_key(mac_addr mac, char* buf) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::memcpy(buf, kPhyKeyPrefix.data(), kPhyKeyPrefix.size());
  char* p = buf + kPhyKeyPrefix.size();
  for (int i = 15; i >= 0; --i) *p++ = digits[(mac.v >> (i * 4)) & 15];
  return std::string_view(buf, static_cast<std::size_t>(p - buf));
}

// k is a key spelled in this file, never input: it needs no escaping.
template <typename H>
void key(H& h, const char* k) {
  const std::size_t n = std::char_traits<char>::length(k);
  if constexpr (requires { h.LiteralKey(k, n); })
    h.LiteralKey(k, n);
  else
    h.Key(k, static_cast<rapidjson::SizeType>(n), false);
}
template <typename H>
void str(H& h, std::string_view s) {
  h.String(s.data(), static_cast<rapidjson::SizeType>(s.size()), true);
}
template <typename H>
void kv(H& h, const char* k, std::string_view v) {
  key(h, k);
  str(h, v);
}
template <typename H>
void kv(H& h, const char* k, std::uint64_t v) {
  key(h, k);
  h.Uint64(v);
}
template <typename H>
void kv_int(H& h, const char* k, std::int64_t v) {
  key(h, k);
  h.Int64(v);
}
template <typename H>
void kv_bool(H& h, const char* k, bool v) {
  key(h, k);
  h.Bool(v);
}
template <typename H>
void kv_double(H& h, const char* k, double v) {
  key(h, k);
  h.Double(v);
}

template <typename H, typename NameFn>
void name_list(H& h, const char* k, std::uint32_t bits, NameFn&& name) {
  key(h, k);
  h.StartArray();
  for (unsigned i = 0; i < 32; ++i)
    if (bits & (1u << i)) str(h, name(i));
  h.EndArray();
}

template <typename H>
void phy_list(H& h, const char* k, std::uint8_t phy) {
  key(h, k);
  h.StartArray();
  if (phy & kPhyHt) str(h, "HT");
  if (phy & kPhyVht) str(h, "VHT");
  if (phy & kPhyHe) str(h, "HE");
  if (phy & kPhyEht) str(h, "EHT");
  h.EndArray();
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string ht_mode(const ssid_record& r) {
  if (r.phy & kPhyVht) {
    switch (r.vht_width) {
      case 1: return "VHT80";
      case 2: return "VHT160";
      case 3: return "VHT80+80";
      default: break;
    }
  }
  if (r.phy & kPhyHt) {
    if (r.ht_width == 1) return "HT40+";
    if (r.ht_width == 3) return "HT40-";
    return "HT20";
  }
  return "";
}

template <typename H>
void write_signal(H& h, const signal_stats& s) {
  h.StartObject();
  kv(h, "kismet.common.signal.type", "dbm");
  kv_int(h, "kismet.common.signal.last_signal", s.valid ? s.last : 0);
  kv_int(h, "kismet.common.signal.min_signal", s.valid ? s.min : 0);
  kv_int(h, "kismet.common.signal.max_signal", s.valid ? s.max : 0);
  h.EndObject();
}

template <typename H>
void geopoint(H& h, const char* k, double lat, double lon, double alt, bool has_alt) {
  key(h, k);
  h.StartObject();
  key(h, "kismet.common.location.geopoint");
  h.StartArray();
  h.Double(lon);
  h.Double(lat);
  h.EndArray();
  kv_double(h, "kismet.common.location.alt", has_alt ? alt : 0.0);
  kv(h, "kismet.common.location.fix", has_alt ? 3u : 2u);
  h.EndObject();
}

template <typename H>
void write_location(H& h, const location_stats& l) {
  h.StartObject();
  const bool alt = l.alt_count > 0;
  geopoint(h, "kismet.common.location.last", l.last_lat, l.last_lon, l.last_alt, alt);
  geopoint(h, "kismet.common.location.min_loc", l.min_lat, l.min_lon, l.min_alt, alt);
  geopoint(h, "kismet.common.location.max_loc", l.max_lat, l.max_lon, l.max_alt, alt);
  geopoint(h, "kismet.common.location.avg_loc", l.sum_lat / l.count, l.sum_lon / l.count,
           alt ? l.sum_alt / l.alt_count : 0.0, alt);
  kv(h, "kismet.common.location.last_time", sec(l.last_ns));
  kv(h, "hopwire.location.count", l.count);
  h.EndObject();
}

template <typename H>
void write_security(H& h, const char* prefix_summary, std::uint16_t sec_bits, std::uint32_t akms, std::uint32_t pairwise,
                    std::uint32_t group, std::uint32_t wpa_akms, std::uint32_t wpa_uni, std::uint32_t wpa_multi) {
  kv(h, prefix_summary, crypt_summary(sec_bits, akms));
  name_list(h, "hopwire.crypt.akms", akms, akm_name);
  name_list(h, "hopwire.crypt.pairwise", pairwise, cipher_name);
  name_list(h, "hopwire.crypt.group", group, cipher_name);
  name_list(h, "hopwire.crypt.wpa_akms", wpa_akms, akm_name);
  name_list(h, "hopwire.crypt.wpa_unicast", wpa_uni, cipher_name);
  name_list(h, "hopwire.crypt.wpa_multicast", wpa_multi, cipher_name);
  kv_bool(h, "hopwire.crypt.privacy", sec_bits & kSecPrivacy);
  kv_bool(h, "hopwire.crypt.rsn", sec_bits & kSecRsn);
  kv_bool(h, "hopwire.crypt.wpa", sec_bits & kSecWpa);
}

template <typename H>
void write_ssid(H& h, const ssid_record& r, bool beacon) {
  h.StartObject();
  kv(h, "dot11.advertisedssid.ssid", ssid_text(r.ssid));
  kv(h, "dot11.advertisedssid.ssidlen", r.ssid.size());
  kv(h, "hopwire.advertisedssid.ssid_hex", hex(r.ssid));
  kv(h, "dot11.advertisedssid.cloaked", r.cloaked() ? 1u : 0u);
  kv(h, "dot11.advertisedssid.beacon", beacon ? 1u : 0u);
  kv(h, "dot11.advertisedssid.probe_response", beacon ? 0u : 1u);
  kv(h, "dot11.advertisedssid.first_time", sec(r.first_ns));
  kv(h, "dot11.advertisedssid.last_time", sec(r.last_ns));
  kv(h, "dot11.advertisedssid.channel", r.channel ? std::to_string(r.channel) : std::string());
  kv(h, "hopwire.advertisedssid.frequency", std::uint64_t{r.freq_mhz} * 1000);
  kv(h, "dot11.advertisedssid.ht_mode", ht_mode(r));
  kv(h, "hopwire.advertisedssid.ht_width", r.ht_width);
  kv(h, "hopwire.advertisedssid.vht_width", r.vht_width);
  phy_list(h, "hopwire.advertisedssid.phy", r.phy);
  // Beacons per second the AP announces (interval in TUs of 1024 µs).
  kv(h, "dot11.advertisedssid.beaconrate",
     r.beacon_interval ? static_cast<std::uint64_t>(1000000.0 / (r.beacon_interval * 1024.0) + 0.5) : 0);
  kv(h, "hopwire.advertisedssid.beacon_interval", r.beacon_interval);
  kv(h, "hopwire.advertisedssid.beacons", r.beacons);
  kv(h, "hopwire.advertisedssid.probe_responses", r.probe_responses);
  kv(h, "dot11.advertisedssid.maxrate", std::uint64_t{r.max_rate_500k} / 2);
  write_security(h, "dot11.advertisedssid.crypt_string", r.security, r.akms, r.pairwise, r.group, r.wpa_akms,
                 r.wpa_unicast, r.wpa_multicast);
  kv(h, "dot11.advertisedssid.wpa_mfp_supported", (r.security & kSecMfpc) ? 1u : 0u);
  kv(h, "dot11.advertisedssid.wpa_mfp_required", (r.security & kSecMfpr) ? 1u : 0u);
  kv_bool(h, "hopwire.advertisedssid.owe_transition", r.security & kSecOweTransition);
  kv(h, "dot11.advertisedssid.wps_state", r.wps_state);
  // Two bytes off the air, not necessarily letters: escaped like an SSID so the JSON stays UTF-8.
  if (r.country[0]) kv(h, "dot11.advertisedssid.dot11d_country", ssid_text(std::string_view(r.country, 2)));
  if (r.has_mesh_id) kv(h, "hopwire.advertisedssid.mesh_id", ssid_text(r.mesh_id));
  h.EndObject();
}

template <typename H>
void write_probed(H& h, const probed_record& p) {
  h.StartObject();
  kv(h, "dot11.probedssid.ssid", ssid_text(p.ssid));
  kv(h, "dot11.probedssid.ssidlen", p.ssid.size());
  kv(h, "hopwire.probedssid.ssid_hex", hex(p.ssid));
  kv(h, "dot11.probedssid.first_time", sec(p.first_ns));
  kv(h, "dot11.probedssid.last_time", sec(p.last_ns));
  kv(h, "hopwire.probedssid.count", p.count);
  h.EndObject();
}

template <typename H>
void write_peer(H& h, const peer_link& l, bool peer_is_bssid) {
  h.StartObject();
  if (peer_is_bssid) {
    kv(h, "dot11.client.bssid", l.peer.get().str(true));
    char keybuf[40];
    kv(h, "dot11.client.bssid_key", format_key(l.peer, keybuf));
  } else {
    kv(h, "hopwire.dot11.client.mac", l.peer.get().str(true));
    char keybuf[40];
    kv(h, "hopwire.dot11.client.key", format_key(l.peer, keybuf));
  }
  kv(h, "dot11.client.first_time", sec(l.first_ns));
  kv(h, "dot11.client.last_time", sec(l.last_ns));
  kv(h, "hopwire.dot11.client.packets", l.packets);
  kv(h, "dot11.client.datasize", l.bytes);
  key(h, "hopwire.dot11.client.eapol_messages");
  h.StartArray();
  for (unsigned m = 1; m <= 4; ++m)
    if (l.eapol_seen & (1u << (m - 1))) h.Uint(m);
  h.EndArray();
  kv(h, "hopwire.dot11.client.eapol_last", l.eapol_last);
  kv(h, "hopwire.dot11.client.eapol_last_time", sec(l.eapol_last_ns));
  h.EndObject();
}

template <typename H>
void write_dot11(H& h, const device& d) {
  key(h, "dot11.device");
  h.StartObject();
  kv(h, "dot11.device.typeset", d.types);
  static const wifi_detail kEmpty;
  const wifi_detail& w = d.wifi ? *d.wifi : kEmpty;
  key(h, "dot11.device.advertised_ssid_map");
  h.StartArray();
  for (const auto& r : w.advertised()) write_ssid(h, r, true);
  h.EndArray();
  kv(h, "dot11.device.num_advertised_ssids", w.advertised().size());
  key(h, "dot11.device.responded_ssid_map");
  h.StartArray();
  for (const auto& r : w.responded()) write_ssid(h, r, false);
  h.EndArray();
  kv(h, "dot11.device.num_responded_ssids", w.responded().size());
  key(h, "dot11.device.probed_ssid_map");
  h.StartArray();
  for (const auto& p : w.probed) {
    write_probed(h, p);
  }
  h.EndArray();
  kv(h, "dot11.device.num_probed_ssids", w.probed.size());
  kv(h, "hopwire.dot11.device.wildcard_probes", w.wildcard_probes);
  phy_list(h, "hopwire.dot11.device.probe_phy", w.probe_phy);
  key(h, "dot11.device.associated_client_map");
  h.StartObject();
  for (const auto& l : w.clients()) {
    const auto mac = l.peer.get().str(true);
    h.Key(mac.data(), static_cast<rapidjson::SizeType>(mac.size()), true);
    char keybuf[40];
    str(h, format_key(l.peer, keybuf));
  }
  h.EndObject();
  kv(h, "dot11.device.num_associated_clients", w.clients().size());
  // Kismet's map holds only keys; the links themselves (packets, bytes,
  // handshake progress seen from the AP) are ours.
  key(h, "hopwire.dot11.device.clients");
  h.StartArray();
  for (const auto& l : w.clients()) write_peer(h, l, false);
  h.EndArray();
  key(h, "dot11.device.client_map");
  h.StartObject();
  for (const auto& l : w.aps) {
    const auto mac = l.peer.get().str(true);
    h.Key(mac.data(), static_cast<rapidjson::SizeType>(mac.size()), true);
    write_peer(h, l, true);
  }
  h.EndObject();
  kv(h, "dot11.device.num_client_aps", w.aps.size());
  kv(h, "dot11.device.last_bssid", w.has_last_bssid ? w.last_bssid.str(true) : std::string("00:00:00:00:00:00"));
  key(h, "hopwire.dot11.device.assoc_requests");
  h.StartArray();
  for (const auto& a : w.assoc) {
    h.StartObject();
    kv(h, "hopwire.assoc.bssid", a.bssid.str(true));
    kv(h, "hopwire.assoc.ssid", ssid_text(a.ssid));
    kv(h, "hopwire.assoc.ssid_hex", hex(a.ssid));
    kv_bool(h, "hopwire.assoc.reassoc", a.reassoc);
    write_security(h, "hopwire.assoc.crypt_string", a.security, a.akms, a.pairwise, a.group, a.wpa_akms, 0, 0);
    kv_bool(h, "hopwire.assoc.mfp_supported", a.security & kSecMfpc);
    kv_bool(h, "hopwire.assoc.mfp_required", a.security & kSecMfpr);
    phy_list(h, "hopwire.assoc.phy", a.phy);
    kv(h, "hopwire.assoc.last_time", sec(a.last_ns));
    h.EndObject();
  }
  h.EndArray();
  name_list(h, "hopwire.dot11.device.auth_algorithms", w.auth_algorithms, auth_algorithm_name);
  kv(h, "dot11.device.client_disconnects", w.deauths + w.disassocs);
  kv(h, "dot11.device.num_retries", d.retries);
  kv(h, "dot11.device.datasize", d.data_bytes);
  h.EndObject();
}

}  // namespace

template <typename H>
void write_device(H& h, const device& d, const device_tracker& tracker) {
  h.StartObject();
  char keybuf[40];
  kv(h, "kismet.device.base.key", format_key(d.mac, keybuf));
  const auto mac = d.mac.str(true);
  kv(h, "kismet.device.base.macaddr", mac);
  kv(h, "kismet.device.base.phyname", "IEEE802.11");
  // An AP's name is the SSID it advertises (the last one that is not cloaked).
  std::string name;
  std::string crypt = "None";
  if (d.wifi) {
    for (const auto* list : {&d.wifi->responded(), &d.wifi->advertised()})
      for (const auto& r : *list) {
        if (!r.cloaked()) name = ssid_text(r.ssid);
        crypt = crypt_summary(r.security, r.akms);
      }
  }
  kv(h, "kismet.device.base.name", name);
  // What people named and tagged it (set_name.cmd, set_tag.cmd): present
  // only when set, as in Kismet.
  std::optional<device_annotation> note;
  if (tracker.annotations().any()) note = tracker.annotations().get(d.mac);
  if (note && note->username) kv(h, "kismet.device.base.username", *note->username);
  if (note && !note->tags.empty()) {
    key(h, "kismet.device.base.tags");
    h.StartObject();
    for (const auto& [tag, value] : note->tags) {
      h.Key(tag.data(), static_cast<rapidjson::SizeType>(tag.size()), true);
      str(h, value);
    }
    h.EndObject();
  }
  kv(h, "kismet.device.base.commonname", name.empty() ? mac : name);
  kv(h, "kismet.device.base.type", device_type_name(d.types));
  kv(h, "kismet.device.base.basic_type_set", d.types);
  kv(h, "kismet.device.base.crypt", crypt);
  kv(h, "kismet.device.base.manuf", tracker.ouis().manufacturer(d.mac));
  kv_bool(h, "hopwire.device.randomized_mac", d.mac.is_local());
  kv(h, "kismet.device.base.first_time", sec(d.first_ns));
  kv(h, "kismet.device.base.last_time", sec(d.last_ns));
  kv(h, "kismet.device.base.mod_time", sec(d.mod_ns));
  kv(h, "kismet.device.base.packets.total", d.packets);
  kv(h, "kismet.device.base.packets.tx_total", d.packets_tx);
  kv(h, "kismet.device.base.packets.rx_total", d.packets_rx);
  kv(h, "kismet.device.base.packets.llc", d.packets_mgmt);
  kv(h, "kismet.device.base.packets.data", d.packets_data);
  kv(h, "kismet.device.base.packets.error", d.packets_error);
  kv(h, "kismet.device.base.packets.crypt", d.packets_crypt);
  kv(h, "kismet.device.base.datasize", d.bytes);
  kv(h, "kismet.device.base.channel", d.channel ? std::to_string(d.channel) : std::string());
  kv_double(h, "kismet.device.base.frequency", d.freq_mhz * 1000.0);
  key(h, "kismet.device.base.signal");
  write_signal(h, d.signal);
  if (d.location) {
    key(h, "kismet.device.base.location");
    write_location(h, *d.location);
  }
  key(h, "kismet.device.base.seenby");
  h.StartArray();
  for (const auto& s : d.seenby) {
    const auto src = tracker.source(s.source);
    h.StartObject();
    kv(h, "kismet.common.seenby.uuid", src.uuid);
    kv(h, "hopwire.seenby.name", src.name);
    kv(h, "kismet.common.seenby.first_time", sec(s.first_ns));
    kv(h, "kismet.common.seenby.last_time", sec(s.last_ns));
    kv(h, "kismet.common.seenby.num_packets", s.packets);
    kv(h, "hopwire.seenby.frequency", std::uint64_t{s.freq_mhz} * 1000);
    key(h, "kismet.common.seenby.signal");
    write_signal(h, s.signal);
    h.EndObject();
  }
  h.EndArray();
  write_dot11(h, d);
  h.EndObject();
}

template <typename H>
void write_ssid_record(H& h, const ssid_record& r, bool beacon) {
  write_ssid(h, r, beacon);
}
template <typename H>
void write_probed_record(H& h, const probed_record& p) {
  write_probed(h, p);
}
template void write_ssid_record(json_writer&, const ssid_record&, bool);
template void write_probed_record(json_writer&, const probed_record&);

template void write_device(json_writer&, const device&, const device_tracker&);
template void write_device(ek_writer&, const device&, const device_tracker&);
template void write_device(doc_builder&, const device&, const device_tracker&);

std::string device_key(mac_addr mac) {
  char buf[40];
  return std::string(format_key(mac, buf));
}

std::optional<mac_addr> parse_device_key(std::string_view key) {
  if (key.size() != kPhyKeyPrefix.size() + 16) return std::nullopt;
  for (std::size_t i = 0; i < kPhyKeyPrefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(key[i])) != kPhyKeyPrefix[i]) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : key.substr(kPhyKeyPrefix.size())) {
    int h;
    if (c >= '0' && c <= '9') h = c - '0';
    else if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
    else return std::nullopt;
    v = v << 4 | static_cast<std::uint64_t>(h);
  }
  if (v >> 48) return std::nullopt;
  return mac_addr{v};
}


std::string crypt_summary(std::uint16_t s, std::uint32_t akms) {
  if (!(s & (kSecRsn | kSecWpa))) return (s & kSecPrivacy) ? "WEP" : "Open";
  std::string out;
  auto add = [&](const char* p) {
    if (!out.empty()) out.push_back('/');
    out += p;
  };
  if (s & kSecWpa) add("WPA");
  if (s & kSecRsn) {
    constexpr std::uint32_t wpa3 = kAkmSae | kAkmFtSae | kAkmSaeExt | kAkmFtSaeExt | kAkmEapSuiteB192;
    const std::uint32_t wpa2_akms = akms & ~(wpa3 | kAkmOwe);
    if (wpa2_akms || akms == 0) add("WPA2");
    if (akms & wpa3) add("WPA3");
    if (akms & kAkmOwe) add("OWE");
  }
  return out;
}

const char* akm_name(unsigned n) {
  switch (n) {
    case 1: return "EAP";
    case 2: return "PSK";
    case 3: return "FT-EAP";
    case 4: return "FT-PSK";
    case 5: return "EAP-SHA256";
    case 6: return "PSK-SHA256";
    case 7: return "TDLS";
    case 8: return "SAE";
    case 9: return "FT-SAE";
    case 11: return "EAP-SUITE-B";
    case 12: return "EAP-SUITE-B-192";
    case 13: return "FT-EAP-SHA384";
    case 14: return "FILS-SHA256";
    case 15: return "FILS-SHA384";
    case 16: return "FT-FILS-SHA256";
    case 17: return "FT-FILS-SHA384";
    case 18: return "OWE";
    case 19: return "FT-PSK-SHA384";
    case 20: return "PSK-SHA384";
    case 24: return "SAE-EXT-KEY";
    case 25: return "FT-SAE-EXT-KEY";
    default: return "OTHER";
  }
}

const char* cipher_name(unsigned n) {
  switch (n) {
    case 0: return "USE-GROUP";
    case 1: return "WEP-40";
    case 2: return "TKIP";
    case 4: return "CCMP-128";
    case 5: return "WEP-104";
    case 6: return "BIP-CMAC-128";
    case 7: return "NO-GROUP-TRAFFIC";
    case 8: return "GCMP-128";
    case 9: return "GCMP-256";
    case 10: return "CCMP-256";
    case 11: return "BIP-GMAC-128";
    case 12: return "BIP-GMAC-256";
    case 13: return "BIP-CMAC-256";
    default: return "OTHER";
  }
}

const char* auth_algorithm_name(unsigned n) {
  switch (n) {
    case 0: return "open-system";
    case 1: return "shared-key";
    case 2: return "fast-bss-transition";
    case 3: return "SAE";
    case 4: return "FILS-SK";
    case 5: return "FILS-SK-PFS";
    case 6: return "FILS-PK";
    case 7: return "PASN";
    default: return "OTHER";
  }
}

}  // namespace hopwire::collector

#pragma once
// The one list of what a device holds, field by field, in the order of its
// stored record. The RocksDB codec reads and writes through it, and the
// tests fill, compare and perturb every field through it, so a field added
// to device.h and not here fails the round-trip test (tracker_test.cc) — and
// one added here and not to the JSON writer fails the JSON test.
//
// A visitor V has, for each kind of field (`name` is for messages and tests):
//   num(name, T&)                       integers, floats (T arithmetic)
//   flag(name, bool&)                   stored as one byte
//   mac(name, mac_addr&)                stored as its 64-bit value
//   str(name, std::string&)
//   signal(name, signal_stats&)
//   source(name, std::uint32_t&)        a source index, stored as its UUID
//   list(name, std::vector<T>&, min_bytes, fn)   fn(V&, T&) per element
//   optional(name, detail_ptr<T>&, fn)  fn(V&, T&) when present
// Visits are templates over `const device` and `device` alike.

#include <type_traits>
#include <utility>

#include "collector/track/device.h"

namespace hopwire::collector {

template <typename T, typename U>
using like_const = std::conditional_t<std::is_const_v<T>, const U, U>;

template <typename V, typename R>
void visit_ssid(V& v, R& r) {
  v.str("ssid", r.ssid), v.str("mesh_id", r.mesh_id);
  v.num("first_ns", r.first_ns), v.num("last_ns", r.last_ns);
  v.num("beacons", r.beacons), v.num("probe_responses", r.probe_responses);
  v.num("akms", r.akms), v.num("pairwise", r.pairwise), v.num("group", r.group);
  v.num("wpa_akms", r.wpa_akms), v.num("wpa_unicast", r.wpa_unicast), v.num("wpa_multicast", r.wpa_multicast);
  v.num("freq_mhz", r.freq_mhz), v.num("security", r.security), v.num("beacon_interval", r.beacon_interval);
  v.num("channel", r.channel), v.num("phy", r.phy), v.num("ht_width", r.ht_width), v.num("vht_width", r.vht_width);
  v.num("wps_state", r.wps_state), v.num("max_rate_500k", r.max_rate_500k);
  v.num("country0", r.country[0]), v.num("country1", r.country[1]);
  v.flag("has_mesh_id", r.has_mesh_id);
}

template <typename V, typename L>
void visit_peer(V& v, L& l) {
  // The peer is kept in six bytes and visited (and stored) as a mac_addr.
  mac_addr peer = l.peer;
  v.mac("peer", peer);
  if constexpr (!std::is_const_v<L>) l.peer = peer;
  v.num("first_ns", l.first_ns), v.num("last_ns", l.last_ns);
  v.num("packets", l.packets), v.num("bytes", l.bytes);
  v.num("eapol_seen", l.eapol_seen), v.num("eapol_last", l.eapol_last), v.num("eapol_last_ns", l.eapol_last_ns);
}

template <typename V, typename P>
void visit_probed(V& v, P& p) {
  v.str("ssid", p.ssid), v.num("first_ns", p.first_ns), v.num("last_ns", p.last_ns), v.num("count", p.count);
}

template <typename V, typename A>
void visit_assoc(V& v, A& a) {
  v.mac("bssid", a.bssid), v.str("ssid", a.ssid);
  v.num("akms", a.akms), v.num("pairwise", a.pairwise), v.num("group", a.group), v.num("wpa_akms", a.wpa_akms);
  v.num("security", a.security), v.num("phy", a.phy), v.flag("reassoc", a.reassoc), v.num("last_ns", a.last_ns);
}

template <typename V, typename S>
void visit_seenby(V& v, S& s) {
  v.source("source", s.source);
  v.num("freq_mhz", s.freq_mhz), v.num("packets", s.packets), v.num("first_ns", s.first_ns), v.num("last_ns", s.last_ns);
  v.signal("signal", s.signal);
}

template <typename V, typename L>
void visit_location(V& v, L& l) {
  v.num("min_lat", l.min_lat), v.num("min_lon", l.min_lon), v.num("min_alt", l.min_alt);
  v.num("max_lat", l.max_lat), v.num("max_lon", l.max_lon), v.num("max_alt", l.max_alt);
  v.num("sum_lat", l.sum_lat), v.num("sum_lon", l.sum_lon), v.num("sum_alt", l.sum_alt);
  v.num("last_lat", l.last_lat), v.num("last_lon", l.last_lon), v.num("last_alt", l.last_alt);
  v.num("count", l.count), v.num("alt_count", l.alt_count), v.num("last_ns", l.last_ns);
}

template <typename V, typename W>
void visit_wifi(V& v, W& w) {
  using ssid_t = like_const<W, ssid_record>;
  using peer_t = like_const<W, peer_link>;
  // The AP part's lists are visited in the record's order whether or not the
  // part exists. A visitor that fills them fills a part made aside (no heap
  // block for a client read back), kept only if something went in.
  [[maybe_unused]] std::conditional_t<std::is_const_v<W>, char, ap_lists> aside{};
  auto& ap = [&]() -> like_const<W, ap_lists>& {
    if constexpr (std::is_const_v<W>) return w.ap_or_empty();
    else return w.ap ? *w.ap : aside;
  }();
  v.list("advertised", ap.advertised, 40, [](V& vv, ssid_t& r) { visit_ssid(vv, r); });
  v.list("responded", ap.responded, 40, [](V& vv, ssid_t& r) { visit_ssid(vv, r); });
  v.list("probed", w.probed, 24, [](V& vv, like_const<W, probed_record>& p) { visit_probed(vv, p); });
  v.list("clients", ap.clients, 50, [](V& vv, peer_t& l) { visit_peer(vv, l); });
  if constexpr (!std::is_const_v<W>) {
    if (!w.ap && !aside.empty()) w.ap_part() = std::move(aside);
    else if (w.ap && w.ap->empty()) w.ap.reset();
  }
  v.list("aps", w.aps, 50, [](V& vv, peer_t& l) { visit_peer(vv, l); });
  v.list("assoc", w.assoc, 30, [](V& vv, like_const<W, assoc_request>& a) { visit_assoc(vv, a); });
  v.num("wildcard_probes", w.wildcard_probes), v.num("deauths", w.deauths), v.num("disassocs", w.disassocs);
  v.num("auth_algorithms", w.auth_algorithms), v.num("probe_phy", w.probe_phy);
  v.mac("last_bssid", w.last_bssid), v.flag("has_last_bssid", w.has_last_bssid);
}

// Everything but the shard's bookkeeping (index, recency links, dirty).
template <typename V, typename D>
void visit_device(V& v, D& d) {
  v.mac("mac", d.mac), v.num("types", d.types);
  v.num("first_ns", d.first_ns), v.num("last_ns", d.last_ns), v.num("mod_ns", d.mod_ns);
  v.num("packets", d.packets), v.num("packets_data", d.packets_data), v.num("packets_mgmt", d.packets_mgmt);
  v.num("packets_error", d.packets_error), v.num("packets_crypt", d.packets_crypt);
  v.num("packets_tx", d.packets_tx), v.num("packets_rx", d.packets_rx);
  v.num("bytes", d.bytes), v.num("data_bytes", d.data_bytes), v.num("retries", d.retries);
  v.signal("signal", d.signal);
  v.num("freq_mhz", d.freq_mhz), v.num("channel", d.channel);
  v.list("seenby", d.seenby, 4 + 4 + 8 * 3 + 7, [](V& vv, like_const<D, seenby_entry>& s) { visit_seenby(vv, s); });
  v.optional("location", d.location, [](V& vv, like_const<D, location_stats>& l) { visit_location(vv, l); });
  v.optional("wifi", d.wifi, [](V& vv, like_const<D, wifi_detail>& w) { visit_wifi(vv, w); });
}

}  // namespace hopwire::collector

#include "collector/track/device_merge.h"

#include <algorithm>

#include "collector/track/tracker_internal.h"

namespace hopwire::collector {

namespace {

void widen(std::uint64_t& first, std::uint64_t& last, std::uint64_t from_first, std::uint64_t from_last) {
  if (from_first && (!first || from_first < first)) first = from_first;
  if (from_last > last) last = from_last;
}

// `later`: `from` was heard last, so its last value is the last.
void merge_signal(signal_stats& into, const signal_stats& from, bool later) {
  if (!from.valid) return;
  if (!into.valid) {
    into = from;
    return;
  }
  into.min = std::min(into.min, from.min);
  into.max = std::max(into.max, from.max);
  if (later) into.last = from.last;
}

void merge_location(location_stats& into, const location_stats& from) {
  if (from.count == 0) return;
  const bool later = from.last_ns > into.last_ns;
  if (into.count == 0) {
    into.min_lat = from.min_lat, into.max_lat = from.max_lat;
    into.min_lon = from.min_lon, into.max_lon = from.max_lon;
  } else {
    into.min_lat = std::min(into.min_lat, from.min_lat), into.max_lat = std::max(into.max_lat, from.max_lat);
    into.min_lon = std::min(into.min_lon, from.min_lon), into.max_lon = std::max(into.max_lon, from.max_lon);
  }
  if (from.alt_count) {
    if (into.alt_count == 0) into.min_alt = from.min_alt, into.max_alt = from.max_alt;
    else into.min_alt = std::min(into.min_alt, from.min_alt), into.max_alt = std::max(into.max_alt, from.max_alt);
    if (later || into.alt_count == 0) into.last_alt = from.last_alt;
  }
  into.sum_lat += from.sum_lat, into.sum_lon += from.sum_lon, into.sum_alt += from.sum_alt;
  into.count += from.count, into.alt_count += from.alt_count;
  if (later) {
    into.last_lat = from.last_lat, into.last_lon = from.last_lon;
    into.last_ns = from.last_ns;
  }
}

// The tracker appends records as it first hears them: in first-heard order.
template <typename Vec>
void order_by_first(Vec& v) {
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first_ns < b.first_ns; });
}

void merge_ssids(compact_vec<ssid_record>& into, const compact_vec<ssid_record>& from) {
  for (const auto& s : from) {
    ssid_record* r = nullptr;
    for (auto& e : into)
      if (e.ssid == s.ssid) r = &e;
    if (!r) {
      if (into.size() < kMaxSsidsPerDevice) into.push_back(s);
      continue;
    }
    const bool later = s.last_ns > r->last_ns;
    const bool had_wps = r->security & kSecWps;
    widen(r->first_ns, r->last_ns, s.first_ns, s.last_ns);
    r->beacons += s.beacons, r->probe_responses += s.probe_responses;
    r->security |= s.security;
    r->akms |= s.akms, r->pairwise |= s.pairwise, r->group |= s.group;
    r->wpa_akms |= s.wpa_akms, r->wpa_unicast |= s.wpa_unicast, r->wpa_multicast |= s.wpa_multicast;
    r->phy |= s.phy;
    r->max_rate_500k = std::max(r->max_rate_500k, s.max_rate_500k);
    // What each frame overwrites: the last frame's, or the only one's.
    auto last = [later](auto& mine, auto theirs) {
      if (theirs && (later || !mine)) mine = theirs;
    };
    last(r->channel, s.channel);
    last(r->freq_mhz, s.freq_mhz);
    last(r->ht_width, s.ht_width);
    last(r->vht_width, s.vht_width);
    last(r->beacon_interval, s.beacon_interval);
    if (s.country[0] && (later || !r->country[0])) r->country[0] = s.country[0], r->country[1] = s.country[1];
    if ((s.security & kSecWps) && (later || !had_wps)) r->wps_state = s.wps_state;
    if (s.has_mesh_id && (later || !r->has_mesh_id)) r->has_mesh_id = true, r->mesh_id = s.mesh_id;
  }
  order_by_first(into);
}

// An AP's clients or a station's APs.
template <typename List>
void merge_peers(List& into, const List& from) {
  for (const auto& p : from) {
    peer_link* l = nullptr;
    for (auto& e : into)
      if (e.peer.get() == p.peer.get()) l = &e;
    if (!l) {
      if (into.size() < kMaxPeersPerDevice) into.push_back(p);
      continue;
    }
    widen(l->first_ns, l->last_ns, p.first_ns, p.last_ns);
    l->packets += p.packets, l->bytes += p.bytes;
    l->eapol_seen |= p.eapol_seen;
    if (p.eapol_last && p.eapol_last_ns >= l->eapol_last_ns)
      l->eapol_last = p.eapol_last, l->eapol_last_ns = p.eapol_last_ns;
  }
  order_by_first(into);
}

void merge_wifi(wifi_detail& into, const wifi_detail& from, bool later) {
  if (from.ap) {
    auto& ap = into.ap_part();
    merge_ssids(ap.advertised, from.ap->advertised);
    merge_ssids(ap.responded, from.ap->responded);
    merge_peers(ap.clients, from.ap->clients);
  }
  for (const auto& p : from.probed) {
    probed_record* r = nullptr;
    for (auto& e : into.probed)
      if (e.ssid == p.ssid) r = &e;
    if (!r) {
      if (into.probed.size() < kMaxSsidsPerDevice) into.probed.push_back(p);
      continue;
    }
    widen(r->first_ns, r->last_ns, p.first_ns, p.last_ns);
    r->count += p.count;
  }
  order_by_first(into.probed);
  merge_peers(into.aps, from.aps);
  // An association request record is the last request to that BSSID; a
  // full list keeps the newest. (Order: by last request — the tracker's is
  // by first, which the record does not keep.)
  for (const auto& a : from.assoc) {
    assoc_request* r = nullptr;
    for (auto& e : into.assoc)
      if (e.bssid == a.bssid) r = &e;
    if (!r) into.assoc.push_back(a);
    else if (a.last_ns > r->last_ns) *r = a;
  }
  std::stable_sort(into.assoc.begin(), into.assoc.end(),
                   [](const assoc_request& x, const assoc_request& y) { return x.last_ns < y.last_ns; });
  if (into.assoc.size() > kMaxAssocRecords)
    into.assoc.erase(into.assoc.begin(), into.assoc.begin() + (into.assoc.size() - kMaxAssocRecords));
  into.wildcard_probes += from.wildcard_probes;
  into.deauths += from.deauths, into.disassocs += from.disassocs;
  into.auth_algorithms |= from.auth_algorithms;
  into.probe_phy |= from.probe_phy;
  if (from.has_last_bssid && (later || !into.has_last_bssid)) into.last_bssid = from.last_bssid, into.has_last_bssid = true;
}

}  // namespace

void merge_device(device& into, const device& from) {
  const bool later = from.last_ns > into.last_ns;
  into.types |= from.types;
  widen(into.first_ns, into.last_ns, from.first_ns, from.last_ns);
  into.mod_ns = std::max(into.mod_ns, from.mod_ns);
  into.packets += from.packets, into.packets_data += from.packets_data, into.packets_mgmt += from.packets_mgmt;
  into.packets_error += from.packets_error, into.packets_crypt += from.packets_crypt;
  into.packets_tx += from.packets_tx, into.packets_rx += from.packets_rx;
  into.bytes += from.bytes, into.data_bytes += from.data_bytes, into.retries += from.retries;
  merge_signal(into.signal, from.signal, later);
  if (from.freq_mhz && (later || !into.freq_mhz)) into.freq_mhz = from.freq_mhz;
  if (from.channel && (later || !into.channel)) into.channel = from.channel;

  for (const auto& s : from.seenby) {
    seenby_entry* e = nullptr;
    for (auto& x : into.seenby)
      if (x.source == s.source) e = &x;
    if (!e) {
      if (into.seenby.size() < kMaxSeenby) into.seenby.push_back(s);
      continue;
    }
    // One source on two collectors: it moved between them (failover).
    const bool s_later = s.last_ns > e->last_ns;
    widen(e->first_ns, e->last_ns, s.first_ns, s.last_ns);
    e->packets += s.packets;
    if (s.freq_mhz && s_later) e->freq_mhz = s.freq_mhz;
    merge_signal(e->signal, s.signal, s_later);
  }
  order_by_first(into.seenby);

  if (from.location) merge_location(into.location.emplace(), *from.location);
  if (from.wifi) merge_wifi(into.w(), *from.wifi, later);
}

}  // namespace hopwire::collector

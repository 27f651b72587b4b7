#include "device_codec.h"

#include <cstring>
#include <type_traits>

namespace hopwire::collector {

namespace {

class writer {
 public:
  explicit writer(std::string& out) : o_(out) {}
  template <typename T>
  void num(T v) {
    static_assert(std::is_arithmetic_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86, ARM, MIPSel); see decode
    o_.append(b, sizeof(T));
  }
  void str(std::string_view s) {
    num(static_cast<std::uint32_t>(s.size()));
    o_.append(s);
  }
  void signal(const signal_stats& s) {
    num(s.last), num(s.min), num(s.max), num(static_cast<std::uint8_t>(s.valid));
  }

 private:
  std::string& o_;
};

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool num(T& v) {
    if (in_.size() - pos_ < sizeof(T)) return ok_ = false;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!num(n) || in_.size() - pos_ < n) return ok_ = false;
    s.assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool signal(signal_stats& s) {
    std::uint8_t valid = 0;
    num(s.last), num(s.min), num(s.max), num(valid);
    s.valid = valid;
    return ok_;
  }
  // A count of list entries, refused if the record cannot possibly hold them.
  bool count(std::uint32_t& n, std::size_t min_entry_bytes) {
    if (!num(n)) return false;
    if (static_cast<std::uint64_t>(n) * min_entry_bytes > in_.size() - pos_) return ok_ = false;
    return true;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

void put_ssid(writer& w, const ssid_record& r) {
  w.str(r.ssid), w.str(r.mesh_id);
  w.num(r.first_ns), w.num(r.last_ns), w.num(r.beacons), w.num(r.probe_responses);
  w.num(r.akms), w.num(r.pairwise), w.num(r.group), w.num(r.wpa_akms), w.num(r.wpa_unicast), w.num(r.wpa_multicast);
  w.num(r.freq_mhz), w.num(r.security), w.num(r.beacon_interval);
  w.num(r.channel), w.num(r.phy), w.num(r.ht_width), w.num(r.vht_width), w.num(r.wps_state), w.num(r.max_rate_500k);
  w.num(r.country[0]), w.num(r.country[1]), w.num(static_cast<std::uint8_t>(r.has_mesh_id));
}

bool get_ssid(reader& r, ssid_record& s) {
  std::uint8_t mesh = 0;
  r.str(s.ssid), r.str(s.mesh_id);
  r.num(s.first_ns), r.num(s.last_ns), r.num(s.beacons), r.num(s.probe_responses);
  r.num(s.akms), r.num(s.pairwise), r.num(s.group), r.num(s.wpa_akms), r.num(s.wpa_unicast), r.num(s.wpa_multicast);
  r.num(s.freq_mhz), r.num(s.security), r.num(s.beacon_interval);
  r.num(s.channel), r.num(s.phy), r.num(s.ht_width), r.num(s.vht_width), r.num(s.wps_state), r.num(s.max_rate_500k);
  r.num(s.country[0]), r.num(s.country[1]), r.num(mesh);
  s.has_mesh_id = mesh;
  return r.ok();
}

void put_peer(writer& w, const peer_link& l) {
  w.num(l.peer.v), w.num(l.first_ns), w.num(l.last_ns), w.num(l.packets), w.num(l.bytes);
  w.num(l.eapol_seen), w.num(l.eapol_last), w.num(l.eapol_last_ns);
}

bool get_peer(reader& r, peer_link& l) {
  r.num(l.peer.v), r.num(l.first_ns), r.num(l.last_ns), r.num(l.packets), r.num(l.bytes);
  r.num(l.eapol_seen), r.num(l.eapol_last), r.num(l.eapol_last_ns);
  return r.ok();
}

template <typename T, typename Get>
bool get_list(reader& r, std::vector<T>& v, std::size_t min_bytes, Get&& get) {
  std::uint32_t n = 0;
  if (!r.count(n, min_bytes)) return false;
  v.resize(n);
  for (auto& e : v)
    if (!get(r, e)) return false;
  return true;
}

}  // namespace

void encode_device(const device& d, const source_uuid_of& uuid_of, std::string& out) {
  writer w(out);
  w.num(kDeviceRecordVersion);
  w.num(d.mac.v), w.num(d.types), w.num(d.first_ns), w.num(d.last_ns), w.num(d.mod_ns);
  w.num(d.packets), w.num(d.packets_data), w.num(d.packets_mgmt), w.num(d.packets_error), w.num(d.packets_crypt);
  w.num(d.packets_tx), w.num(d.packets_rx), w.num(d.bytes), w.num(d.data_bytes), w.num(d.retries);
  w.signal(d.signal);
  w.num(d.freq_mhz), w.num(d.channel);
  w.num(static_cast<std::uint32_t>(d.seenby.size()));
  for (const auto& s : d.seenby) {
    w.str(uuid_of(s.source));
    w.num(s.freq_mhz), w.num(s.packets), w.num(s.first_ns), w.num(s.last_ns);
    w.signal(s.signal);
  }
  w.num(static_cast<std::uint8_t>(d.location != nullptr));
  if (const auto* l = d.location.get()) {
    for (double v : {l->min_lat, l->min_lon, l->min_alt, l->max_lat, l->max_lon, l->max_alt, l->sum_lat, l->sum_lon,
                     l->sum_alt, l->last_lat, l->last_lon, l->last_alt})
      w.num(v);
    w.num(l->count), w.num(l->alt_count), w.num(l->last_ns);
  }
  w.num(static_cast<std::uint8_t>(d.wifi != nullptr));
  if (const auto* x = d.wifi.get()) {
    for (const auto* list : {&x->advertised, &x->responded}) {
      w.num(static_cast<std::uint32_t>(list->size()));
      for (const auto& r : *list) put_ssid(w, r);
    }
    w.num(static_cast<std::uint32_t>(x->probed.size()));
    for (const auto& p : x->probed) w.str(p.ssid), w.num(p.first_ns), w.num(p.last_ns), w.num(p.count);
    for (const auto* list : {&x->clients, &x->aps}) {
      w.num(static_cast<std::uint32_t>(list->size()));
      for (const auto& l : *list) put_peer(w, l);
    }
    w.num(static_cast<std::uint32_t>(x->assoc.size()));
    for (const auto& a : x->assoc) {
      w.num(a.bssid.v), w.str(a.ssid), w.num(a.akms), w.num(a.pairwise), w.num(a.group), w.num(a.wpa_akms);
      w.num(a.security), w.num(a.phy), w.num(static_cast<std::uint8_t>(a.reassoc)), w.num(a.last_ns);
    }
    w.num(x->wildcard_probes), w.num(x->deauths), w.num(x->disassocs), w.num(x->auth_algorithms), w.num(x->probe_phy);
    w.num(x->last_bssid.v), w.num(static_cast<std::uint8_t>(x->has_last_bssid));
  }
}

bool decode_device(std::string_view record, device& d, const source_index_of& index_of) {
  reader r(record);
  std::uint8_t version = 0;
  if (!r.num(version) || version != kDeviceRecordVersion) return false;
  r.num(d.mac.v), r.num(d.types), r.num(d.first_ns), r.num(d.last_ns), r.num(d.mod_ns);
  r.num(d.packets), r.num(d.packets_data), r.num(d.packets_mgmt), r.num(d.packets_error), r.num(d.packets_crypt);
  r.num(d.packets_tx), r.num(d.packets_rx), r.num(d.bytes), r.num(d.data_bytes), r.num(d.retries);
  r.signal(d.signal);
  r.num(d.freq_mhz), r.num(d.channel);
  std::uint32_t n = 0;
  if (!r.count(n, 4 + 4 + 8 * 3 + 7)) return false;
  d.seenby.resize(n);
  for (auto& s : d.seenby) {
    std::string uuid;
    r.str(uuid);
    r.num(s.freq_mhz), r.num(s.packets), r.num(s.first_ns), r.num(s.last_ns);
    r.signal(s.signal);
    if (!r.ok()) return false;
    s.source = index_of(uuid);
  }
  std::uint8_t has = 0;
  if (!r.num(has)) return false;
  if (has) {
    auto l = std::make_unique<location_stats>();
    for (double* v : {&l->min_lat, &l->min_lon, &l->min_alt, &l->max_lat, &l->max_lon, &l->max_alt, &l->sum_lat,
                      &l->sum_lon, &l->sum_alt, &l->last_lat, &l->last_lon, &l->last_alt})
      r.num(*v);
    r.num(l->count), r.num(l->alt_count), r.num(l->last_ns);
    d.location = std::move(l);
  }
  if (!r.num(has)) return false;
  if (has) {
    auto x = std::make_unique<wifi_detail>();
    if (!get_list(r, x->advertised, 40, get_ssid) || !get_list(r, x->responded, 40, get_ssid)) return false;
    if (!get_list(r, x->probed, 24, [](reader& rr, probed_record& p) {
          rr.str(p.ssid), rr.num(p.first_ns), rr.num(p.last_ns), rr.num(p.count);
          return rr.ok();
        }))
      return false;
    if (!get_list(r, x->clients, 50, get_peer) || !get_list(r, x->aps, 50, get_peer)) return false;
    if (!get_list(r, x->assoc, 30, [](reader& rr, assoc_request& a) {
          std::uint8_t re = 0;
          rr.num(a.bssid.v), rr.str(a.ssid), rr.num(a.akms), rr.num(a.pairwise), rr.num(a.group), rr.num(a.wpa_akms);
          rr.num(a.security), rr.num(a.phy), rr.num(re), rr.num(a.last_ns);
          a.reassoc = re;
          return rr.ok();
        }))
      return false;
    std::uint8_t has_bssid = 0;
    r.num(x->wildcard_probes), r.num(x->deauths), r.num(x->disassocs), r.num(x->auth_algorithms), r.num(x->probe_phy);
    r.num(x->last_bssid.v), r.num(has_bssid);
    x->has_last_bssid = has_bssid;
    d.wifi = std::move(x);
  }
  return r.done();
}

}  // namespace hopwire::collector

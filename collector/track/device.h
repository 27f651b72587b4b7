#pragma once
// What the tracker knows about one device (one MAC on one phy). Plain data,
// guarded by its shard's mutex. Copying a device copies all of it; the list
// of its fields that the stored record, the tests and any other
// field-by-field code walk is device_fields.h.

#include <cstdint>
#include <memory>
#include <string>

#include "collector/track/compact_vec.h"
#include "common/mac_addr.h"

namespace hopwire::collector {

// Device type bits (Kismet's basic type set, plus our own detail).
inline constexpr std::uint32_t kTypeAp = 1, kTypeClient = 2, kTypeBridged = 4, kTypeAdhoc = 8, kTypeWds = 16,
                               kTypeDevice = 32;

// Security summary bits of an SSID record or of an association request.
inline constexpr std::uint16_t kSecPrivacy = 1, kSecRsn = 2, kSecWpa = 4, kSecMfpc = 8, kSecMfpr = 16,
                               kSecOweTransition = 32, kSecWps = 64;

struct signal_stats {
  std::int16_t last = 0, min = 0, max = 0;
  bool valid = false;
  void add(std::int16_t s) {
    if (!valid) min = max = s;
    if (s < min) min = s;
    if (s > max) max = s;
    last = s;
    valid = true;
  }
};

struct location_stats {
  double min_lat = 0, min_lon = 0, min_alt = 0, max_lat = 0, max_lon = 0, max_alt = 0;
  double sum_lat = 0, sum_lon = 0, sum_alt = 0;
  double last_lat = 0, last_lon = 0, last_alt = 0;
  std::uint64_t count = 0, alt_count = 0, last_ns = 0;
};

// One source that heard the device.
struct seenby_entry {
  std::uint32_t source = 0;  // index into the tracker's source table
  std::uint32_t freq_mhz = 0;
  std::uint64_t packets = 0;
  std::uint64_t first_ns = 0, last_ns = 0;
  signal_stats signal;
};

// An SSID an AP advertised (beacon) or answered with (probe response).
struct ssid_record {
  std::string ssid;  // raw bytes, may be empty or NUL-filled (cloaked)
  std::string mesh_id;
  std::uint64_t first_ns = 0, last_ns = 0;
  std::uint32_t beacons = 0, probe_responses = 0;
  std::uint32_t akms = 0, pairwise = 0, group = 0;              // RSN
  std::uint32_t wpa_akms = 0, wpa_unicast = 0, wpa_multicast = 0;  // WPA1 vendor element
  std::uint32_t freq_mhz = 0;
  std::uint16_t security = 0;  // kSec* bits, union over frames
  std::uint16_t beacon_interval = 0;
  std::uint8_t channel = 0;    // DS parameter set, else HT primary, else radio
  std::uint8_t phy = 0;        // kPhy* bits
  std::uint8_t ht_width = 0, vht_width = 0;
  std::uint8_t wps_state = 0;
  std::uint8_t max_rate_500k = 0;
  char country[2] = {0, 0};
  bool has_mesh_id = false;

  bool cloaked() const {
    for (char c : ssid)
      if (c != 0) return false;
    return true;
  }
};

struct probed_record {
  std::string ssid;
  std::uint64_t first_ns = 0, last_ns = 0;
  std::uint32_t count = 0;
};

// A MAC in its six bytes (mac_addr holds it in eight), where two spare
// bytes beside it keep a record a word shorter. Converts both ways.
struct mac48 {
  std::uint16_t hi = 0;
  std::uint16_t mid = 0;
  std::uint16_t lo = 0;
  mac48() = default;
  mac48(mac_addr m)  // NOLINT: implicit, it is the same value
      : hi(static_cast<std::uint16_t>(m.v >> 32)), mid(static_cast<std::uint16_t>(m.v >> 16)),
        lo(static_cast<std::uint16_t>(m.v)) {}
  operator mac_addr() const { return get(); }  // NOLINT
  mac_addr get() const {
    return {(std::uint64_t{hi} << 32) | (std::uint64_t{mid} << 16) | std::uint64_t{lo}};
  }
};

// A link between an AP and a station, seen from one side. Every client
// has one at each end, so its size counts twice per client.
struct peer_link {
  mac48 peer;
  std::uint8_t eapol_seen = 0;   // bit n-1: 4-way handshake message n seen
  std::uint8_t eapol_last = 0;   // last message number
  std::uint64_t first_ns = 0, last_ns = 0;
  std::uint64_t packets = 0, bytes = 0;
  std::uint64_t eapol_last_ns = 0;
};
static_assert(sizeof(peer_link) == 48, "a peer link has grown or has a hole");

// Association request details: the security the station asked for.
struct assoc_request {
  mac_addr bssid;
  std::string ssid;
  std::uint32_t akms = 0, pairwise = 0, group = 0, wpa_akms = 0;
  std::uint16_t security = 0;
  std::uint8_t phy = 0;
  bool reassoc = false;
  std::uint64_t last_ns = 0;
};

// An owned, optional part of a device that copies with it (a unique_ptr
// that clones): a copy of a device is a deep copy, with nothing to forget.
template <typename T>
class detail_ptr {
 public:
  detail_ptr() = default;
  detail_ptr(const detail_ptr& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  detail_ptr(detail_ptr&&) noexcept = default;
  detail_ptr& operator=(const detail_ptr& o) {
    if (this == &o) return *this;
    if (!o.p_) p_.reset();
    else if (p_) *p_ = *o.p_;
    else p_ = std::make_unique<T>(*o.p_);
    return *this;
  }
  detail_ptr& operator=(detail_ptr&&) noexcept = default;

  T& emplace() {
    if (!p_) p_ = std::make_unique<T>();
    return *p_;
  }
  void reset() { p_.reset(); }
  T* get() const { return p_.get(); }
  T* operator->() const { return p_.get(); }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  std::unique_ptr<T> p_;
};

// What only an access point has: kept apart so that a client, most
// devices, does not carry three empty lists.
struct ap_lists {
  compact_vec<ssid_record> advertised;  // from beacons
  compact_vec<ssid_record> responded;   // from probe responses
  compact_vec<peer_link> clients;       // stations that exchanged data with it
  bool empty() const { return advertised.empty() && responded.empty() && clients.empty(); }
};

struct wifi_detail {
  detail_ptr<ap_lists> ap;  // made by the first beacon, probe response or client
  compact_vec<probed_record> probed;
  // For a station: the BSSIDs it exchanged data with, the first inside
  // (most stations talk to one AP: no heap block for it).
  compact_vec<peer_link, 1> aps;
  compact_vec<assoc_request> assoc;
  std::uint64_t wildcard_probes = 0;
  std::uint64_t deauths = 0, disassocs = 0;
  mac_addr last_bssid;
  std::uint16_t auth_algorithms = 0;  // bit n: algorithm n seen (0 open, 1 shared key, 3 SAE ...)
  std::uint8_t probe_phy = 0;
  bool has_last_bssid = false;

  // The AP part, or an empty one when there is none.
  const ap_lists& ap_or_empty() const { return ap ? *ap : no_ap(); }
  const compact_vec<ssid_record>& advertised() const { return ap_or_empty().advertised; }
  const compact_vec<ssid_record>& responded() const { return ap_or_empty().responded; }
  const compact_vec<peer_link>& clients() const { return ap_or_empty().clients; }
  ap_lists& ap_part() { return ap.emplace(); }

 private:
  static const ap_lists& no_ap() {
    static const ap_lists none;
    return none;
  }
};
// 136 bytes is a 144-byte heap block; one byte more would make it 160.
static_assert(sizeof(void*) != 8 || sizeof(wifi_detail) == 136, "the Wi-Fi detail has grown or has a hole");

struct device {
  mac_addr mac;
  // Together at the front: the once-a-second walk of the recency list
  // (devices active per channel) reads these of every active device.
  std::uint64_t mod_ns = 0;  // collector time of the last change
  // Shard bookkeeping: the most-recently-modified list.
  device* newer = nullptr;
  device* older = nullptr;
  std::uint32_t freq_mhz = 0;
  std::uint32_t types = 0;  // kType* bits
  std::uint64_t first_ns = 0, last_ns = 0;  // packet time
  std::uint64_t packets = 0, packets_data = 0, packets_mgmt = 0, packets_error = 0, packets_crypt = 0;
  std::uint64_t packets_tx = 0, packets_rx = 0;
  std::uint64_t bytes = 0;
  std::uint64_t data_bytes = 0;  // payload of data frames sent
  std::uint64_t retries = 0;
  compact_vec<seenby_entry, 1> seenby;  // the first entry inline: most devices have one
  detail_ptr<location_stats> location;
  detail_ptr<wifi_detail> wifi;
  signal_stats signal;
  std::uint32_t index = 0;  // shard bookkeeping: position in the shard's device vector
  std::uint16_t channel = 0;
  bool dirty = false;  // changed since it was last written to the database

  wifi_detail& w() { return wifi.emplace(); }
};
static_assert(sizeof(void*) != 8 || sizeof(device) == 216, "a device has grown or has a hole; see the order above");

// "Wi-Fi AP", "Wi-Fi Client", ... from the type bits, most specific first.
const char* device_type_name(std::uint32_t types);

}  // namespace hopwire::collector

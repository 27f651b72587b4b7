#pragma once
// What alert_engine.cc (definitions, history, raising, storage) and
// detectors.cc (the 802.11 detectors) share: the engine's state, the
// compiled configuration, the detector tables and a detection. Private to
// alerts/.

#include <array>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "collector/alerts/alert_engine.h"
#include "collector/alerts/alert_limits.h"
#include "collector/alerts/lru_table.h"

namespace hopwire::collector {

// A callable that makes an alert's text, only when an alert is raised (a
// merge needs none): a reference to the caller's lambda, no allocation.
class text_fn {
 public:
  template <typename F>
  explicit text_fn(F& f) : obj_(&f), call_([](void* o) -> std::string { return (*static_cast<F*>(o))(); }) {}
  std::string operator()() const { return call_(obj_); }

 private:
  void* obj_;
  std::string (*call_)(void*);
};

// What a detector found.
struct detection {
  builtin_alert def = builtin_alert::count;
  std::uint64_t subject = 0;  // what the alert is about: alerts about the same subject merge
  bool merge = true;
  mac_addr transmitter, source, dest, other;
  mac_addr device;
  bool has_device = false;
  std::uint16_t channel = 0;         // announced channel; 0: from the packet's frequency
  std::string_view channel_text;     // given as text (REST raise)
  std::uint32_t freq_khz = 0;        // 0: from the packet
  std::uint32_t sensor = 0xffffffffu;  // source index to name in seenby
  const ingest_source* src = nullptr;  // its uuid and name, when from a packet
  const decoded_packet* pkt = nullptr;  // signal, location, times
  std::uint64_t packets = 1;           // offending frames this detection stands for
  int def_index = -1;                  // a custom definition (raise by name); -1: `def`
};

// A hash of a few dozen bytes (SSIDs, nonces), a word at a time. Fixed-size
// loads only (the tail overlaps the last word), so no store-forwarding stall.
inline std::uint64_t hash_bytes(std::span<const std::uint8_t> b) {
  auto load8 = [](const std::uint8_t* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto load4 = [](const std::uint8_t* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return std::uint64_t{w};
  };
  const std::size_t n = b.size();
  const std::uint8_t* p = b.data();
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xbf58476d1ce4e5b9ull);
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      h = (h ^ load8(p + i)) * 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
    if (i < n) h = (h ^ load8(p + n - 8)) * 0xc4ceb9fe1a85ec53ull;
  } else if (n >= 4) {
    h = (h ^ (load4(p) | load4(p + n - 4) << 32)) * 0xc4ceb9fe1a85ec53ull;
  } else if (n > 0) {
    h = (h ^ (std::uint64_t{p[0]} | std::uint64_t{p[n / 2]} << 8 | std::uint64_t{p[n - 1]} << 16)) *
        0xc4ceb9fe1a85ec53ull;
  }
  h ^= h >> 29;
  return h;
}
inline std::uint64_t mix64(std::uint64_t a, std::uint64_t b) {
  std::uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull + (a << 6) + (a >> 2));
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  return h;
}

// Glob over SSID bytes: '*' any run, '?' one byte. Iterative, O(n*m) at
// worst for n, m <= a few dozen.
bool glob_match(std::string_view pattern, std::string_view text);

// The known networks and canaries, compiled for lookups by SSID.
struct engine_config {
  std::uint32_t gen = 0;
  alerts_config raw;
  std::unordered_multimap<std::uint64_t, std::uint16_t> networks_exact;  // hash_bytes(ssid) -> index
  std::vector<std::uint16_t> networks_glob;
  std::unordered_multimap<std::uint64_t, std::uint16_t> canaries_exact;
  std::vector<std::uint16_t> canaries_glob;

  static constexpr std::uint16_t kNone = 0xffff;
  std::uint16_t find_network(std::string_view ssid, std::uint64_t hash) const;
  std::uint16_t find_canary(std::string_view ssid, std::uint64_t hash) const;
  bool any_canary() const { return !raw.canaries.empty(); }
};

// Advertised encryption as a set of bits (Kismet's "cryptset"), for
// CRYPTODROP / ADVCRYPTCHANGE; 0 is open.
inline constexpr std::uint32_t kCrWep = 1, kCrWpa = 2, kCrRsn = 4, kCrPsk = 8, kCrEap = 16, kCrSae = 32,
                               kCrOwe = 64, kCrFt = 128, kCrSuiteB = 256, kCrTkip = 512, kCrCcmp = 1024,
                               kCrGcmp = 2048, kCrOweTransition = 4096;
std::uint32_t crypt_bits(const dot11_frame& f);
// "Open", "WEP", "WPA2 (PSK, CCMP)", "WPA2/WPA3 (PSK, SAE, CCMP)" ...
std::string crypt_text(std::uint32_t bits);
// The kNet* protocols of config/alerts_config.h the bits amount to.
std::uint8_t crypt_protocols(std::uint32_t bits);
std::string protocols_text(std::uint8_t kNet);

// Per-BSSID detector state (beacons, probe responses, disconnects, WPS),
// kept small: one lookup per beacon reads a few cache lines of it.
// What one kind of frame (beacon / probe response) last said.
struct ssid_view {
  std::uint32_t ssid_hash = 0;    // low bits of hash_bytes(ssid)
  std::uint32_t gen = 0;          // config generation the verdicts below are for
  std::uint16_t network = engine_config::kNone;
  std::uint16_t canary = engine_config::kNone;
  std::uint16_t crypt = 0;        // kCr* bits
  std::uint8_t channel = 0;
  bool valid = false, has_crypt = false;
  // Alerts raised for this SSID record (raised once, then only merged).
  bool spoof_raised = false, canary_raised = false, known_crypt_raised = false, known_chan_raised = false;
};
// What one sensor heard of one BSSID, keyed by both (bss_key). Per sensor,
// because two sensors hear the same frames (a shared counter would count
// them twice) at slightly different times, or minutes apart when one sends
// what it stored while its link was down (a shared "last channel" or TSF
// sequence would see changes that are only the two sensors' interleaving).
// Each sensor's detection of the same thing folds into one alert. About
// 100 bytes: a lookup per beacon reads two cache lines.
struct bss_state {
  ssid_view beacon, response;
  std::uint64_t tsf = 0, tsf_ts_ns = 0;
  std::uint32_t tsf_bad_first_s = 0, disc_last_s = 0, wps_last_s = 0;
  std::uint16_t tsf_bad = 0, disc_count = 0, wps_count = 0;
  std::uint16_t interval = 0;
  bool karma_raised = false, nullresp_raised = false;
};
// The MAC in the low 48 bits, the sensor's index above it.
inline std::uint64_t bss_key(mac_addr mac, std::uint32_t source) {
  return mac.v | (std::uint64_t{source & 0xffffu} << 48);
}

// Per (AP, station, sensor): the last nonces of handshake messages 1 and 3.
struct nonce_record {
  std::uint64_t hash = 0, counter = 0, ts_ns = 0;
  bool used = false;
};
inline constexpr std::size_t kNonceHistory = 4;
struct nonce_state {
  std::array<nonce_record, kNonceHistory> m1, m3;
  std::uint8_t next1 = 0, next3 = 0;
};

// A watched device as last seen.
struct watch_device {
  std::uint64_t last_pkt_ns = 0, last_wall_ns = 0;
  bool lost_armed = false;
  std::uint32_t source = 0xffffffffu;
  mac_addr bssid;
  std::uint16_t channel = 0;
};

struct source_info {
  bool up = false;
  bool silent_alerted = false;
  std::uint64_t last_packet_ns = 0;  // collector clock
  std::uint64_t up_ns = 0;
};

struct def_state {
  std::string header, alert_class, description;
  std::uint8_t severity = kSevMedium, default_severity = kSevMedium;
  std::int64_t phy = -1;
  alert_limits limits;
  bool enabled = true;
  bool builtin = true;
  rate_limiter limiter;
  std::atomic<bool> active{true};
  std::atomic<std::uint64_t> raised{0}, merged{0}, throttled{0};

  void apply(const alert_definition_config* c, const alert_limits& defaults, std::uint8_t default_sev) {
    limits = defaults;
    severity = default_sev;
    enabled = true;
    if (c) {
      if (c->rate) limits.rate = *c->rate;
      if (c->burst) limits.burst = *c->burst;
      if (c->severity) severity = *c->severity;
      if (c->enabled) enabled = *c->enabled;
    }
    limiter.set_limits(limits);
    active.store(enabled && limits.rate.count > 0, std::memory_order_relaxed);
  }
};

// The detector shards' lock: held for a table lookup and a few compares,
// almost never contended (16 shards, a few link threads), so an atomic
// exchange instead of a futex-backed mutex; it yields if it must wait.
class spin_lock {
 public:
  void lock() {
    for (int spins = 0; flag_.exchange(true, std::memory_order_acquire); ++spins) {
      while (flag_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

struct open_alert {
  std::uint64_t id = 0;
  std::uint64_t raised_ns = 0;
};

struct engine_state {
  explicit engine_state(std::size_t shard_count, std::size_t bss_capacity);

  std::array<def_state, kBuiltinAlerts> builtins;

  // Compiled configuration, swapped whole on reload.
  std::shared_ptr<const engine_config> cfg;
  std::shared_ptr<const engine_config> config() const { return std::atomic_load(&cfg); }

  // The alert mutex: history, open alerts, ids, dirty set, custom definitions.
  mutable std::mutex mu;
  std::deque<alert> history;  // by id, ascending
  lru_table<open_alert, 4> open{4096};
  std::uint64_t next_id = 1;
  std::unordered_set<std::uint64_t> dirty;
  std::uint64_t erase_pending = 0;  // highest id dropped from memory by retention
  std::deque<def_state> custom;
  std::map<std::string, int> by_name;  // header -> builtin index, or kBuiltinAlerts + custom index

  // Storage (flush only).
  std::mutex flush_mu;
  alert_backend* backend = nullptr;
  std::uint64_t erased_through = 0;

  std::mutex sub_mu;
  std::vector<std::pair<std::size_t, alert_engine::subscriber>> subs;
  std::size_t next_token = 1;

  std::mutex src_mu;
  std::unordered_map<std::uint32_t, source_info> sources;

  std::mutex watch_mu;
  lru_table<watch_device> watched{4096};

  // Detector shards.
  struct alignas(64) bss_shard {
    explicit bss_shard(std::size_t cap) : table(cap) {}
    spin_lock mu;
    lru_table<bss_state> table;
  };
  struct alignas(64) nonce_shard {
    explicit nonce_shard(std::size_t cap) : table(cap) {}
    spin_lock mu;
    lru_table<nonce_state, 4> table;
  };
  std::vector<std::unique_ptr<bss_shard>> bss;
  std::vector<std::unique_ptr<nonce_shard>> nonces;
  // Shard counts are powers of two: a mask, not a division, per packet.
  std::size_t shard_mask = 0;
  bss_shard& bss_of(std::uint64_t key) { return *bss[(key * 0xc2b2ae3d27d4eb4full >> 40) & shard_mask]; }
  nonce_shard& nonces_of(std::uint64_t key) { return *nonces[(key >> 7) & shard_mask]; }

  std::atomic<std::uint64_t> raised{0}, merged{0}, throttled{0}, disabled{0};
  std::atomic<std::uint64_t> store_writes{0}, store_failures{0};
};

// What on_packets reads once per chunk.
struct alert_engine::chunk {
  const ingest_source& src;
  std::shared_ptr<const engine_config> cfg;
  std::shared_ptr<const watch_index> watch;
  std::uint64_t now = 0;
  bool bss = false;          // some per-BSSID detector is on
  bool disconnects = false;  // some deauth/disassoc detector is on
  bool eapol = false;        // NONCE* or WPSBRUTE on
  bool overpowered = false;
  bool malformed = false;
  bool long_ssid = false;
  bool canary = false;
  std::uint32_t on = 0;      // bit n: built-in alert n is enabled (read once per chunk)
  bool is_on(builtin_alert a) const { return on & (1u << static_cast<unsigned>(a)); }
};

// Subjects of alerts that are about a source, not a frame.
inline std::uint64_t source_subject(std::uint32_t source) { return 0xf000000000000000ull | source; }

}  // namespace hopwire::collector

#pragma once
// The alert engine's part of the collector's YAML file, as plain data: per
// alert definition its enable flag, Kismet-syntax rate and burst limits and
// a severity override; the known networks (SSID -> allowed BSSIDs or OUIs,
// required encryption, expected channels) that APSPOOF, CRYPTODROP,
// ADVCRYPTCHANGE and CHANCHANGE check against; SSID canaries; the watch
// list of MACs (with masks) for DEVICEFOUND / DEVICELOST and its timeouts;
// retention of the alert history; outputs (syslog, webhooks).
//
// Also the two small parsers every part that reads these values shares
// (config/, alerts/, api/): Kismet's rate syntax ("10/min", "1/sec") and
// MAC masks ("AA:BB:CC:00:00:00/FF:FF:FF:00:00:00"). They return a result
// with a reason and never throw: the REST define and watch-list calls use
// them on the running path.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mac_addr.h"

namespace hopwire::collector {

// Kismet's time units for alert limits; the numbers are what Kismet's JSON
// shows in kismet.alert.definition.limit_unit / burst_unit.
enum class alert_time_unit : std::uint8_t { second = 0, minute = 1, hour = 2, day = 3 };

std::uint64_t unit_seconds(alert_time_unit u);
const char* unit_name(alert_time_unit u);  // "sec", "min", "hr", "day"

// "N" or "N/unit": at most N alerts per unit (Kismet's alert= syntax).
struct alert_rate {
  std::uint32_t count = 0;
  alert_time_unit unit = alert_time_unit::minute;
  bool operator==(const alert_rate&) const = default;
};

// Kismet's syntax: a count, then optionally '/' and a unit (sec, second,
// min, minute, hr, hour, day; any case); no unit means per minute. "0/min"
// is a rate that squelches the alert. Empty with a sentence in `why`
// otherwise (Kismet's %d reads "10abc" as 10; we refuse it).
std::optional<alert_rate> try_parse_alert_rate(std::string_view text, std::string& why);
std::string format_alert_rate(const alert_rate& r);  // "10/min"

// A definition's limits: `rate` is the most alerts before silence, `burst`
// the most within the (shorter) burst unit.
struct alert_limits {
  alert_rate rate{10, alert_time_unit::minute};
  alert_rate burst{1, alert_time_unit::second};
  bool operator==(const alert_limits&) const = default;
};

// Both at once, with Kismet's rule that the burst's unit may not be longer
// than the rate's.
std::optional<alert_limits> try_parse_alert_limits(std::string_view rate, std::string_view burst, std::string& why);

// A MAC with a mask of leading one bits: AA:BB:CC:DD:EE:FF (all 48),
// AA:BB:CC:00:00:00/FF:FF:FF:00:00:00 (Kismet's form), AA:BB:CC:00:00:00/24,
// or an OUI alone, AA:BB:CC (= /24).
struct mac_mask {
  mac_addr mac;        // already masked
  std::uint8_t bits = 48;

  std::uint64_t mask() const { return bits == 0 ? 0 : (0xffffffffffffull << (48 - bits)) & 0xffffffffffffull; }
  bool matches(mac_addr m) const { return (m.v & mask()) == mac.v; }
  // Kismet's spelling: the MAC, and "/FF:FF:FF:00:00:00" unless all 48 bits.
  std::string str() const;
  bool operator==(const mac_mask&) const = default;
  friend bool operator<(const mac_mask& a, const mac_mask& b) {
    return a.bits != b.bits ? a.bits > b.bits : a.mac.v < b.mac.v;
  }
};
std::optional<mac_mask> try_parse_mac_mask(std::string_view text, std::string& why);

// The names of the built-in alerts (alerts/alert.cc holds what they are;
// tests/unit/alerts_test.cc keeps the two lists equal), for checking the
// YAML file without the engine.
inline constexpr const char* kBuiltinAlertNames[] = {
    "DEAUTHFLOOD", "BCASTDISCON",  "DISCONCODEINVALID", "DEAUTHCODEINVALID", "APSPOOF",    "SSIDCANARY",
    "CHANCHANGE",  "PROBECHAN",    "CRYPTODROP",        "ADVCRYPTCHANGE",    "BSSTIMESTAMP", "BEACONRATE",
    "KARMAOUI",    "NULLPROBERESP", "LONGSSID",         "MALFORMMGMT",       "NOCLIENTMFP", "NONCEDEGRADE",
    "NONCEREUSE",  "WPSBRUTE",     "OVERPOWERED",       "DEVICEFOUND",       "DEVICELOST",  "SOURCEERROR",
    "SENSORLOST",  "STORAGEERROR"};

// What an alert definition's line in the YAML file changes. Unset fields
// keep the built-in default (Kismet's).
struct alert_definition_config {
  std::optional<bool> enabled;
  std::optional<alert_rate> rate, burst;
  std::optional<std::uint8_t> severity;  // 0, 5, 10, 15, 20
};

// Encryption a known network may advertise (bits of known_network::encryption).
inline constexpr std::uint8_t kNetOpen = 1, kNetWep = 2, kNetWpa = 4, kNetWpa2 = 8, kNetWpa3 = 16, kNetOwe = 32;
// "open", "wep", "wpa", "wpa2", "wpa3", "owe" -> bit; 0 when unknown.
std::uint8_t known_encryption_bit(std::string_view name);

struct known_network {
  std::string name;            // for texts; the SSID when not given
  std::string ssid;            // exact SSID bytes ...
  bool glob = false;           // ... or a glob (* and ?) over them
  std::vector<mac_mask> bssids;  // allowed transmitters (BSSIDs, OUIs as /24); empty: any
  std::uint8_t encryption = 0;   // kNet* bits the AP may advertise; 0: not checked
  std::vector<std::uint16_t> channels;  // announced channel numbers; empty: any
};

struct ssid_canary {
  std::string name;
  std::string ssid;
  bool glob = false;
};

// Watch list bits, as Kismet's /devices/alerts/mac/{found,lost,both}.
inline constexpr std::uint8_t kWatchFound = 1, kWatchLost = 2, kWatchBoth = 3;
struct watch_entry {
  mac_mask mac;
  std::uint8_t types = kWatchBoth;
  bool operator==(const watch_entry&) const = default;
};

struct syslog_output_config {
  // "local" (the /dev/log datagram socket) or "udp" to host:port.
  bool udp = false;
  std::string host;
  std::uint16_t port = 514;
  std::string socket_path = "/dev/log";
  std::uint8_t facility = 16;  // local0
  std::uint8_t min_severity = 0;
  std::string app_name = "hopwire";
};

struct webhook_output_config {
  std::string url;             // http://host[:port]/path or https://...
  std::string secret;          // HMAC-SHA256 key; empty: no signature header
  std::uint32_t timeout_ms = 5000;
  std::uint32_t attempts = 5;  // per alert, the first included
  std::uint32_t backoff_ms = 1000;      // doubles after each failure ...
  std::uint32_t backoff_max_ms = 60000;  // ... up to this
  std::size_t queue = 1000;    // alerts waiting; beyond, the oldest go (counted)
  std::uint32_t delay_ms = 0;  // send this long after the raise, with what every sensor added by then
  std::uint8_t min_severity = 0;
  bool tls_verify = true;
  std::string ca_file;         // PEM; empty: the system's store
};

struct alerts_config {
  // `alerts: off`: no alert engine at all (no per-packet cost; the alert
  // routes answer 503). Otherwise the engine runs with what follows.
  bool engine = true;
  std::map<std::string, alert_definition_config> definitions;  // by upper-case name
  std::vector<known_network> known_networks;
  std::vector<ssid_canary> canaries;
  std::vector<watch_entry> watch;
  std::uint64_t found_timeout_ns = 60'000'000'000ull;  // Kismet's devicefound_timeout
  std::uint64_t lost_timeout_ns = 60'000'000'000ull;   // devicelost_timeout
  // SENSORLOST also when a connected source has delivered no packet for
  // this long; 0: only when its link drops.
  std::uint64_t sensor_silence_ns = 0;
  // Detections of an alert already raised (same name and subject) within
  // this long after its raise are added to it — its seenby, its count —
  // instead of raising another. 0: every detection is its own alert.
  std::uint64_t merge_window_ns = 10'000'000'000ull;
  std::int16_t overpowered_dbm = -10;  // Kismet's dot11_max_signal
  std::size_t retention_count = 10000;
  std::uint64_t retention_age_ns = 30ull * 86400 * 1'000'000'000ull;  // 0: no age limit
  // Detector state per (BSSID, sensor) pair, about 110 bytes each; the
  // least recently used goes when full.
  std::size_t max_tracked_bssids = 32768;
  std::vector<syslog_output_config> syslog;
  std::vector<webhook_output_config> webhooks;
};

}  // namespace hopwire::collector

#pragma once
// An alert as the collector keeps it, stores it and shows it: Kismet's
// fields (header, class, severity, time, the four MACs, channel, text,
// location, device key, hash — kismet.alert.*) and ours: an id that only
// grows, every sensor that heard the offending frames with its own packet
// count and signal, how many detections were folded into it, and who
// acknowledged it when. Plus an alert definition: Kismet's fields, our
// enable flag and severity override, and its rate and burst limits.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/config/alerts_config.h"
#include "common/mac_addr.h"

namespace hopwire::collector {

// Kismet's severities (kis_alert_severity).
inline constexpr std::uint8_t kSevInfo = 0, kSevLow = 5, kSevMedium = 10, kSevHigh = 15, kSevCritical = 20;
bool valid_severity(unsigned s);
const char* severity_name(std::uint8_t s);  // "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"

// Kismet's phy ids as alerts carry them: the 802.11 phy registers first
// (0); alerts about no phy in particular carry KIS_PHY_ANY (-1), which
// Kismet's JSON shows as 4294967295.
inline constexpr std::uint32_t kPhyDot11 = 0;
inline constexpr std::uint32_t kPhyAny = 0xffffffffu;

// The built-in alerts: Kismet's names, and two of ours (SENSORLOST,
// STORAGEERROR). The order is the index into the definition table.
enum class builtin_alert : std::uint16_t {
  deauthflood,
  bcastdiscon,
  disconcodeinvalid,
  deauthcodeinvalid,
  apspoof,
  ssidcanary,
  chanchange,
  probechan,
  cryptodrop,
  advcryptchange,
  bsstimestamp,
  beaconrate,
  karmaoui,
  nullproberesp,
  longssid,
  malformmgmt,
  noclientmfp,
  noncedegrade,
  noncereuse,
  wpsbrute,
  overpowered,
  devicefound,
  devicelost,
  sourceerror,
  sensorlost,
  storageerror,
  count
};
inline constexpr std::size_t kBuiltinAlerts = static_cast<std::size_t>(builtin_alert::count);

// What a built-in alert is: Kismet's class, severity, description and
// default limits (kismet_alerts.conf, or 10/min,1/sec when it has no line).
struct builtin_info {
  const char* header;
  const char* alert_class;
  std::uint8_t severity;
  std::uint32_t phy;
  alert_limits limits;
  const char* description;
};
const builtin_info& builtin(builtin_alert a);

// A definition as /alerts/definitions.json shows it.
struct alert_definition {
  std::string header;       // upper case
  std::string alert_class;  // upper case: DENIAL, SPOOF, EXPLOIT, PROBE, SYSTEM, OTHER (or a script's own)
  std::uint8_t severity = kSevMedium;          // in force (the override, if any)
  std::uint8_t default_severity = kSevMedium;  // before any override
  std::string description;
  std::int64_t phy = -1;    // Kismet: -1 any
  alert_limits limits;      // as configured (also when disabled)
  bool enabled = true;      // false: squelched, as a rate of 0
  bool builtin = true;      // false: defined over REST (define_alert.cmd)
  // Limiter state (Kismet's burst_sent, total_sent, time_last).
  std::uint64_t burst_sent = 0, total_sent = 0;
  std::uint64_t time_last_ns = 0;
  // Ours: raised, detections folded into an open alert, refused by the limits.
  std::uint64_t raised = 0, merged = 0, throttled = 0;
};

// One sensor that heard the offending frames.
struct alert_seenby {
  std::uint32_t source = 0xffffffffu;  // index in this run's source table; unknown after a restart
  std::string uuid, name;
  std::uint64_t packets = 0;           // offending frames it heard
  std::int16_t signal_last = 0, signal_min = 0, signal_max = 0;
  bool has_signal = false;
  std::uint64_t first_ns = 0, last_ns = 0;  // packet times

  void add_signal(std::int16_t s) {
    if (!has_signal) signal_min = signal_max = s;
    if (s < signal_min) signal_min = s;
    if (s > signal_max) signal_max = s;
    signal_last = s;
    has_signal = true;
  }
};

struct alert_location {
  bool valid = false;
  double lat = 0, lon = 0, alt = 0;
  bool has_alt = false;
  std::uint64_t time_ns = 0;
};

struct alert {
  // Ours.
  std::uint64_t id = 0;  // 1, 2, 3, ... never reused (survives restarts)
  // Kismet's.
  std::string header;
  std::string alert_class;
  std::uint8_t severity = 0;
  std::uint32_t phy = kPhyAny;
  std::uint64_t ts_ns = 0;  // collector clock when raised, whole microseconds (Kismet's timeval)
  mac_addr transmitter, source, dest, other;  // transmitter: Kismet's "bssid" argument
  std::string channel;      // "6", "36"; empty when unknown
  std::uint32_t freq_khz = 0;
  std::string text;
  alert_location location;
  mac_addr device;          // the device the alert is about (its device key); zero: none
  bool has_device = false;
  std::uint32_t hash = 0;   // Kismet's, see kismet_alert_hash()
  // Ours.
  std::vector<alert_seenby> seenby;
  std::uint64_t count = 1;    // detections: the raise and every one folded into it
  std::uint64_t last_ns = 0;  // collector clock of the last one
  bool acknowledged = false;
  std::string acknowledged_by;
  std::uint64_t acknowledged_ns = 0;

  // Kismet's timestamp: seconds with microseconds.
  double timestamp() const { return static_cast<double>(ts_ns / 1000000000ull) + static_cast<double>(ts_ns / 1000 % 1000000) / 1e6; }
};

// Kismet's own "adler32" (util.cc): not zlib's. a = b = 0; per byte
// a += byte, b += a, in 32 bits with no modulus; the result is
// (a & 0xffff) + (b << 16); 0 for fewer than 4 bytes.
std::uint32_t kismet_adler32(std::string_view bytes);

// The hash Kismet gives an alert: its adler32 of
// "HEADER SEVERITY PHY TIMESTAMP TRANSMITTER SOURCE DEST OTHER CHANNEL",
// the timestamp as fmt's shortest form of the double, MACs in upper case.
std::uint32_t kismet_alert_hash(const alert& a);

// "AA:BB:CC:DD:EE:FF".
inline std::string mac_text(mac_addr m) { return m.str(true); }

// Upper-cases an alert name or class and checks it: 1-64 of A-Z, 0-9, _ and -.
bool normalise_alert_name(std::string_view in, std::string& out, std::string& why);

}  // namespace hopwire::collector

#include "collector/alerts/alert.h"

#include <charconv>
#include <cstring>

namespace hopwire::collector {

namespace {

constexpr alert_limits lim(std::uint32_t rate, alert_time_unit ru, std::uint32_t burst, alert_time_unit bu) {
  return alert_limits{{rate, ru}, {burst, bu}};
}
constexpr auto kSec = alert_time_unit::second;
constexpr auto kMin = alert_time_unit::minute;

// Kismet's classes, severities and default limits (kismet_alerts.conf, or
// 10/min,1/sec where it has no line); descriptions in our words.
constexpr builtin_info kBuiltins[kBuiltinAlerts] = {
    {"DEAUTHFLOOD", "DENIAL", kSevMedium, kPhyDot11, lim(5, kMin, 2, kSec),
     "Many deauthentication or disassociation frames to one network in a short time: a denial of service, or an "
     "attacker forcing clients to reconnect so their handshakes can be captured. Networks without management frame "
     "protection are open to it."},
    {"BCASTDISCON", "DENIAL", kSevMedium, kPhyDot11, lim(5, kMin, 2, kSec),
     "A broadcast deauthentication or disassociation disconnects every client of a network at once: an access point "
     "shutting down, or a denial-of-service or handshake-capture attack."},
    {"DISCONCODEINVALID", "EXPLOIT", kSevHigh, kPhyDot11, lim(5, kMin, 1, kSec),
     "A disassociation with a reason code the standard does not define; invalid codes have crashed drivers."},
    {"DEAUTHCODEINVALID", "EXPLOIT", kSevHigh, kPhyDot11, lim(0, kMin, 0, kSec),
     "A deauthentication with a reason code the standard does not define; invalid codes have crashed drivers. "
     "Off by default, as in Kismet."},
    {"APSPOOF", "SPOOF", kSevHigh, kPhyDot11, lim(10, kMin, 1, kSec),
     "The SSID of a known network advertised or answered for by a transmitter that network does not list: "
     "possible impersonation (an evil twin)."},
    {"SSIDCANARY", "SPOOF", kSevHigh, kPhyDot11, lim(5, kMin, 1, kSec),
     "A canary SSID was advertised, answered for or probed for."},
    {"CHANCHANGE", "SPOOF", kSevLow, kPhyDot11, lim(5, kMin, 1, kSec),
     "An access point announces another channel than before, or one its known network does not use: automatic "
     "channel selection, or an impersonator on another channel."},
    {"PROBECHAN", "SPOOF", kSevMedium, kPhyDot11, lim(5, kMin, 1, kSec),
     "A probe response announces another channel than the same access point's beacons: possible impersonation."},
    {"CRYPTODROP", "SPOOF", kSevHigh, kPhyDot11, lim(5, kMin, 1, kSec),
     "A network that advertised encryption now advertises none, or a known network that requires encryption is "
     "advertised open: a downgrade or an impersonator."},
    {"ADVCRYPTCHANGE", "SPOOF", kSevHigh, kPhyDot11, lim(5, kMin, 1, kSec),
     "A network's advertised encryption changed, or differs from what its known network allows."},
    {"BSSTIMESTAMP", "SPOOF", kSevMedium, kPhyDot11, lim(5, kMin, 1, kSec),
     "The beacon timestamps (TSF) of one BSSID run out of sequence: two transmitters share the BSSID, as an "
     "impersonator would."},
    {"BEACONRATE", "SPOOF", kSevHigh, kPhyDot11, lim(5, kMin, 1, kSec),
     "A network's advertised beacon interval changed: a reconfigured access point, or an impersonator."},
    {"KARMAOUI", "PROBE", kSevMedium, kPhyDot11, lim(5, kMin, 1, kSec),
     "Probe responses from OUI 00:13:37 (WiFi Pineapple), which usually means a Karma impersonation attack."},
    {"NULLPROBERESP", "DENIAL", kSevMedium, kPhyDot11, lim(5, kMin, 1, kSec),
     "A probe response with an empty SSID, which crashed old Orinoco firmware."},
    {"LONGSSID", "EXPLOIT", kSevCritical, kPhyDot11, lim(5, kMin, 1, kSec),
     "An SSID longer than 32 bytes: a corrupted frame, or an attack on drivers."},
    {"MALFORMMGMT", "EXPLOIT", kSevMedium, kPhyDot11, lim(5, kMin, 1, kSec),
     "A management frame whose fixed fields or elements are malformed: a driver passing on damaged frames, or an "
     "attack on parsers."},
    {"NOCLIENTMFP", "SPOOF", kSevLow, kPhyDot11, lim(10, kMin, 1, kSec),
     "A client associates to an RSN network without supporting management frame protection, so anyone can "
     "disconnect it with forged deauthentications."},
    {"NONCEDEGRADE", "EXPLOIT", kSevMedium, kPhyDot11, lim(0, kMin, 0, kSec),
     "A handshake message with an all-zero nonce: the downgrade some supplicants fall for, or a damaged capture. "
     "Off by default, as in Kismet."},
    {"NONCEREUSE", "EXPLOIT", kSevHigh, kPhyDot11, lim(0, kMin, 0, kSec),
     "A handshake reused a nonce: a key reinstallation (KRACK), or an old message replayed. Off by default, as in "
     "Kismet."},
    {"WPSBRUTE", "EXPLOIT", kSevCritical, kPhyDot11, lim(5, kMin, 1, kSec),
     "An access point sent many WPS M3 messages in a short time: a WPS PIN brute force (Reaver, Bully)."},
    {"OVERPOWERED", "OTHER", kSevHigh, kPhyDot11, lim(0, kMin, 0, kSec),
     "A signal stronger than a legitimate transmitter should be at a sensor: an amplifier turned too high, or a "
     "transmitter right at the sensor. Off by default, as in Kismet."},
    {"DEVICEFOUND", "SYSTEM", kSevHigh, kPhyAny, lim(10, kMin, 1, kSec), "A device on the watch list has been seen."},
    {"DEVICELOST", "SYSTEM", kSevHigh, kPhyAny, lim(10, kMin, 1, kSec),
     "A device on the watch list has not been seen for the lost timeout."},
    {"SOURCEERROR", "SYSTEM", kSevCritical, kPhyAny, lim(10, kMin, 1, kSec),
     "A capture source reported an error, or its link failed."},
    {"SENSORLOST", "SYSTEM", kSevHigh, kPhyAny, lim(10, kMin, 1, kSec),
     "A sensor stopped reporting: its link dropped without being closed, or it delivered nothing for the silence "
     "timeout."},
    {"STORAGEERROR", "SYSTEM", kSevCritical, kPhyAny, lim(1, kMin, 1, kMin),
     "The collector cannot write its database: acknowledgements to sensors are held back until it can."},
};

}  // namespace

const builtin_info& builtin(builtin_alert a) { return kBuiltins[static_cast<std::size_t>(a)]; }

bool valid_severity(unsigned s) { return s == 0 || s == 5 || s == 10 || s == 15 || s == 20; }

const char* severity_name(std::uint8_t s) {
  switch (s) {
    case kSevInfo: return "INFO";
    case kSevLow: return "LOW";
    case kSevMedium: return "MEDIUM";
    case kSevHigh: return "HIGH";
    case kSevCritical: return "CRITICAL";
    default: return "UNKNOWN";
  }
}

std::uint32_t kismet_adler32(std::string_view bytes) {
  if (bytes.size() < 4) return 0;
  std::uint32_t a = 0, b = 0;
  for (unsigned char c : bytes) {
    a += c;
    b += a;
  }
  return (a & 0xffffu) + (b << 16);
}

std::uint32_t kismet_alert_hash(const alert& a) {
  // fmt's "{}" of a double near 1.7e9 is its shortest round-trip form in
  // fixed notation; to_chars(fixed) without a precision is the same.
  char ts[64];
  const auto r = std::to_chars(ts, ts + sizeof ts, a.timestamp(), std::chars_format::fixed);
  std::string s;
  s.reserve(160);
  s += a.header;
  s += ' ';
  s += std::to_string(a.severity);
  s += ' ';
  s += std::to_string(a.phy);
  s += ' ';
  s.append(ts, r.ptr);
  for (mac_addr m : {a.transmitter, a.source, a.dest, a.other}) {
    s += ' ';
    s += mac_text(m);
  }
  s += ' ';
  s += a.channel;
  return kismet_adler32(s);
}

bool normalise_alert_name(std::string_view in, std::string& out, std::string& why) {
  if (in.empty() || in.size() > 64) {
    why = "expected 1 to 64 characters";
    return false;
  }
  out.clear();
  for (char c : in) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      why = "only letters, digits, '_' and '-' may be used in a name or class; got '";
      why.append(in.data(), in.size());
      why.push_back('\'');
      return false;
    }
    out += c;
  }
  return true;
}

}  // namespace hopwire::collector

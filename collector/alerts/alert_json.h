#pragma once
// Alerts and alert definitions as Kismet's JSON (kismet.alert.*,
// kismet.alert.definition.*), so Kismet's clients read them unchanged,
// plus ours (hopwire.alert.*): the id, every sensor that heard the
// offending frames, the count of detections, the acknowledgement.
// write_alert() drives any rapidjson SAX handler (a Writer, the REST
// layer's ek_writer and document builder); it is a template in this header
// so api/ and the outputs instantiate it with their own handlers.
//
//   kismet.alert.device_key        string   "4202770D00000000_0000AABBCCDDEEFF"; Kismet's empty key "00_0" when none
//   kismet.alert.header / .class   string
//   kismet.alert.hash              uint32   Kismet's hash (alert.h)
//   kismet.alert.severity          uint8    0/5/10/15/20
//   kismet.alert.phy_id            uint32   0 (IEEE802.11) or 4294967295 (any)
//   kismet.alert.timestamp         double   seconds.microseconds
//   kismet.alert.transmitter_mac, .source_mac, .dest_mac, .other_mac   "AA:BB:CC:DD:EE:FF"
//   kismet.alert.channel           string
//   kismet.alert.frequency         double   kHz (Kismet never fills it: 0)
//   kismet.alert.text              string
//   kismet.alert.location          {kismet.common.location.geopoint: [lon, lat], .alt, .fix, .time_sec, .time_usec}
//   hopwire.alert.id               uint64
//   hopwire.alert.severity_name    "INFO" .. "CRITICAL"
//   hopwire.alert.seenby           [{hopwire.alert.seenby.uuid, .name, .packets, .signal {kismet.common.signal.*},
//                                     .first_time, .last_time}]
//   hopwire.alert.count            uint64   detections folded into it, the raise included
//   hopwire.alert.last_time        double
//   hopwire.alert.acknowledged     bool; hopwire.alert.acknowledged_by (string), .acknowledged_time (double)

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "collector/alerts/alert.h"

namespace hopwire::collector {

// Kismet's device key of an 802.11 device (as api/device_json.h's
// device_key()), or Kismet's default key "00_0" for no device.
std::string alert_device_key(const alert& a);

// One alert as compact JSON (webhooks, syslog).
std::string alert_json(const alert& a);

namespace alert_json_detail {

template <typename H>
void key(H& h, const char* k) {
  h.Key(k, static_cast<unsigned>(std::strlen(k)), false);
}
template <typename H>
void kv(H& h, const char* k, std::string_view v) {
  key(h, k);
  h.String(v.data(), static_cast<unsigned>(v.size()), true);
}
template <typename H>
void kv_u(H& h, const char* k, std::uint64_t v) {
  key(h, k);
  h.Uint64(v);
}
template <typename H>
void kv_i(H& h, const char* k, std::int64_t v) {
  key(h, k);
  h.Int64(v);
}
template <typename H>
void kv_d(H& h, const char* k, double v) {
  key(h, k);
  h.Double(v);
}
template <typename H>
void kv_b(H& h, const char* k, bool v) {
  key(h, k);
  h.Bool(v);
}
inline double seconds(std::uint64_t ns) {
  return static_cast<double>(ns / 1000000000ull) + static_cast<double>(ns / 1000 % 1000000) / 1e6;
}

}  // namespace alert_json_detail

template <typename H>
void write_alert(H& h, const alert& a) {
  using namespace alert_json_detail;
  h.StartObject();
  kv(h, "kismet.alert.device_key", alert_device_key(a));
  kv(h, "kismet.alert.header", a.header);
  kv(h, "kismet.alert.class", a.alert_class);
  kv_u(h, "kismet.alert.hash", a.hash);
  kv_u(h, "kismet.alert.severity", a.severity);
  kv_u(h, "kismet.alert.phy_id", a.phy);
  kv_d(h, "kismet.alert.timestamp", a.timestamp());
  kv(h, "kismet.alert.transmitter_mac", mac_text(a.transmitter));
  kv(h, "kismet.alert.source_mac", mac_text(a.source));
  kv(h, "kismet.alert.dest_mac", mac_text(a.dest));
  kv(h, "kismet.alert.other_mac", mac_text(a.other));
  kv(h, "kismet.alert.channel", a.channel);
  kv_d(h, "kismet.alert.frequency", static_cast<double>(a.freq_khz));
  kv(h, "kismet.alert.text", a.text);
  key(h, "kismet.alert.location");
  h.StartObject();
  key(h, "kismet.common.location.geopoint");
  h.StartArray();
  h.Double(a.location.valid ? a.location.lon : 0.0);
  h.Double(a.location.valid ? a.location.lat : 0.0);
  h.EndArray();
  if (a.location.valid) {
    kv_d(h, "kismet.common.location.alt", a.location.has_alt ? a.location.alt : 0.0);
    kv_u(h, "kismet.common.location.fix", a.location.has_alt ? 3u : 2u);
    kv_u(h, "kismet.common.location.time_sec", a.location.time_ns / 1000000000ull);
    kv_u(h, "kismet.common.location.time_usec", a.location.time_ns / 1000 % 1000000);
  }
  h.EndObject();
  kv_u(h, "hopwire.alert.id", a.id);
  kv(h, "hopwire.alert.severity_name", severity_name(a.severity));
  key(h, "hopwire.alert.seenby");
  h.StartArray();
  for (const auto& s : a.seenby) {
    h.StartObject();
    kv(h, "hopwire.alert.seenby.uuid", s.uuid);
    kv(h, "hopwire.alert.seenby.name", s.name);
    kv_u(h, "hopwire.alert.seenby.packets", s.packets);
    key(h, "hopwire.alert.seenby.signal");
    h.StartObject();
    kv(h, "kismet.common.signal.type", "dbm");
    kv_i(h, "kismet.common.signal.last_signal", s.has_signal ? s.signal_last : 0);
    kv_i(h, "kismet.common.signal.min_signal", s.has_signal ? s.signal_min : 0);
    kv_i(h, "kismet.common.signal.max_signal", s.has_signal ? s.signal_max : 0);
    h.EndObject();
    kv_d(h, "hopwire.alert.seenby.first_time", seconds(s.first_ns));
    kv_d(h, "hopwire.alert.seenby.last_time", seconds(s.last_ns));
    h.EndObject();
  }
  h.EndArray();
  kv_u(h, "hopwire.alert.count", a.count);
  kv_d(h, "hopwire.alert.last_time", seconds(a.last_ns));
  kv_b(h, "hopwire.alert.acknowledged", a.acknowledged);
  kv(h, "hopwire.alert.acknowledged_by", a.acknowledged_by);
  kv_d(h, "hopwire.alert.acknowledged_time", seconds(a.acknowledged_ns));
  h.EndObject();
}

template <typename H>
void write_definition(H& h, const alert_definition& d) {
  using namespace alert_json_detail;
  h.StartObject();
  kv(h, "kismet.alert.definition.header", d.header);
  kv(h, "kismet.alert.definition.class", d.alert_class);
  kv_u(h, "kismet.alert.definition.severity", d.severity);
  kv(h, "kismet.alert.definition.description", d.description);
  kv_i(h, "kismet.alert.definition.phyid", d.phy);
  kv_u(h, "kismet.alert.definition.limit_unit", static_cast<unsigned>(d.limits.rate.unit));
  kv_u(h, "kismet.alert.definition.limit_rate", d.limits.rate.count);
  kv_u(h, "kismet.alert.definition.burst_unit", static_cast<unsigned>(d.limits.burst.unit));
  kv_u(h, "kismet.alert.definition.limit_burst", d.limits.burst.count);
  kv_u(h, "kismet.alert.definition.burst_sent", d.burst_sent);
  kv_u(h, "kismet.alert.definition.total_sent", d.total_sent);
  kv_d(h, "kismet.alert.definition.time_last", seconds(d.time_last_ns));
  kv_b(h, "hopwire.alert.definition.enabled", d.enabled);
  kv_b(h, "hopwire.alert.definition.builtin", d.builtin);
  kv_u(h, "hopwire.alert.definition.default_severity", d.default_severity);
  kv(h, "hopwire.alert.definition.rate", format_alert_rate(d.limits.rate));
  kv(h, "hopwire.alert.definition.burst", format_alert_rate(d.limits.burst));
  kv_u(h, "hopwire.alert.definition.raised", d.raised);
  kv_u(h, "hopwire.alert.definition.merged", d.merged);
  kv_u(h, "hopwire.alert.definition.throttled", d.throttled);
  h.EndObject();
}

}  // namespace hopwire::collector

#pragma once
// Answers Kismet serializes from its tracked elements, in whichever of its
// formats the path names: a handler writes plain JSON once, and these routes
// give it as .json, .itjson (one line per element of a list) or .ekjson
// (the same, '.' in names written '_'), with a POST's fields, regex, start
// and length applied as Kismet's device lists take them. For answers of a
// modest size (sources, GPSes, rings, SSIDs); device lists stream instead
// (device_list.h).

#include <cstdint>
#include <string>

#include "collector/api/api_context.h"
#include "collector/api/device_list.h"
#include "collector/core/rrd.h"

namespace hopwire::collector {

// Registers prefix + "json", "itjson" and "ekjson", for GET and/or POST,
// answering through `fn` (which writes JSON).
void add_kismet_route(route_table& t, api_context& api, const std::string& prefix, bool get, bool post,
                      role_mask roles, const std::string& summary, api_handler fn);

// Gives an existing JSON route (method, pattern) Kismet's other formats and
// methods: prefix + each suffix, GET and/or POST, wherever the table has no
// such route yet. Answers through the existing route's handler; its roles,
// summary and body limit carry over. Nothing when the route is absent.
void extend_kismet_route(route_table& t, api_context& api, const std::string& method, const std::string& pattern,
                         const std::string& prefix, bool get, bool post);

// A JSON reply in format `fmt`, with the request's POST command applied.
// Anything but a 200 JSON body passes through unchanged.
http_reply kismet_format(const request_ctx& ctx, out_format fmt, http_reply r);

// Writes a double as Kismet prints one: an integral value as an integer.
template <typename H>
void kismet_double(H& h, double v) {
  if (!(v == v) || v > 9.2e18 || v < -9.2e18) h.Int64(0);
  else if (static_cast<double>(static_cast<std::int64_t>(v)) == v) h.Int64(static_cast<std::int64_t>(v));
  else h.Double(v);
}

// A ring as Kismet shows one (kismet.common.rrd.*), moved on to `now_s`
// first unless `advance` is false (Kismet's device-count rings).
template <typename H>
void write_rrd(H& h, rrd r, std::uint64_t now_s, bool advance = true) {
  if (advance && now_s > r.last_time()) r.advance(now_s);
  auto key = [&](const char* k) { h.Key(k, static_cast<rapidjson::SizeType>(std::char_traits<char>::length(k))); };
  auto vec = [&](const char* k, const auto& v) {
    key(k);
    h.StartArray();
    for (double x : v) kismet_double(h, x);
    h.EndArray();
  };
  h.StartObject();
  key("kismet.common.rrd.last_time");
  h.Uint64(r.last_time());
  key("kismet.common.rrd.serial_time");
  h.Uint64(now_s);
  key("kismet.common.rrd.last_value");
  kismet_double(h, r.last_value());
  key("kismet.common.rrd.last_value_n1");
  kismet_double(h, r.last_value_n1());
  vec("kismet.common.rrd.minute_vec", r.minute());
  vec("kismet.common.rrd.hour_vec", r.hour());
  vec("kismet.common.rrd.day_vec", r.day());
  key("kismet.common.rrd.blank_val");
  h.Int64(0);
  h.EndObject();
}

}  // namespace hopwire::collector

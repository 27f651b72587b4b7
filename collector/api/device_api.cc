// Kismet's device REST endpoints (/devices/..., /phy/phy80211/clients-of):
// views, last-time polling, lookups by key and MAC, with Kismet's field
// simplification, regex filters, windowing and .json/.itjson/.ekjson output.
#include "collector/api/routes_all.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <memory>
#include <string>

#include <re2/re2.h>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "collector/api/device_json.h"
#include "collector/api/device_list.h"
#include "collector/track/device_tracker.h"
#include "collector/api/ek_writer.h"
#include "collector/api/json_limits.h"
#include "collector/api/kismet_time.h"
#include "collector/api/list_request.h"
#include "common/clock.h"
#include "common/log.h"

namespace hopwire::collector {

namespace {

bool prepare(request_ctx& ctx, list_request& req, http_reply& err) { return prepare_list(ctx, req, err); }

http_reply streamed(out_format fmt, list_request req, device_tracker::reader reader, const device_tracker& t,
                    device_filter keep = {}, list_wrap w = list_wrap::none, std::uint64_t now_s = 0) {
  return stream_devices(fmt, std::move(req), std::move(reader), t, std::move(keep), w, now_s);
}

http_reply list_view(request_ctx& ctx, out_format fmt, bool aps_only) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  const auto& t = *ctx.svc.tracker;
  device_filter keep;
  if (aps_only) keep = [](const device& d) { return (d.types & kTypeAp) != 0; };
  return streamed(fmt, std::move(req), t.read_all(), t, std::move(keep));
}

http_reply last_time(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  const auto now_ns = wall_ns();
  const std::int64_t now_s = static_cast<std::int64_t>(now_ns / 1000000000ull);
  // Kismet reads whole seconds; a fraction (sec.usec, as its other routes
  // take) is honoured here rather than dropped.
  const auto since = parse_kismet_time(ctx.params.at(0), now_ns);
  if (!since)
    return text_reply(400, "timestamp must be seconds since the epoch (a fraction allowed: 1700000000.5), or "
                           "negative for seconds ago");
  const std::uint64_t since_ns = *since;
  const auto& t = *ctx.svc.tracker;
  reply = streamed(fmt, std::move(req), t.read_changed_since(since_ns), t, {}, list_wrap::last_time,
                   static_cast<std::uint64_t>(now_s));
  reply.headers.emplace_back("X-Hopwire-Timestamp", std::to_string(now_s));
  return reply;
}

http_reply by_key(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  const auto mac = parse_device_key(ctx.params.at(0));
  if (!mac) return text_reply(404, "no device with key " + ctx.params.at(0) + " (keys look like 4202770D00000000_0000AABBCCDDEEFF)");
  reply.content_type = content_type(fmt);
  device_output out(fmt, req, *ctx.svc.tracker, reply.body);
  if (!ctx.svc.tracker->visit(*mac, [&](const device& d) { out.add(d); }))
    return text_reply(404, "no device with key " + ctx.params.at(0));
  out.finish();
  return reply;
}

http_reply by_macs(request_ctx& ctx, out_format fmt, const std::vector<mac_addr>& macs, list_request& req) {
  const auto& t = *ctx.svc.tracker;
  return streamed(fmt, std::move(req), t.read_macs(macs), t);
}

http_reply by_mac(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  const auto mac = mac_addr::parse(ctx.params.at(0));
  if (!mac) return text_reply(400, "not a MAC address: " + ctx.params.at(0));
  return by_macs(ctx, fmt, {*mac}, req);
}

http_reply multimac(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  if (req.macs.empty()) return text_reply(400, "devices: expected a non-empty array of MAC addresses");
  return by_macs(ctx, fmt, req.macs, req);
}

http_reply clients_of(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  const auto mac = parse_device_key(ctx.params.at(0));
  std::vector<mac_addr> clients;
  const bool found = mac && ctx.svc.tracker->visit(*mac, [&](const device& d) {
    if (d.wifi)
      for (const auto& l : d.wifi->clients()) clients.push_back(l.peer);
  });
  if (!found) return text_reply(404, "no device with key " + ctx.params.at(0));
  return by_macs(ctx, fmt, clients, req);
}

}  // namespace

void add_device_routes(route_table& t, api_context& api) {
  using handler_fn = http_reply (*)(request_ctx&, out_format);
  struct endpoint {
    const char* prefix;  // pattern up to the suffix
    bool get, post;
    const char* summary;
    handler_fn fn;
  };
  static const endpoint kEndpoints[] = {
      {"/devices/views/all/devices.", true, true, "Every device (POST: fields, regex, start, length)",
       [](request_ctx& c, out_format f) { return list_view(c, f, false); }},
      {"/devices/views/phydot11_accesspoints/devices.", true, true, "Wi-Fi access points",
       [](request_ctx& c, out_format f) { return list_view(c, f, true); }},
      {"/devices/last-time/{ts}/devices.", true, true, "Devices changed since TS (negative: seconds ago)", last_time},
      {"/devices/by-key/{key}/device.", true, true, "One device by key", by_key},
      {"/devices/by-mac/{mac}/devices.", true, true, "Devices with this MAC", by_mac},
      {"/devices/multimac/devices.", false, true, "Devices for a list of MACs (POST devices: [...])", multimac},
      {"/phy/phy80211/clients-of/{key}/clients.", true, true, "Clients of an access point", clients_of},
  };
  for (const auto& e : kEndpoints) {
    for (const auto& f : kFormats) {
      const std::string pattern = std::string(e.prefix) + f.suffix;
      const auto fn = e.fn;
      const auto fmt = f.fmt;
      auto handler = [fn, fmt](request_ctx& c) { return fn(c, fmt); };
      if (e.get) add_route(t, api, "GET", pattern, kReadRole, e.summary, handler);
      if (e.post) add_route(t, api, "POST", pattern, kReadRole, e.summary, handler, kListCommandLimit);
    }
  }
}

}  // namespace hopwire::collector

// Live pcap-ng stream routes (Kismet's paths), historic packets and
// /pcap/streams.json.
#include "collector/api/routes_all.h"

#include <charconv>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/device_json.h"
#include "collector/cluster/cluster_node.h"
#include "collector/track/device_tracker.h"
#include "collector/persist/packet_log.h"
#include "collector/stream/pcap_hub.h"
#include "collector/core/sources.h"

namespace hopwire::collector {

namespace {

http_reply open_stream(request_ctx& ctx, pcap_filter f) {
  http_reply r;
  r.content_type = "application/x-pcapng";
  r.stream = ctx.svc.pcap->subscribe(std::move(f), std::string(ctx.remote));
  return r;
}

http_reply all_packets(request_ctx& ctx) {
  if (!ctx.svc.pcap) return text_reply(503, "packet streaming is not running");
  return open_stream(ctx, {});
}

http_reply by_source(request_ctx& ctx) {
  if (!ctx.svc.pcap) return text_reply(503, "packet streaming is not running");
  const auto& uuid = ctx.params.at(0);
  const auto entry = ctx.svc.sources->find(uuid);
  bool here = false;
  if (entry) {
    std::lock_guard lock(entry->mu);
    here = entry->running;
  }
  if (!here && ctx.svc.cluster) {
    // Packets stay where they arrive: a source another collector holds
    // is streamed there.
    const auto owner = ctx.svc.cluster->owner_of(uuid);
    if (!owner.empty() && owner != ctx.svc.cluster->node_id()) {
      const auto base = ctx.svc.cluster->advertise_of(owner);
      if (base.empty())
        return text_reply(404, "source " + uuid + " is on collector " + owner +
                                   ", which advertises no URL (cluster.advertise in its config); ask it directly");
      http_reply r = text_reply(307, "source " + uuid + " is on collector " + owner + ": " + base +
                                         std::string(ctx.path));
      r.headers.emplace_back("Location", base + std::string(ctx.path));
      return r;
    }
  }
  if (!entry) return text_reply(404, "no source with UUID " + uuid);
  pcap_filter f;
  f.k = pcap_filter::kind::source;
  f.uuid = uuid;
  return open_stream(ctx, std::move(f));
}

http_reply by_device(request_ctx& ctx) {
  if (!ctx.svc.pcap || !ctx.svc.tracker) return text_reply(503, "packet streaming is not running");
  const auto mac = parse_device_key(ctx.params.at(0));
  if (!mac || !ctx.svc.tracker->visit(*mac, [](const device&) {}))
    return text_reply(404, "no device with key " + ctx.params.at(0));
  pcap_filter f;
  f.k = pcap_filter::kind::device;
  f.mac = *mac;
  return open_stream(ctx, std::move(f));
}

http_reply by_bssid(request_ctx& ctx) {
  if (!ctx.svc.pcap || !ctx.svc.tracker) return text_reply(503, "packet streaming is not running");
  const auto mac = mac_addr::parse(ctx.params.at(0));
  if (!mac) return text_reply(404, "not a MAC address: " + ctx.params.at(0));
  if (!ctx.svc.tracker->visit(*mac, [](const device&) {})) return text_reply(404, "no device with MAC " + ctx.params.at(0));
  pcap_filter f;
  f.k = pcap_filter::kind::bssid;
  f.mac = *mac;
  return open_stream(ctx, std::move(f));
}

// Seconds since the epoch, fractions allowed ("1432996123.824314"), into
// ns exactly (no floating point: a boundary packet must not fall out).
bool parse_time(const std::string& s, std::uint64_t& ns) {
  const auto dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  std::string frac = dot == std::string::npos ? std::string() : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 11 || frac.size() > 9) return false;
  for (char c : whole + frac)
    if (c < '0' || c > '9') return false;
  frac.resize(9, '0');
  std::uint64_t w = 0, f = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), w);  // digits only, checked above
  std::from_chars(frac.data(), frac.data() + frac.size(), f);
  ns = w * 1000000000ull + f;
  return true;
}

http_reply history(request_ctx& ctx) {
  history_query q;
  auto param = [&](std::initializer_list<const char*> names) -> std::optional<std::string> {
    for (const char* n : names)
      if (auto v = ctx.query_param(n)) return v;
    return std::nullopt;
  };
  if (auto v = param({"from", "timestamp_start"}); v && !parse_time(*v, q.from_ns))
    return text_reply(400, "from: expected Unix seconds, got '" + *v + "'");
  if (auto v = param({"to", "timestamp_end"}); v && !parse_time(*v, q.to_ns))
    return text_reply(400, "to: expected Unix seconds, got '" + *v + "'");
  if (q.to_ns < q.from_ns) return text_reply(400, "to is before from");
  if (auto v = param({"datasource"})) {
    if (!ctx.svc.sources->find(*v)) return text_reply(404, "no source with UUID " + *v);
    q.source_uuid = *v;
  }
  if (auto v = param({"device", "device_id"})) {
    auto mac = parse_device_key(*v);
    if (!mac) mac = mac_addr::parse(*v);
    if (!mac) return text_reply(400, "device: expected a device key or a MAC address, got '" + *v + "'");
    q.device = mac;
  }
  if (auto v = param({"bssid"})) {
    const auto mac = mac_addr::parse(*v);
    if (!mac) return text_reply(400, "bssid: expected a MAC address, got '" + *v + "'");
    q.bssid = mac;
  }
  if (auto v = param({"limit"})) {
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), q.limit);
    if (ec != std::errc() || end != v->data() + v->size() || v->empty())
      return text_reply(400, "limit: expected a number of packets, got '" + *v + "'");
  }
  if (!ctx.svc.log) return text_reply(503, "the packet log is off (--packet-log-max 0)");
  http_reply r;
  r.content_type = "application/x-pcapng";
  r.stream = open_history(*ctx.svc.db, *ctx.svc.sources, std::move(q));
  return r;
}

http_reply streams(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  if (ctx.svc.pcap)
    for (const auto& s : ctx.svc.pcap->stats()) {
      w.StartObject();
      w.Key("hopwire.pcap.stream.id");
      w.Uint64(s.id);
      w.Key("hopwire.pcap.stream.filter");
      w.String(s.filter.c_str());
      w.Key("hopwire.pcap.stream.remote");
      w.String(s.remote.c_str());
      w.Key("hopwire.pcap.stream.started");
      w.Uint64(s.started_unix);
      w.Key("hopwire.pcap.stream.bytes_sent");
      w.Uint64(s.bytes_sent);
      w.Key("hopwire.pcap.stream.packets_sent");
      w.Uint64(s.packets_sent);
      w.Key("hopwire.pcap.stream.packets_dropped");
      w.Uint64(s.packets_dropped);
      w.Key("hopwire.pcap.stream.queued_bytes");
      w.Uint64(s.queued_bytes);
      w.Key("hopwire.pcap.stream.queue_limit");
      w.Uint64(s.queue_limit);
      w.EndObject();
    }
  w.EndArray();
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

}  // namespace

void add_pcap_routes(route_table& t, api_context& api) {
  add_route(t, api, "GET", "/pcap/all_packets.pcapng", kReadRole, "Live pcap-ng: every packet from every source",
            all_packets);
  add_route(t, api, "GET", "/datasource/pcap/by-uuid/{uuid}/packets.pcapng", kReadRole, "Live pcap-ng: one source",
            by_source);
  add_route(t, api, "GET", "/devices/pcap/by-key/{key}/packets.pcapng", kReadRole,
            "Live pcap-ng: packets to, from or about one device", by_device);
  add_route(t, api, "GET", "/phy/phy80211/pcap/by-bssid/{mac}/packets.pcapng", kReadRole, "Live pcap-ng: one BSS",
            by_bssid);
  add_route(t, api, "GET", "/pcap/history.pcapng", kReadRole,
            "Logged packets as pcap-ng: from, to (Unix seconds), datasource, device, bssid, limit", history);
  add_route(t, api, "GET", "/logging/kismetdb/pcap/{title}", kReadRole,
            "Kismet's name for the packet log (timestamp_start, timestamp_end, datasource, device_id)", history);
  add_route(t, api, "GET", "/pcap/streams.json", kReadRole,
            "Live pcap-ng streams: filter, bytes, packets sent and dropped", streams);
}

}  // namespace hopwire::collector

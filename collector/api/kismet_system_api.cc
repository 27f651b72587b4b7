// Kismet's system and packet-chain routes: /system/timestamp, the
// /packetchain/ rings (packets in, processed, errors, duplicates, drops,
// backlog, peak rate; collector/core/packet_rates.h), /phy/all_phys, and
// Kismet's other formats and POST for the status and message routes.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/kismet_reply.h"
#include "collector/api/routes_all.h"
#include "collector/core/packet_rates.h"
#include "collector/track/device_tracker.h"
#include "common/clock.h"

namespace hopwire::collector {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

http_reply json_reply(const rapidjson::StringBuffer& buf) {
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

http_reply timestamp(request_ctx&) {
  const auto now = wall_ns();
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  w.Key("kismet.system.timestamp.sec");
  w.Uint64(now / 1000000000ull);
  w.Key("kismet.system.timestamp.usec");
  w.Uint64((now / 1000) % 1000000);
  w.EndObject();
  return json_reply(buf);
}

http_reply no_rates() { return text_reply(503, "packet rates are not being kept"); }

// Kismet's names of the packet chain's rings, and which of ours each is.
struct chain_ring {
  const char* name;  // kismet.packetchain.<name>
  const char* route;  // /packetchain/<route>, or null: only in packet_stats
  rrd packet_rates::packet_chain::*ring;
};
constexpr chain_ring kChainRings[] = {
    {"peak_packets_rrd", "packet_peak", &packet_rates::packet_chain::peak},
    {"packets_rrd", "packet_rate", &packet_rates::packet_chain::packets},
    {"error_packets_rrd", "packet_error", &packet_rates::packet_chain::errors},
    {"dupe_packets_rrd", "packet_dupe", &packet_rates::packet_chain::dupes},
    {"queued_packets_rrd", nullptr, &packet_rates::packet_chain::queued},
    {"dropped_packets_rrd", "packet_drop", &packet_rates::packet_chain::dropped},
    {"processed_packets_rrd", "packet_processed", &packet_rates::packet_chain::processed},
};

http_reply packet_stats(request_ctx& ctx) {
  if (!ctx.svc.rates) return no_rates();
  const auto chain = ctx.svc.rates->chain();
  const auto now = wall_ns() / 1000000000ull;
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  for (const auto& r : kChainRings) {
    const std::string key = std::string("kismet.packetchain.") + r.name;
    w.Key(key.c_str());
    write_rrd(w, chain.*(r.ring), now);
  }
  w.EndObject();
  return json_reply(buf);
}

http_reply one_ring(request_ctx& ctx, rrd packet_rates::packet_chain::*ring) {
  if (!ctx.svc.rates) return no_rates();
  const auto chain = ctx.svc.rates->chain();
  rapidjson::StringBuffer buf;
  writer w(buf);
  write_rrd(w, chain.*ring, wall_ns() / 1000000000ull);
  return json_reply(buf);
}

http_reply all_phys(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartArray();
  w.StartObject();
  w.Key("kismet.phy.phy_name");
  w.String("IEEE802.11");
  w.Key("kismet.phy.phy_id");
  w.Uint(0);
  w.Key("kismet.phy.device_count");
  w.Uint64(ctx.svc.tracker ? ctx.svc.tracker->device_count() : 0);
  w.Key("kismet.phy.packet_count");
  w.Uint64(ctx.svc.pipeline ? ctx.svc.pipeline->packets() - ctx.svc.pipeline->error_packets() : 0);
  w.EndObject();
  w.EndArray();
  return json_reply(buf);
}

}  // namespace

void add_kismet_system_routes(route_table& t, api_context& api) {
  add_kismet_route(t, api, "/system/timestamp.", true, true, kReadRole, "The collector's clock (sec, usec)",
                   timestamp);
  add_kismet_route(t, api, "/packetchain/packet_stats.", true, true, kReadRole,
                   "Every packet ring: in, processed, errors, duplicates, queued, dropped, peak (minute/hour/day)",
                   packet_stats);
  for (const auto& r : kChainRings) {
    if (!r.route) continue;
    const auto ring = r.ring;
    add_kismet_route(t, api, std::string("/packetchain/") + r.route + ".", true, true, kReadRole,
                     std::string("Packet ring kismet.packetchain.") + r.name + " (minute/hour/day)",
                     [ring](request_ctx& c) { return one_ring(c, ring); });
  }
  add_kismet_route(t, api, "/phy/all_phys.", true, true, kReadRole, "The phys and their device and packet counts",
                   all_phys);
  // Kismet answers these in every format and to POST too.
  extend_kismet_route(t, api, "GET", "/system/status.json", "/system/status.", true, true);
  extend_kismet_route(t, api, "GET", "/messagebus/all_messages.json", "/messagebus/all_messages.", true, true);
  extend_kismet_route(t, api, "GET", "/messagebus/last-time/{ts}/messages.json", "/messagebus/last-time/{ts}/messages.",
                      true, true);
  extend_kismet_route(t, api, "GET", "/auth/apikey/list.json", "/auth/apikey/list.", true, false);
}

}  // namespace hopwire::collector

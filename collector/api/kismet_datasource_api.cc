// Kismet's datasource routes beyond the list and channel commands
// (source_api.cc): every format of the lists, the driver types, the
// defaults, the interfaces connected sensors capture from, and the
// per-source commands. A source here is a remote sensor: pause and resume
// are the collector's (it stops using the packets, the link stays); open,
// close and disable would need the sensor to stop capturing, which our link
// protocol cannot ask (docs/kismet-compat.md).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/kismet_reply.h"
#include "collector/api/routes_all.h"
#include "collector/api/source_drivers.h"
#include "collector/config/settings.h"
#include "common/channel.h"

namespace hopwire::collector {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

http_reply json_reply(const rapidjson::StringBuffer& buf) {
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

void kv(writer& w, const char* k, std::string_view v) {
  w.Key(k);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void kv_u(writer& w, const char* k, std::uint64_t v) {
  w.Key(k);
  w.Uint64(v);
}

http_reply types(request_ctx&) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartArray();
  for (const auto& d : kSourceDrivers) write_source_driver(w, d.type);
  w.EndArray();
  return json_reply(buf);
}

http_reply defaults(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  w.Key("kismet.datasourcetracker.default.hop_rate");
  kismet_double(w, kDefaultHopRatePerSec);
  kv_u(w, "kismet.datasourcetracker.default.hop", 1);
  // Sources split channels when the fleet file puts them in a group (whose
  // strategy is split unless it says offset); alone, each hops its own list.
  kv_u(w, "kismet.datasourcetracker.default.split", 0);
  kv(w, "hopwire.datasourcetracker.default.group_strategy", "split");
  kv_u(w, "kismet.datasourcetracker.default.random_order", 1);
  kv_u(w, "kismet.datasourcetracker.default.retry_on_error", 1);
  const auto* cfg = ctx.svc.cfg;
  kv(w, "kismet.datasourcetracker.default.remote_cap_listen",
     cfg ? cfg->server.tcp_listen_address : std::string("127.0.0.1"));
  kv_u(w, "kismet.datasourcetracker.default.remote_cap_port", cfg ? cfg->server.tcp_port : 3501);
  // Live radios take the collector's clock; replays keep their file's times
  // (timestamp= in a definition says otherwise).
  kv_u(w, "kismet.datasourcetracker.default.remote_cap_timestamp", 1);
  kv_u(w, "hopwire.datasourcetracker.default.timestamp_replays", 0);
  w.EndObject();
  return json_reply(buf);
}

// What connected sensors capture from, as far as their links tell: each live
// capture source's interface (a sensor does not list the others it has).
http_reply list_interfaces(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartArray();
  for (const auto& s : ctx.svc.sources->all()) {
    std::lock_guard lock(s->mu);
    const auto* d = find_source_driver(s->rec.type);
    if (!s->running || (d && !d->remote) || s->rec.interface.empty()) continue;
    w.StartObject();
    kv(w, "kismet.datasource.probed.interface", s->rec.interface);
    kv(w, "kismet.datasource.probed.capture_interface", s->rec.interface);
    w.Key("kismet.datasource.probed.options_vec");
    w.StartArray();
    w.EndArray();
    kv(w, "kismet.datasource.probed.in_use_uuid", s->rec.uuid);
    kv(w, "kismet.datasource.probed.hardware", "");
    kv(w, "kismet.datasource.probed.datasource_version", "");
    w.Key("kismet.datasource.type_driver");
    write_source_driver(w, s->rec.type);
    kv(w, "hopwire.probed.source_name", s->rec.name);
    kv(w, "hopwire.probed.remote_ip", s->rec.remote_ip);
    w.Key("hopwire.probed.channels");
    w.StartArray();
    for (const auto& c : s->channels) w.String(c.c_str(), static_cast<rapidjson::SizeType>(c.size()));
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  return json_reply(buf);
}

std::shared_ptr<source_entry> find_source(request_ctx& ctx, http_reply& err) {
  auto s = ctx.svc.sources->find(ctx.params.at(0));
  if (!s) err = text_reply(404, "no source with UUID " + ctx.params.at(0));
  return s;
}

http_reply record_reply(const source_entry& s) {
  http_reply r;
  r.body = source_json(s);
  return r;
}

http_reply pause_source(request_ctx& ctx) {
  http_reply err;
  auto s = find_source(ctx, err);
  if (!s) return err;
  {
    std::lock_guard lock(s->mu);
    if (s->paused) return text_reply(409, "source " + s->rec.uuid + " ('" + s->rec.name + "') is already paused");
    s->paused = true;
  }
  ctx.svc.messages->post(kMsgInfo, "source '" + s->rec.name + "' paused: its link stays up, its packets are set aside");
  return record_reply(*s);
}

http_reply resume_source(request_ctx& ctx) {
  http_reply err;
  auto s = find_source(ctx, err);
  if (!s) return err;
  {
    std::lock_guard lock(s->mu);
    if (!s->paused) return text_reply(409, "source " + s->rec.uuid + " ('" + s->rec.name + "') is not paused");
    s->paused = false;
  }
  ctx.svc.messages->post(kMsgInfo, "source '" + s->rec.name + "' resumed");
  return record_reply(*s);
}

// open, close, disable: the sensor would have to stop or start capturing.
http_reply capture_command(request_ctx& ctx, const char* what) {
  http_reply err;
  auto s = find_source(ctx, err);
  if (!s) return err;
  std::string name, type;
  {
    std::lock_guard lock(s->mu);
    name = s->rec.name;
    type = s->rec.type;
  }
  if (type == "scan")
    return text_reply(409, std::string(what) + " source '" + name +
                               "': a scan source is virtual, made by the reports phones and boards post; it has no "
                               "capture to " + what);
  return text_reply(
      409, std::string("cannot ") + what + " source '" + name +
               "': it captures on a remote sensor, and the sensor link (proto/hopwire.fbs, docs/protocol.md) has no "
               "message that tells a sensor to stop or start capturing. pause_source.cmd sets its packets aside "
               "while the link stays up; stopping the capture is done on the sensor (stop hopwire-sensor), and "
               "'enabled: false' in the fleet file refuses its link (see docs/kismet-compat.md)");
}

http_reply add_source(request_ctx&) {
  return text_reply(409,
                    "sources are not added from the collector: a sensor joins by connecting to it "
                    "(hopwire-sensor --connect HOST:PORT --source=wlan1:name=roof, or Kismet's kismet_cap_* tools with "
                    "kismet_sensors on), with a token of role datasource; see docs/deploy.md");
}

}  // namespace

void add_kismet_datasource_routes(route_table& t, api_context& api) {
  extend_kismet_route(t, api, "GET", "/datasource/all_sources.json", "/datasource/all_sources.", true, true);
  extend_kismet_route(t, api, "GET", "/datasource/by-uuid/{uuid}/source.json", "/datasource/by-uuid/{uuid}/source.",
                      true, true);
  add_kismet_route(t, api, "/datasource/types.", true, true, kReadRole, "The kinds of source and what each can do",
                   types);
  add_kismet_route(t, api, "/datasource/defaults.", true, true, kReadRole,
                   "Defaults of sources: hop rate, shuffle, the remote-capture listener", defaults);
  add_kismet_route(t, api, "/datasource/list_interfaces.", true, true, kAdminOnly,
                   "Interfaces connected sensors capture from (what their links tell)", list_interfaces);
  struct command {
    const char* name;
    const char* summary;
    api_handler fn;
  };
  const command commands[] = {
      {"pause_source", "Set a source's packets aside; its link stays up", pause_source},
      {"resume_source", "Use a paused source's packets again", resume_source},
      {"open_source", "409: the sensor link cannot start a capture (see docs/kismet-compat.md)",
       [](request_ctx& c) { return capture_command(c, "open"); }},
      {"close_source", "409: the sensor link cannot stop a capture (see docs/kismet-compat.md)",
       [](request_ctx& c) { return capture_command(c, "close"); }},
      {"disable_source", "409: the sensor link cannot stop a capture (see docs/kismet-compat.md)",
       [](request_ctx& c) { return capture_command(c, "disable"); }},
  };
  for (const auto& c : commands)
    for (const char* m : {"GET", "POST"})
      add_route(t, api, m, std::string("/datasource/by-uuid/{uuid}/") + c.name + ".cmd", kAdminOnly, c.summary, c.fn,
                kCommandLimit);
  add_route(t, api, "POST", "/datasource/add_source.cmd", kAdminOnly,
            "409: sources join by connecting (hopwire-sensor --connect)", add_source, kCommandLimit);
}

}  // namespace hopwire::collector

// Kismet's GPS routes (/gps/...) over the positions the collector knows.
// A collector has no GPS of its own; it knows three kinds, each shown as a
// Kismet GPS with a stable UUID:
//   meta    the virtual GPSes fed over REST (/gps/meta/NAME/update.cmd,
//           core/meta_gps.h), which sources defined with metagps=NAME take;
//   virtual the fixed locations of the fleet file (sensors: location:);
//   sensor  the position a source's own packets carry (the sensor's
//           --fixed-gps or its capture's GPS), for sources placed by neither.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/kismet_reply.h"
#include "collector/api/routes_all.h"
#include "common/clock.h"
#include "common/uuid.h"

namespace hopwire::collector {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A meta GPS that has not been updated for this long is not connected.
constexpr std::uint64_t kStaleNs = 60ull * 1000000000ull;

struct gps_entry {
  std::string uuid, name, kind, description, definition;
  std::optional<gps_fix> fix;
  bool connected = false;
  int priority = 0;  // Kismet's: lower is preferred for the best location
};

const char* description_of(const std::string& kind) {
  if (kind == "meta") return "Virtual GPS fed over REST (/gps/meta/NAME/update.cmd); sources with metagps=NAME take it";
  if (kind == "virtual") return "A fixed location from the collector's fleet file (sensors: location:)";
  return "The position a sensor puts in its packets (--fixed-gps, or its capture's own GPS)";
}

std::vector<gps_entry> all_gps(const api_context& api) {
  std::vector<gps_entry> out;
  const auto now = wall_ns();
  if (api.gps)
    for (const auto& [name, fix] : api.gps->all()) {
      gps_entry e;
      e.uuid = hopwire::uuid::from_name("hopwire-gps:meta:" + name).str();
      e.name = name;
      e.kind = "meta";
      e.definition = "meta:name=" + name;
      e.fix = fix;
      e.connected = fix.updated_ns + kStaleNs >= now;
      e.priority = 0;
      out.push_back(std::move(e));
    }
  const auto fleet = api.planner ? api.planner->fleet() : nullptr;
  if (fleet)
    for (const auto& s : fleet->sensors) {
      if (!s.location) continue;
      const std::string who = !s.uuid.empty() ? s.uuid : s.name;
      gps_entry e;
      e.uuid = hopwire::uuid::from_name("hopwire-gps:fleet:" + who).str();
      e.name = !s.name.empty() ? s.name : s.uuid;
      e.kind = "virtual";
      e.definition = "virtual:lat=" + std::to_string(s.location->lat) + ",lon=" + std::to_string(s.location->lon) +
                     (s.location->has_alt ? ",alt=" + std::to_string(s.location->alt) : std::string());
      gps_fix f;
      f.lat = s.location->lat;
      f.lon = s.location->lon;
      f.alt = s.location->alt;
      f.has_alt = s.location->has_alt;
      f.updated_ns = now;  // a fixed location is always current
      e.fix = f;
      e.connected = true;
      e.priority = 2;
      out.push_back(std::move(e));
    }
  if (api.sources)
    for (const auto& s : api.sources->all()) {
      std::lock_guard lock(s->mu);
      if (!s->last_position || s->fixed_location || !s->options.metagps.empty()) continue;
      gps_entry e;
      e.uuid = hopwire::uuid::from_name("hopwire-gps:source:" + s->rec.uuid).str();
      e.name = !s->gps_name.empty() ? s->gps_name : s->rec.name;
      e.kind = "sensor";
      e.definition = "sensor:source=" + s->rec.uuid;
      e.fix = s->last_position;
      e.connected = s->running;
      e.priority = 1;
      out.push_back(std::move(e));
    }
  for (auto& e : out) e.description = description_of(e.kind);
  return out;
}

void write_location(writer& w, const gps_entry* e, bool with_uuid) {
  w.StartObject();
  w.Key("kismet.common.location.geopoint");
  w.StartArray();
  kismet_double(w, e && e->fix ? e->fix->lon : 0.0);
  kismet_double(w, e && e->fix ? e->fix->lat : 0.0);
  w.EndArray();
  if (e && e->fix) {
    const auto& f = *e->fix;
    w.Key("kismet.common.location.alt");
    kismet_double(w, f.has_alt ? f.alt : 0.0);
    w.Key("kismet.common.location.fix");
    w.Uint(f.has_alt ? 3 : 2);
    w.Key("kismet.common.location.time_sec");
    w.Uint64(f.updated_ns / 1000000000ull);
    w.Key("kismet.common.location.time_usec");
    w.Uint64((f.updated_ns / 1000) % 1000000);
    w.Key("kismet.common.location.speed");
    kismet_double(w, f.speed);
    w.Key("kismet.common.location.heading");
    w.Int(0);
    if (with_uuid) {
      w.Key("kismet.common.location.gps_uuid");
      w.String(e->uuid.c_str(), static_cast<rapidjson::SizeType>(e->uuid.size()));
    }
  }
  w.EndObject();
}

http_reply json_reply(const rapidjson::StringBuffer& buf) {
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

// The best position: the connected GPS of the lowest priority number with
// the newest fix (a live virtual GPS, then sensors, then the fleet file).
const gps_entry* best(const std::vector<gps_entry>& all) {
  const gps_entry* b = nullptr;
  for (const auto& e : all) {
    if (!e.fix || !e.connected) continue;
    if (!b || e.priority < b->priority || (e.priority == b->priority && e.fix->updated_ns > b->fix->updated_ns))
      b = &e;
  }
  return b;
}

http_reply location(request_ctx& ctx) {
  const auto all = all_gps(ctx.svc);
  rapidjson::StringBuffer buf;
  writer w(buf);
  write_location(w, best(all), true);
  return json_reply(buf);
}

const gps_entry* by_uuid(const std::vector<gps_entry>& all, const std::string& uuid) {
  const auto want = hopwire::uuid::parse(uuid);
  for (const auto& e : all)
    if (want && e.uuid == want->str()) return &e;
  return nullptr;
}

http_reply location_by_uuid(request_ctx& ctx) {
  const auto all = all_gps(ctx.svc);
  const auto* e = by_uuid(all, ctx.params.at(0));
  if (!e) return text_reply(404, "no GPS with UUID " + ctx.params.at(0) + " (/gps/all_gps.json lists them)");
  rapidjson::StringBuffer buf;
  writer w(buf);
  write_location(w, e, true);
  return json_reply(buf);
}

http_reply all_locations(request_ctx& ctx) {
  const auto all = all_gps(ctx.svc);
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  for (const auto& e : all) {
    w.Key(e.uuid.c_str(), static_cast<rapidjson::SizeType>(e.uuid.size()));
    write_location(w, &e, false);
  }
  w.EndObject();
  return json_reply(buf);
}

void kv(writer& w, const char* k, const std::string& v) {
  w.Key(k);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

http_reply all_gps_route(request_ctx& ctx) {
  const auto all = all_gps(ctx.svc);
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartArray();
  for (const auto& e : all) {
    w.StartObject();
    kv(w, "kismet.gps.name", e.name);
    kv(w, "kismet.gps.description", e.description);
    kv(w, "kismet.gps.uuid", e.uuid);
    kv(w, "kismet.gps.definition", e.definition);
    w.Key("kismet.gps.priority");
    w.Int(e.priority);
    w.Key("kismet.gps.connected");
    w.Uint(e.connected);
    w.Key("kismet.gps.reconnect");
    w.Uint(0);
    w.Key("kismet.gps.data_only");
    w.Uint(0);
    w.Key("kismet.gps.location");
    write_location(w, &e, true);
    w.Key("kismet.gps.last_location");
    write_location(w, &e, true);
    w.Key("kismet.gps.data_time");
    w.Uint64(e.fix ? e.fix->updated_ns / 1000000000ull : 0);
    w.Key("kismet.gps.signal_time");
    w.Uint64(e.fix ? e.fix->updated_ns / 1000000000ull : 0);
    kv(w, "hopwire.gps.kind", e.kind);
    w.EndObject();
  }
  w.EndArray();
  return json_reply(buf);
}

http_reply drivers(request_ctx&) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartArray();
  struct drv {
    const char* kind;
    int priority;
    bool singleton;
  };
  for (const auto& d : {drv{"meta", 0, false}, drv{"sensor", 1, false}, drv{"virtual", 2, false}}) {
    w.StartObject();
    kv(w, "kismet.gps.type.class", d.kind);
    kv(w, "kismet.gps.type.description", description_of(d.kind));
    w.Key("kismet.gps.type.priority");
    w.Int(d.priority);
    kv(w, "kismet.gps.type.default_name", d.kind);
    w.Key("kismet.gps.type.singleton");
    w.Uint(d.singleton);
    w.EndObject();
  }
  w.EndArray();
  return json_reply(buf);
}

http_reply add_gps(request_ctx&) {
  return text_reply(409,
                    "GPSes are not added here: a virtual GPS appears with its first position "
                    "(POST /gps/meta/NAME/update.cmd), a fixed one comes from the fleet file (location:), and a "
                    "sensor's with the sensor (--fixed-gps)");
}

http_reply remove_gps(request_ctx& ctx) {
  const auto all = all_gps(ctx.svc);
  if (!by_uuid(all, ctx.params.at(0))) return text_reply(404, "no GPS with UUID " + ctx.params.at(0));
  return text_reply(409,
                    "GPSes are not removed here: a virtual GPS stays with its last position, a fixed one goes with its "
                    "entry in the fleet file (then /admin/reload.cmd), a sensor's with the sensor");
}

}  // namespace

void add_kismet_gps_routes(route_table& t, api_context& api) {
  add_kismet_route(t, api, "/gps/location.", true, true, kReadRole,
                   "The best position the collector knows (live virtual GPS, then sensors, then the fleet file)",
                   location);
  add_kismet_route(t, api, "/gps/by-uuid/{uuid}/location.", true, true, kReadRole, "One GPS's position",
                   location_by_uuid);
  add_kismet_route(t, api, "/gps/all_locations.", true, true, kReadRole, "Every GPS's position, by GPS UUID",
                   all_locations);
  add_kismet_route(t, api, "/gps/all_gps.", true, true, kReadRole,
                   "Every GPS: virtual ones, the fleet file's fixed locations, sensors' own", all_gps_route);
  add_kismet_route(t, api, "/gps/drivers.", true, true, kReadRole, "The kinds of GPS", drivers);
  add_route(t, api, "POST", "/gps/add_gps.cmd", kAdminOnly, "409: GPSes appear by themselves (see docs/kismet-compat.md)",
            add_gps, kCommandLimit);
  add_route(t, api, "GET", "/gps/by-uuid/{uuid}/remove_gps.cmd", kAdminOnly,
            "409: GPSes go by themselves (see docs/kismet-compat.md)", remove_gps);
}

}  // namespace hopwire::collector

// Kismet's device views and the device routes device_api.cc does not
// have: the list of views, every view's devices and last-time poll
// (including one view per source, seenby-UUID, holding only what that
// source heard — Kismet's own gets this wrong, kismet#571), lookups of
// several device keys, the legacy all_devices, and the names and tags
// people give devices (set_name.cmd, set_tag.cmd; kept across restarts).
#include <mutex>
#include <unordered_map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/command_json.h"
#include "collector/api/device_json.h"
#include "collector/api/device_list.h"
#include "collector/api/kismet_reply.h"
#include "collector/api/kismet_time.h"
#include "collector/api/routes_all.h"
#include "collector/persist/annotation_codec.h"
#include "collector/persist/store.h"
#include "collector/track/device_tracker.h"
#include "common/clock.h"
#include "common/text.h"
#include "common/uuid.h"

namespace hopwire::collector {

namespace {

constexpr std::string_view kSeenbyPrefix = "seenby-";

struct view {
  std::string id, description;
  device_filter keep;      // empty: every device
  bool aps = false;        // counted as the access points
  bool by_source = false;  // counted by seen-by
  std::uint32_t source = 0;
};

device_filter heard_by(std::uint32_t source) {
  return [source](const device& d) {
    for (const auto& s : d.seenby)
      if (s.source == source) return true;
    return false;
  };
}

// The views there are now: the fixed ones, and one per source known.
std::vector<view> views(const api_context& api) {
  std::vector<view> out;
  out.push_back({"all", "All devices", {}});
  out.push_back({"phy-IEEE802.11", "IEEE802.11 devices", {}});
  view aps{"phydot11_accesspoints", "Wi-Fi Access Points", [](const device& d) { return (d.types & kTypeAp) != 0; }};
  aps.aps = true;
  out.push_back(std::move(aps));
  if (api.sources)
    for (const auto& s : api.sources->all()) {
      std::lock_guard lock(s->mu);
      view v{std::string(kSeenbyPrefix) + s->rec.uuid, "Devices seen by source " + s->rec.name + " (" + s->rec.uuid + ")",
             heard_by(s->index)};
      v.by_source = true;
      v.source = s->index;
      out.push_back(std::move(v));
    }
  return out;
}

// The view a path names; source UUIDs in any case.
std::optional<view> find_view(const api_context& api, std::string id) {
  if (id.size() > kSeenbyPrefix.size() && id.compare(0, kSeenbyPrefix.size(), kSeenbyPrefix) == 0)
    if (const auto u = hopwire::uuid::parse(id.substr(kSeenbyPrefix.size())))
      id = std::string(kSeenbyPrefix) + u->str();
  for (auto& v : views(api))
    if (v.id == id) return std::move(v);
  return std::nullopt;
}

http_reply no_view(const std::string& id) {
  return text_reply(404, "no device view '" + id + "' (/devices/views/all_views.json lists them)");
}

http_reply all_views(request_ctx& ctx) {
  if (!ctx.svc.tracker) return no_tracker();
  auto list = views(ctx.svc);
  // One pass over the tracker, in place, for every count.
  std::size_t aps = 0;
  std::unordered_map<std::uint32_t, std::size_t> by_source;
  ctx.svc.tracker->for_each_in_place([&](const device& d) {
    aps += (d.types & kTypeAp) != 0;
    for (const auto& s : d.seenby) ++by_source[s.source];
  });
  const std::size_t total = ctx.svc.tracker->device_count();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  for (const auto& v : list) {
    w.StartObject();
    w.Key("kismet.devices.view.id");
    w.String(v.id.c_str(), static_cast<rapidjson::SizeType>(v.id.size()));
    w.Key("kismet.devices.view.description");
    w.String(v.description.c_str(), static_cast<rapidjson::SizeType>(v.description.size()));
    w.Key("kismet.devices.view.size");
    std::size_t n = total;
    if (v.aps) n = aps;
    if (v.by_source) {
      auto it = by_source.find(v.source);
      n = it == by_source.end() ? 0 : it->second;
    }
    w.Uint64(n);
    w.Key("kismet.devices.view.indexed");
    w.Uint(1);
    w.EndObject();
  }
  w.EndArray();
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

http_reply view_devices(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply err;
  if (!prepare_list(ctx, req, err)) return err;
  auto v = find_view(ctx.svc, ctx.params.at(0));
  if (!v) return no_view(ctx.params.at(0));
  const auto& t = *ctx.svc.tracker;
  return stream_devices(fmt, std::move(req), t.read_all(), t, std::move(v->keep));
}

// Kismet's view poll: devices of the view changed at or after TS, as a
// plain list (the collector's modification time, as /devices/last-time).
http_reply view_last_time(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply err;
  if (!prepare_list(ctx, req, err)) return err;
  auto v = find_view(ctx.svc, ctx.params.at(0));
  if (!v) return no_view(ctx.params.at(0));
  const auto now = wall_ns();
  const auto since = parse_kismet_time(ctx.params.at(1), now);
  if (!since)
    return text_reply(400, "timestamp must be seconds since the epoch (a fraction allowed: 1700000000.5), or "
                           "negative for seconds ago");
  const auto& t = *ctx.svc.tracker;
  auto reply = stream_devices(fmt, std::move(req), t.read_changed_since(*since), t, std::move(v->keep));
  reply.headers.emplace_back("X-Hopwire-Timestamp", std::to_string(now / 1000000000ull));
  return reply;
}

// {"devices": [KEY, ...]}: those devices, as a list or keyed by device key.
http_reply multikey(request_ctx& ctx, out_format fmt, bool as_object) {
  if (!ctx.svc.tracker) return no_tracker();
  rapidjson::Document doc;
  std::string why;
  if (!parse_list_command(ctx, doc, why)) return text_reply(400, why);
  std::vector<mac_addr> macs;
  auto it = doc.FindMember("devices");
  if (it == doc.MemberEnd() || !it->value.IsArray() || it->value.Empty())
    return text_reply(400, "devices: expected a non-empty array of device keys (like 4202770D00000000_0000AABBCCDDEEFF)");
  for (const auto& k : it->value.GetArray()) {
    const auto mac = k.IsString() ? parse_device_key(std::string_view(k.GetString(), k.GetStringLength()))
                                  : std::nullopt;
    if (!mac) return text_reply(400, "devices: each entry must be a device key like 4202770D00000000_0000AABBCCDDEEFF");
    macs.push_back(*mac);
  }
  doc.RemoveMember("devices");
  list_request req;
  if (!read_list_request(doc, req, why)) return text_reply(400, why);
  const auto& t = *ctx.svc.tracker;
  // Unknown keys are left out, as Kismet does.
  return stream_devices(fmt, std::move(req), t.read_macs(macs), t, {},
                        as_object ? list_wrap::by_key : list_wrap::none);
}

http_reply all_devices(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply err;
  if (!prepare_list(ctx, req, err)) return err;
  const auto& t = *ctx.svc.tracker;
  return stream_devices(fmt, std::move(req), t.read_all(), t);
}

// One set_name or set_tag at a time, so the store always gets the newest.
std::mutex g_annotate_mu;

template <typename Change>
http_reply annotate(request_ctx& ctx, Change&& change, const char* done) {
  if (!ctx.svc.tracker) return no_tracker();
  const auto mac = parse_device_key(ctx.params.at(0));
  if (!mac || !ctx.svc.tracker->visit(*mac, [](const device&) {}))
    return text_reply(404, "no device with key " + ctx.params.at(0));
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  std::lock_guard lock(g_annotate_mu);
  std::string why;
  const auto after = change(ctx.svc.tracker->annotations(), *mac, d, why);
  if (!after) return text_reply(400, why);
  if (ctx.svc.db && !save_annotation(*ctx.svc.db, *mac, *after))
    return text_reply(503, "set, but the database did not keep it (" + ctx.svc.db->last_error() +
                               "); it is lost at restart unless set again");
  return text_reply(200, done);
}

http_reply set_name(request_ctx& ctx) {
  return annotate(
      ctx,
      [](device_annotations& a, mac_addr mac, const rapidjson::Document& d, std::string& why)
          -> std::optional<device_annotation> {
        const auto name = string_field(d, "username");
        if (!name) {
          why = "username: expected a string (\"\" clears the name)";
          return std::nullopt;
        }
        return a.set_name(mac, ssid_text(*name), why);
      },
      "Device name set");
}

http_reply set_tag(request_ctx& ctx) {
  return annotate(
      ctx,
      [](device_annotations& a, mac_addr mac, const rapidjson::Document& d, std::string& why)
          -> std::optional<device_annotation> {
        const auto tag = string_field(d, "tagname");
        const auto value = string_field(d, "tagvalue");
        if (!tag || tag->empty() || !value) {
          why = "expected tagname (a non-empty string) and tagvalue (a string; \"\" removes the tag)";
          return std::nullopt;
        }
        return a.set_tag(mac, ssid_text(*tag), ssid_text(*value), why);
      },
      "Device tag set");
}

}  // namespace

void add_kismet_view_routes(route_table& t, api_context& api) {
  add_kismet_route(t, api, "/devices/views/all_views.", true, true, kReadRole,
                   "Device views: all, phy-IEEE802.11, phydot11_accesspoints, seenby-UUID per source", all_views);
  using handler_fn = http_reply (*)(request_ctx&, out_format);
  struct endpoint {
    const char* prefix;
    bool get;
    const char* summary;
    handler_fn fn;
  };
  static const endpoint kEndpoints[] = {
      {"/devices/views/{view}/devices.", true,
       "The devices of a view (seenby-UUID: only what that source heard; POST: fields, regex, start, length)",
       view_devices},
      {"/devices/views/{view}/last-time/{ts}/devices.", true,
       "The devices of a view changed since TS (sec.usec; negative: seconds ago)", view_last_time},
      {"/devices/multikey/devices.", false, "Devices for a list of device keys (POST devices: [...])",
       [](request_ctx& c, out_format f) { return multikey(c, f, false); }},
      {"/devices/multikey/as-object/devices.", false, "Devices for a list of keys, as an object by key",
       [](request_ctx& c, out_format f) { return multikey(c, f, true); }},
  };
  for (const auto& e : kEndpoints)
    for (const auto& f : kFormats) {
      const auto fn = e.fn;
      const auto fmt = f.fmt;
      auto handler = [fn, fmt](request_ctx& c) { return fn(c, fmt); };
      const std::string pattern = std::string(e.prefix) + f.suffix;
      if (e.get) add_route(t, api, "GET", pattern, kReadRole, e.summary, handler);
      add_route(t, api, "POST", pattern, kReadRole, e.summary, handler, kListCommandLimit);
    }
  // Kismet's legacy list: the line formats only.
  for (const auto& f : kFormats) {
    if (f.fmt == out_format::json) continue;
    const auto fmt = f.fmt;
    auto handler = [fmt](request_ctx& c) { return all_devices(c, fmt); };
    const std::string pattern = std::string("/devices/all_devices.") + f.suffix;
    add_route(t, api, "GET", pattern, kReadRole, "Every device, one per line (Kismet's legacy list)", handler);
    add_route(t, api, "POST", pattern, kReadRole, "Every device, one per line (Kismet's legacy list)", handler,
              kListCommandLimit);
  }
  add_route(t, api, "POST", "/devices/by-key/{key}/set_name.cmd", kAdminOnly,
            "Name a device: {username} (kismet.device.base.username, kept across restarts)", set_name, kCommandLimit);
  add_route(t, api, "POST", "/devices/by-key/{key}/set_tag.cmd", kAdminOnly,
            "Tag a device: {tagname, tagvalue} (kismet.device.base.tags, kept across restarts)", set_tag,
            kCommandLimit);
}

}  // namespace hopwire::collector

// Capture sources over REST: Kismet's datasource list and channel
// commands, virtual GPS positions, and the fleet reload.
#include <algorithm>
#include <cctype>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/command_json.h"
#include "collector/api/json_reply.h"
#include "collector/api/routes_all.h"
#include "collector/api/source_drivers.h"
#include "common/clock.h"

namespace hopwire::collector {

namespace {

using json_writer = jsonw::writer;
using jsonw::kv;
using jsonw::kv_bool;

http_reply json_reply(const rapidjson::StringBuffer& buf) { return jsonw::reply(buf); }

void write_source(json_writer& w, const source_entry& s) {
  std::lock_guard lock(s.mu);
  const auto& r = s.rec;
  w.StartObject();
  kv(w, "kismet.datasource.uuid", r.uuid);
  kv(w, "kismet.datasource.name", r.name);
  kv(w, "kismet.datasource.type", r.type);
  kv(w, "kismet.datasource.definition", r.definition);
  kv(w, "kismet.datasource.interface", r.interface);
  kv(w, "kismet.datasource.dlt", r.dlt);
  kv_bool(w, "kismet.datasource.running", s.running);
  kv_bool(w, "kismet.datasource.paused", s.paused);
  kv(w, "hopwire.datasource.set_aside", s.set_aside);
  // More of Kismet's record, with its types (0/1 for its flags).
  kv(w, "kismet.datasource.source_number", std::uint64_t{s.index});
  kv(w, "kismet.datasource.capture_interface", r.interface);
  kv(w, "kismet.datasource.hardware", "");
  kv(w, "kismet.datasource.passive", std::uint64_t{r.type == "scan"});
  kv(w, "kismet.datasource.error", std::uint64_t{0});
  kv(w, "kismet.datasource.error_reason", "");
  kv(w, "kismet.datasource.warning", "");
  kv(w, "kismet.datasource.retry", std::uint64_t{r.type != "scan"});
  w.Key("kismet.datasource.type_driver");
  write_source_driver(w, r.type);
  kv_bool(w, "kismet.datasource.remote", true);
  kv(w, "kismet.datasource.remote_ip", r.remote_ip);
  kv(w, "kismet.datasource.num_packets", r.num_packets);
  kv(w, "kismet.datasource.num_error_packets", r.num_error_packets);
  w.Key("kismet.datasource.channels");
  w.StartArray();
  for (const auto& c : s.channels) w.String(c.c_str(), static_cast<rapidjson::SizeType>(c.size()));
  w.EndArray();
  kv(w, "kismet.datasource.channel", s.channel);
  kv(w, "hopwire.datasource.transport", s.transport);
  // The link protocol, and whether what was lost across a reconnect can be
  // counted: our sensors resend what was not acknowledged and count what
  // their ring dropped; Kismet's tools neither number nor acknowledge
  // reports. Empty: not connected since the collector started.
  const bool kismet_v3 = s.transport.rfind("kismet-", 0) == 0;
  kv(w, "hopwire.datasource.protocol",
     std::string_view(kismet_v3 ? "kismet-v3" : s.transport.empty() ? "" : "hopwire"));
  kv(w, "hopwire.datasource.reconnect_losses",
     std::string_view(kismet_v3 ? "unknowable" : s.transport.empty() ? "" : "counted"));
  kv(w, "hopwire.datasource.dropped_ring", r.dropped_ring_base + r.dropped_ring_boot);
  kv(w, "hopwire.datasource.dropped_kernel", r.dropped_kernel_base + r.dropped_kernel_boot);
  kv(w, "hopwire.datasource.reconnects", r.reconnects);
  kv(w, "hopwire.datasource.first_seen", r.first_seen_ns / 1000000000ull);
  kv(w, "hopwire.datasource.last_seen", r.last_seen_ns / 1000000000ull);
  kv(w, "hopwire.datasource.last_seq", r.last_seq);
  kv(w, "hopwire.datasource.duplicate_batches", s.duplicate_batches);
  kv(w, "hopwire.datasource.sensor_captured", s.captured);
  kv(w, "hopwire.datasource.ring_bytes_used", s.ring_bytes_used);
  kv(w, "hopwire.datasource.ring_bytes_total", s.ring_bytes_total);
  kv(w, "hopwire.datasource.freq_khz", s.freq_khz);
  kv(w, "hopwire.datasource.gps_name", s.gps_name);
  kv(w, "hopwire.datasource.metagps", s.options.metagps);
  kv_bool(w, "hopwire.datasource.collector_timestamps", s.options.stamp_time);
  // Where the sensor is: the fleet file's fixed location, else the position
  // of its newest packet that had one (its GPS, --fixed-gps, a virtual GPS).
  if (const auto& pos = s.fixed_location ? s.fixed_location : s.last_position) {
    w.Key("hopwire.datasource.location");
    w.StartObject();
    w.Key("lat");
    w.Double(pos->lat);
    w.Key("lon");
    w.Double(pos->lon);
    if (pos->has_alt) {
      w.Key("alt");
      w.Double(pos->alt);
    }
    kv(w, "source", s.fixed_location ? "fleet" : "packets");
    kv(w, "time", pos->updated_ns / 1000000000ull);
    w.EndObject();
  }

  // The plan in force: what the collector asked for once the sensor took it,
  // else what the sensor does by itself.
  const auto& st = s.plan;
  const bool taken = st.request_id != 0 && st.result_id == st.request_id && st.result_ok;
  const hop_plan& eff = taken ? st.wanted : st.own;
  const bool hopping = eff.hop && st.in_force.size() > 1;
  auto strings = [&](const char* key, const std::vector<std::string>& v) {
    w.Key(key);
    w.StartArray();
    for (const auto& c : v) w.String(c.c_str(), static_cast<rapidjson::SizeType>(c.size()));
    w.EndArray();
  };
  kv_bool(w, "kismet.datasource.hopping", hopping);
  w.Key("kismet.datasource.hop_rate");
  w.Double(hopping ? eff.rate_per_sec : 0.0);
  strings("kismet.datasource.hop_channels", st.in_force);
  kv(w, "kismet.datasource.hop_offset", eff.offset);
  kv_bool(w, "kismet.datasource.hop_shuffle", eff.shuffle);
  kv(w, "hopwire.datasource.group", st.group);
  w.Key("hopwire.datasource.plan");
  w.StartObject();
  kv(w, "mode", st.mode);
  strings("channels", st.wanted.channels);
  kv_bool(w, "hop", st.wanted.hop);
  w.Key("rate");
  w.Double(st.wanted.rate_per_sec);
  kv(w, "offset", st.wanted.offset);
  kv_bool(w, "shuffle", st.wanted.shuffle);
  kv(w, "request_id", st.request_id);
  kv_bool(w, "acknowledged", st.request_id != 0 && st.result_id == st.request_id);
  kv_bool(w, "ok", st.request_id == 0 || (st.result_id == st.request_id && st.result_ok));
  kv(w, "message", st.result_message);
  w.EndObject();
  w.EndObject();
}

http_reply all_sources(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartArray();
  for (const auto& s : ctx.svc.sources->all()) write_source(w, *s);
  w.EndArray();
  return json_reply(buf);
}

http_reply source_by_uuid(request_ctx& ctx) {
  auto s = ctx.svc.sources->find(ctx.params.at(0));
  if (!s) return text_reply(404, "no source with UUID " + ctx.params.at(0));
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  write_source(w, *s);
  return json_reply(buf);
}

http_reply source_reply(const source_entry& s) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  write_source(w, s);
  return json_reply(buf);
}

// Channels from a command: a JSON array of Kismet channel strings.
bool read_channels(const rapidjson::Value& v, std::vector<std::string>& out, http_reply& err) {
  if (!v.IsArray() || v.Empty()) {
    err = text_reply(400, "\"channels\" must be a non-empty array of channel strings, e.g. [\"1\", \"6HT40+\"]");
    return false;
  }
  for (const auto& c : v.GetArray()) {
    if (!c.IsString() && !c.IsUint()) {
      err = text_reply(400, "\"channels\" holds something that is not a channel string");
      return false;
    }
    const std::string text = c.IsString() ? std::string(c.GetString(), c.GetStringLength())
                                          : std::to_string(c.GetUint());
    std::string why;
    const auto ch = try_parse_channel(text, why);
    if (!ch) {
      err = text_reply(400, why);
      return false;
    }
    out.push_back(ch->str());
  }
  return true;
}

// A hop rate from a command ("rate": channels per second).
bool read_rate(const rapidjson::Document& d, double& rate, http_reply& err) {
  auto it = d.FindMember("rate");
  if (it == d.MemberEnd()) return true;
  if (!it->value.IsNumber() || !(it->value.GetDouble() > 0)) {
    err = text_reply(400, "\"rate\" must be a number of channels per second above 0");
    return false;
  }
  rate = it->value.GetDouble();
  if (rate > kMaxHopRatePerSec) {
    err = text_reply(400, "\"rate\" " + std::to_string(rate) + " is above 20/sec (the minimum dwell is 50 ms)");
    return false;
  }
  return true;
}

bool read_shuffle(const rapidjson::Document& d, bool& shuffle, http_reply& err) {
  auto it = d.FindMember("shuffle");
  if (it == d.MemberEnd()) return true;
  if (it->value.IsBool()) shuffle = it->value.GetBool();
  else if (it->value.IsInt() && (it->value.GetInt() == 0 || it->value.GetInt() == 1)) shuffle = it->value.GetInt();
  else {
    err = text_reply(400, "\"shuffle\" must be 0 or 1");
    return false;
  }
  return true;
}

// The source a channel command is for, if it can tune at all.
std::shared_ptr<source_entry> tunable_source(request_ctx& ctx, http_reply& err) {
  auto s = ctx.svc.sources->find(ctx.params.at(0));
  if (!s) {
    err = text_reply(404, "no source with UUID " + ctx.params.at(0));
    return nullptr;
  }
  std::lock_guard lock(s->mu);
  if (s->channels.empty()) {
    err = text_reply(409, "source " + s->rec.uuid + " ('" + s->rec.name + "', type " + s->rec.type +
                              ") has no channels to tune" +
                              (s->running ? std::string() : " (it has not connected since the collector started)"));
    return nullptr;
  }
  return s;
}

// Kismet's set_channel: {"channel": "6HT40+"} locks; {"channels": [...],
// "rate": N, "shuffle": 0|1} hops over the given list.
http_reply set_channel(request_ctx& ctx) {
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  auto s = tunable_source(ctx, err);
  if (!s) return err;
  hop_plan p;
  if (auto c = string_field(d, "channel")) {
    std::string why;
    const auto ch = try_parse_channel(*c, why);
    if (!ch) return text_reply(400, why);
    p.channels = {ch->str()};
    p.hop = false;
  } else if (d.HasMember("channels")) {
    if (!read_channels(d["channels"], p.channels, err) || !read_rate(d, p.rate_per_sec, err) ||
        !read_shuffle(d, p.shuffle, err))
      return err;
    p.hop = p.channels.size() > 1;
  } else {
    return text_reply(400, "give \"channel\" (lock) or \"channels\" (hop), e.g. {\"channel\": \"6\"}");
  }
  ctx.svc.planner->set_manual(s, p, 0);
  return source_reply(*s);
}

// Kismet's set_hop: hop again. With "channels", over that list; without,
// over the group's plan (or the sensor's own list), at "rate" if given.
http_reply set_hop(request_ctx& ctx) {
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  auto s = tunable_source(ctx, err);
  if (!s) return err;
  double rate = 0;
  if (!read_rate(d, rate, err)) return err;
  if (d.HasMember("channels")) {
    hop_plan p;
    if (!read_channels(d["channels"], p.channels, err) || !read_shuffle(d, p.shuffle, err)) return err;
    if (rate > 0) p.rate_per_sec = rate;
    p.hop = p.channels.size() > 1;
    ctx.svc.planner->set_manual(s, p, 0);
  } else {
    ctx.svc.planner->set_manual(s, std::nullopt, rate);
  }
  return source_reply(*s);
}

// A virtual GPS position: {"lat": .., "lon": .., "alt": .., "speed": ..}.
http_reply meta_gps_update(request_ctx& ctx) {
  const std::string& name = ctx.params.at(0);
  if (name.empty() || name.size() > 64 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) ||
                                                                    c == '-' || c == '_' || c == '.'; }))
    return text_reply(400, "GPS names are 1 to 64 letters, digits, '-', '_' or '.'");
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  gps_fix fix;
  auto number = [&](const char* key, double& out, bool required, double lo, double hi) -> bool {
    auto it = d.FindMember(key);
    if (it == d.MemberEnd()) {
      if (required) err = text_reply(400, std::string("\"") + key + "\" is required");
      return !required;
    }
    if (!it->value.IsNumber() || !(it->value.GetDouble() >= lo && it->value.GetDouble() <= hi)) {
      err = text_reply(400, std::string("\"") + key + "\" must be a number in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "]");
      return false;
    }
    out = it->value.GetDouble();
    return true;
  };
  if (!number("lat", fix.lat, true, -90, 90) || !number("lon", fix.lon, true, -180, 180) ||
      !number("alt", fix.alt, false, -1000, 100000) || !number("speed", fix.speed, false, 0, 10000) ||
      !number("spd", fix.speed, false, 0, 10000))
    return err;
  fix.has_alt = d.HasMember("alt");
  fix.updated_ns = wall_ns();
  ctx.svc.gps->update(name, fix);
  return text_reply(200, "GPS '" + name + "' updated");
}

// Re-read the fleet file (as SIGHUP does).
http_reply admin_reload(request_ctx& ctx) {
  if (!ctx.svc.reload) return text_reply(409, "reload is not available");
  const auto errors = ctx.svc.reload();
  if (errors.empty()) return text_reply(200, "reloaded");
  std::string text = "reload refused; the running configuration stays:";
  for (const auto& e : errors) text += "\n" + e;
  return text_reply(400, text);
}

}  // namespace

std::string source_json(const source_entry& s) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  write_source(w, s);
  return std::string(buf.GetString(), buf.GetSize());
}

void add_source_routes(route_table& t, api_context& api) {
  add_route(t, api, "GET", "/datasource/all_sources.json", kReadRole, "Every known capture source", all_sources);
  add_route(t, api, "GET", "/datasource/by-uuid/{uuid}/source.json", kReadRole, "One capture source",
            source_by_uuid);
  add_route(t, api, "POST", "/datasource/by-uuid/{uuid}/set_channel.cmd", kAdminOnly,
            "Lock a source on a channel, or hop it over a list (Kismet's keys)", set_channel, kCommandLimit);
  add_route(t, api, "POST", "/datasource/by-uuid/{uuid}/set_hop.cmd", kAdminOnly,
            "Hop again: over a list, or over the group's plan", set_hop, kCommandLimit);
  add_route(t, api, "POST", "/admin/reload.cmd", kAdminOnly, "Re-read the fleet file (as SIGHUP does)", admin_reload,
            kCommandLimit);
  add_route(t, api, "POST", "/gps/meta/{name}/update.cmd", mask(role::gps), "Position of a virtual GPS (metagps=NAME)",
            meta_gps_update, kCommandLimit);
}

}  // namespace hopwire::collector

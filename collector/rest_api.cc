#include "rest_api.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include "collector/auth_api.h"
#include "collector/command_json.h"
#include "collector/device_api.h"
#include "collector/packet_log.h"
#include "collector/pcap_api.h"
#include "collector/scan_report.h"
#include "collector/device_tracker.h"
#include "common/clock.h"
#include "common/protocol.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void kv(json_writer& w, const char* key, std::string_view v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void kv(json_writer& w, const char* key, std::uint64_t v) {
  w.Key(key);
  w.Uint64(v);
}
void kv_bool(json_writer& w, const char* key, bool v) {
  w.Key(key);
  w.Bool(v);
}

http_reply json_reply(rapidjson::StringBuffer& buf) {
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

std::uint64_t rss_bytes() {
  long pages_total = 0, pages_rss = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_rss) != 2) pages_rss = 0;
    std::fclose(f);
  }
  return static_cast<std::uint64_t>(pages_rss) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

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
  kv(w, "hopwire.datasource.metagps", s.metagps);
  kv_bool(w, "hopwire.datasource.collector_timestamps", s.stamp_time);

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
  for (const auto& s : ctx.svc.sources.all()) write_source(w, *s);
  w.EndArray();
  return json_reply(buf);
}

http_reply source_by_uuid(request_ctx& ctx) {
  auto s = ctx.svc.sources.find(ctx.params.at(0));
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
    try {
      const std::string text = c.IsString() ? std::string(c.GetString(), c.GetStringLength())
                                            : std::to_string(c.GetUint());
      out.push_back(parse_channel(text).str());
    } catch (const std::invalid_argument& e) {
      err = text_reply(400, e.what());
      return false;
    }
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
  auto s = ctx.svc.sources.find(ctx.params.at(0));
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
    try {
      p.channels = {parse_channel(*c).str()};
    } catch (const std::invalid_argument& e) {
      return text_reply(400, e.what());
    }
    p.hop = false;
  } else if (d.HasMember("channels")) {
    if (!read_channels(d["channels"], p.channels, err) || !read_rate(d, p.rate_per_sec, err) ||
        !read_shuffle(d, p.shuffle, err))
      return err;
    p.hop = p.channels.size() > 1;
  } else {
    return text_reply(400, "give \"channel\" (lock) or \"channels\" (hop), e.g. {\"channel\": \"6\"}");
  }
  ctx.svc.planner.set_manual(s, p, 0);
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
    ctx.svc.planner.set_manual(s, p, 0);
  } else {
    ctx.svc.planner.set_manual(s, std::nullopt, rate);
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
  ctx.svc.gps.update(name, fix);
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

http_reply system_status(request_ctx& ctx) {
  const auto& st = ctx.svc.stats;
  auto ld = [](const collector_stats::counter& c) { return c.load(std::memory_order_relaxed); };
  const auto now_ns = wall_ns();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                       ctx.svc.started)
                          .count();
  std::uint64_t live = 0;
  for (const auto& s : ctx.svc.sources.all()) {
    std::lock_guard lock(s->mu);
    live += s->running;
  }
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  kv(w, "kismet.system.version", kVersion);
  kv(w, "kismet.system.server_name", "hopwire-collector");
  kv(w, "kismet.system.timestamp.sec", now_ns / 1000000000ull);
  kv(w, "kismet.system.timestamp.usec", (now_ns / 1000) % 1000000);
  kv(w, "kismet.system.timestamp.start_sec", ctx.svc.started_unix);
  // Kismet reports RSS in kB.
  const auto rss = rss_bytes();
  kv(w, "kismet.system.memory.rss", rss / 1024);
  kv(w, "hopwire.system.uptime_sec", static_cast<std::uint64_t>(uptime));
  kv(w, "hopwire.system.memory.rss_bytes", rss);
  kv(w, "hopwire.system.sources_live", live);
  kv(w, "hopwire.system.packets_received", ld(st.packets_received));
  kv(w, "hopwire.system.bytes_received", ld(st.bytes_received));
  kv(w, "hopwire.system.batches_received", ld(st.batches_received));
  kv(w, "hopwire.system.batches_duplicate", ld(st.batches_duplicate));
  kv(w, "hopwire.system.batches_gap", ld(st.batches_gap));
  kv(w, "hopwire.system.links_accepted", ld(st.links_accepted));
  kv(w, "hopwire.system.links_refused_auth", ld(st.links_refused_auth));
  kv(w, "hopwire.system.links_refused_other", ld(st.links_refused_other));
  kv(w, "hopwire.system.links_timed_out", ld(st.links_timed_out));
  kv(w, "hopwire.system.frames_malformed", ld(st.frames_malformed));
  kv(w, "hopwire.system.frames_oversize", ld(st.frames_oversize));
  kv(w, "hopwire.system.http_requests", ld(st.http_requests));
  kv(w, "hopwire.system.http_auth_failures", ld(st.http_auth_failures));
  if (const auto* t = ctx.svc.tracker) {
    kv(w, "kismet.system.devices.count", static_cast<std::uint64_t>(t->device_count()));
    kv(w, "hopwire.system.devices.evicted", t->evicted());
    kv(w, "hopwire.system.packets_decoded", t->packets());
    kv(w, "hopwire.system.packets_error", t->error_packets());
    t->anomalies().for_each([&](const char* name, std::uint64_t v) {
      const std::string k = std::string("hopwire.decode.") + name;
      w.Key(k.c_str());
      w.Uint64(v);
    });
  }
  kv_bool(w, "hopwire.system.packet_log.enabled", ctx.svc.log != nullptr);
  if (const auto* l = ctx.svc.log) {
    kv(w, "hopwire.system.packet_log.packets_logged", l->logged());
    kv(w, "hopwire.system.packet_log.packets_dropped", l->dropped());
    kv(w, "hopwire.system.packet_log.bytes", ctx.svc.db.packet_log_bytes());
  }
  kv(w, "hopwire.system.storage.write_errors", ctx.svc.db.write_errors());
  const auto err = ctx.svc.db.last_error();
  kv(w, "hopwire.system.storage.last_error", err);
  w.EndObject();
  return json_reply(buf);
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      auto hv = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int a = hv(s[i + 1]), b = hv(s[i + 2]);
      if (a < 0 || b < 0) {
        out.push_back(s[i]);
        continue;
      }
      out.push_back(static_cast<char>(a << 4 | b));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

constexpr role_mask kRead = mask(role::readonly);
constexpr std::size_t kNoBody = 0;
constexpr role_mask kAdminOnly = 0;  // admin may always
constexpr std::size_t kCommandLimit = 64 * 1024;

}  // namespace

http_reply text_reply(unsigned status, std::string message) {
  http_reply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(message);
  if (r.body.empty() || r.body.back() != '\n') r.body.push_back('\n');
  return r;
}

std::optional<std::string> request_ctx::query_param(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return std::nullopt;
}

const std::vector<route>& route_table() {
  static const std::vector<route> table = [] {
    std::vector<route> t = {
      {"WS", protocol::kWebSocketPath, mask(role::datasource), "Sensor link (WebSocket upgrade)", {}, kNoBody},
      {"GET", "/system/status.json", kRead, "Version, uptime, memory and packet totals", system_status, kNoBody},
      {"GET", "/datasource/all_sources.json", kRead, "Every known capture source", all_sources, kNoBody},
      {"GET", "/datasource/by-uuid/{uuid}/source.json", kRead, "One capture source", source_by_uuid, kNoBody},
      {"POST", "/datasource/by-uuid/{uuid}/set_channel.cmd", kAdminOnly,
       "Lock a source on a channel, or hop it over a list (Kismet's keys)", set_channel, kCommandLimit},
      {"POST", "/datasource/by-uuid/{uuid}/set_hop.cmd", kAdminOnly,
       "Hop again: over a list, or over the group's plan", set_hop, kCommandLimit},
      {"POST", "/admin/reload.cmd", kAdminOnly, "Re-read the fleet file (as SIGHUP does)", admin_reload,
       kCommandLimit},
      {"POST", "/gps/meta/{name}/update.cmd", mask(role::gps), "Position of a virtual GPS (metagps=NAME)",
       meta_gps_update, kCommandLimit},
    };
    add_device_routes(t);
    add_pcap_routes(t);
    add_scan_routes(t);
    add_auth_routes(t);
    return t;
  }();
  return table;
}

route_match match_route(std::string_view method, std::string_view path) {
  route_match m;
  for (const auto& r : route_table()) {
    std::vector<std::string> params;
    std::string_view pat = r.pattern, p = path;
    bool ok = true;
    while (ok) {
      if (pat.empty() || p.empty()) {
        ok = pat.empty() && p.empty();
        break;
      }
      const auto pseg_end = pat.find('/', 1);
      const auto seg_end = p.find('/', 1);
      const auto pseg = pat.substr(0, pseg_end);
      const auto seg = p.substr(0, seg_end);
      if (pseg.size() > 2 && pseg[1] == '{') {
        if (seg.size() < 2) ok = false;
        else params.emplace_back(url_decode(seg.substr(1)));
      } else if (pseg != seg) {
        ok = false;
      }
      pat = pseg_end == std::string_view::npos ? std::string_view() : pat.substr(pseg_end);
      p = seg_end == std::string_view::npos ? std::string_view() : p.substr(seg_end);
    }
    if (!ok) continue;
    if (r.method != method) {
      m.path_known = true;
      continue;
    }
    m.r = &r;
    m.params = std::move(params);
    return m;
  }
  return m;
}

std::optional<std::string> command_text(const request_ctx& ctx) {
  // curl -d sends raw JSON as a form: a body that opens an object is JSON
  // whatever its declared type.
  const auto first = ctx.body.find_first_not_of(" \t\r\n");
  const bool looks_json = first != std::string_view::npos && ctx.body[first] == '{';
  if (looks_json ||
      (ctx.content_type.find("application/x-www-form-urlencoded") == std::string_view::npos &&
       ctx.body.substr(0, 5) != "json="))
    return std::string(ctx.body);
  for (const auto& [k, v] : parse_query(ctx.body))
    if (k == "json") return v;
  // An empty form is an empty command; a form of other fields is a mistake.
  if (ctx.body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string();
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    if (!item.empty()) {
      const auto eq = item.find('=');
      out.emplace_back(url_decode(item.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : url_decode(item.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

bool query_has_credentials(const std::vector<std::pair<std::string, std::string>>& query) {
  for (const auto& [k, v] : query) {
    std::string l;
    for (char c : k) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (l == "user" || l == "username" || l == "password" || l == "pass" || l == "apikey" || l == "api_key" ||
        l == "token" || l == "kismet" || l == "auth" || l == "authorization")
      return true;
  }
  return false;
}

}  // namespace hopwire::collector

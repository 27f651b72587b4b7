// Kismet's alert REST endpoints (alertracker.cc's routes, devicetracker's
// watch list), answered from the alert engine:
//
//   /alerts/all_alerts.{json,itjson,ekjson}                    GET, POST (fields, regex)   readonly
//   /alerts/last-time/TS/alerts.{json,itjson,ekjson}          alerts with timestamp > TS (sec.usec)
//   /alerts/wrapped/last-time/TS/alerts.json                  {"kismet.alert.timestamp", "kismet.alert.list"}
//   /alerts/by-id/ID/alert.json                               our id, or Kismet's hash; 404 + {} if none
//   /alerts/definitions.{json,itjson,ekjson}
//   POST /alerts/definitions/define_alert.cmd                 admin
//   POST /alerts/raise_alerts.cmd (Kismet's), /alerts/raise_alert.cmd   admin
//   POST /alerts/by-id/ID/acknowledge.cmd                     admin (ours)
//   POST /devices/alerts/mac/{found,lost,both}/add.cmd, remove.cmd      admin
//   GET  /devices/alerts/mac/{found,lost,both}/macs.json                readonly
//
// Lists are built whole: the history is bounded (alerts.retention.count).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <rapidjson/document.h>

#include "collector/alerts/alert_codec.h"
#include "collector/alerts/alert_engine.h"
#include "collector/alerts/alert_json.h"
#include "collector/api/deferred_stream.h"
#include "collector/api/command_json.h"
#include "collector/api/ek_writer.h"
#include "collector/api/json_limits.h"
#include "collector/api/list_request.h"
#include "collector/api/routes_all.h"
#include "common/clock.h"
#include "common/text.h"

namespace hopwire::collector {

namespace {

enum class out_format { json, itjson, ekjson };

http_reply no_engine() { return text_reply(503, "the alert engine is not running"); }

const char* content_type(out_format f) { return f == out_format::json ? "application/json" : "application/x-ndjson"; }

// A POST's fields/regex command; an empty body is none.
bool read_command(request_ctx& ctx, list_request& req, http_reply& err) {
  if (ctx.method != "POST") return true;
  const auto text = command_text(ctx);
  if (!text) {
    err = text_reply(400, std::string(kNoJsonField));
    return false;
  }
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return true;
  rapidjson::Document doc;
  std::string why;
  if (!parse_untrusted_json(*text, doc, why)) {
    err = text_reply(400, "command: " + why);
    return false;
  }
  if (!doc.IsObject()) {
    err = text_reply(400, "command must be a JSON object");
    return false;
  }
  if (!read_list_request(doc, req, why)) {
    err = text_reply(400, why);
    return false;
  }
  return true;
}

// Writes records (alerts or definitions) in a format, with Kismet's field
// simplification and regex filter.
template <typename Record, typename WriteFn>
class record_output {
 public:
  record_output(out_format fmt, const list_request& req, std::string& body, WriteFn write)
      : fmt_(fmt), req_(req), sink_(body), json_(sink_), ek_(sink_), write_(write) {}

  void begin() {
    if (fmt_ == out_format::json) json_.StartArray();
  }
  void end() {
    if (fmt_ == out_format::json) json_.EndArray();
    sink_.Flush();
  }
  // Everything written so far is in the body.
  void flush() { sink_.Flush(); }
  json_writer& writer() { return json_; }

  void add(const Record& r) {
    if (req_.fields.empty() && req_.regex.empty()) {
      if (fmt_ == out_format::ekjson) {
        write_(ek_, r);
        ek_.Reset(sink_);
      } else {
        write_(json_, r);
        if (fmt_ == out_format::itjson) json_.Reset(sink_);
      }
      if (fmt_ != out_format::json) sink_.Put('\n');
      return;
    }
    rapidjson::Document doc;
    struct gen {
      const Record& r;
      WriteFn& write;
      bool operator()(rapidjson::Document& d) {
        doc_builder b(d);
        write(b, r);
        return true;
      }
    } g{r, write_};
    doc.Populate(g);
    if (!passes_regex(doc, req_.regex)) return;
    if (fmt_ == out_format::ekjson) {
      emit(ek_, doc);
      ek_.Reset(sink_);
    } else {
      emit(json_, doc);
      if (fmt_ == out_format::itjson) json_.Reset(sink_);
    }
    if (fmt_ != out_format::json) sink_.Put('\n');
  }

 private:
  template <typename H>
  void emit(H& h, const rapidjson::Document& doc) {
    if (req_.fields.empty()) {
      doc.Accept(h);
      return;
    }
    h.StartObject();
    for (const auto& f : req_.fields) {
      h.Key(f.name.data(), static_cast<rapidjson::SizeType>(f.name.size()), true);
      if (!emit_path(h, doc, f.path, 0)) h.Uint(0);  // Kismet answers 0 for fields it does not have
    }
    h.EndObject();
  }

  out_format fmt_;
  const list_request& req_;
  string_sink sink_;
  json_writer json_;
  ek_writer ek_;
  WriteFn write_;
};

struct alert_writer {
  template <typename H>
  void operator()(H& h, const alert& a) const {
    write_alert(h, a);
  }
};
struct definition_writer {
  template <typename H>
  void operator()(H& h, const alert_definition& d) const {
    write_definition(h, d);
  }
};

template <typename Record, typename WriteFn>
http_reply list_reply(out_format fmt, const list_request& req, const std::vector<Record>& records) {
  http_reply r;
  r.content_type = content_type(fmt);
  record_output<Record, WriteFn> out(fmt, req, r.body, WriteFn{});
  out.begin();
  for (const auto& x : records) out.add(x);
  out.end();
  return r;
}

http_reply all_alerts(request_ctx& ctx, out_format fmt) {
  if (!ctx.svc.alerts) return no_engine();
  list_request req;
  http_reply err;
  if (!read_command(ctx, req, err)) return err;
  return list_reply<alert, alert_writer>(fmt, req, ctx.svc.alerts->all());
}

// Kismet's sec.usec timestamp: a plain decimal number, nothing else.
std::optional<double> parse_ts(const std::string& s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

http_reply last_time(request_ctx& ctx, out_format fmt, bool wrapped) {
  if (!ctx.svc.alerts) return no_engine();
  list_request req;
  http_reply err;
  if (!read_command(ctx, req, err)) return err;
  const auto ts = parse_ts(ctx.params.at(0));
  if (!ts) return text_reply(400, "timestamp must be seconds since the epoch, as sec.usec (1718900000.123456)");
  const auto now = wall_ns();
  const double now_s = static_cast<double>(now / 1000000000ull) + static_cast<double>(now / 1000 % 1000000) / 1e6;
  const auto alerts = ctx.svc.alerts->since(*ts);
  if (!wrapped) {
    auto r = list_reply<alert, alert_writer>(fmt, req, alerts);
    r.headers.emplace_back("X-Hopwire-Timestamp", std::to_string(now_s));
    return r;
  }
  http_reply r;
  record_output<alert, alert_writer> out(out_format::json, req, r.body, alert_writer{});
  auto& w = out.writer();
  w.StartObject();
  w.Key("kismet.alert.timestamp");
  w.Double(now_s);
  w.Key("kismet.alert.list");
  out.begin();
  for (const auto& a : alerts) out.add(a);
  w.EndArray();
  w.EndObject();
  out.flush();
  return r;
}

std::optional<alert> find_alert(const alert_engine& e, const std::string& key) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), v);
  if (ec != std::errc() || end != key.data() + key.size()) return std::nullopt;
  if (auto a = e.by_id(v)) return a;
  // Kismet's by-id takes the alert's hash.
  if (v <= 0xffffffffull) return e.by_hash(static_cast<std::uint32_t>(v));
  return std::nullopt;
}

http_reply by_id(request_ctx& ctx) {
  if (!ctx.svc.alerts) return no_engine();
  list_request req;
  http_reply err;
  if (!read_command(ctx, req, err)) return err;
  const auto a = find_alert(*ctx.svc.alerts, ctx.params.at(0));
  if (!a) {
    http_reply r;
    r.status = 404;
    r.body = "{}";
    return r;
  }
  http_reply r;
  record_output<alert, alert_writer> out(out_format::json, req, r.body, alert_writer{});
  out.add(*a);
  out.flush();
  return r;
}

http_reply definitions(request_ctx& ctx, out_format fmt) {
  if (!ctx.svc.alerts) return no_engine();
  list_request req;
  http_reply err;
  if (!read_command(ctx, req, err)) return err;
  return list_reply<alert_definition, definition_writer>(fmt, req, ctx.svc.alerts->definitions());
}

std::optional<std::int64_t> int_field(const rapidjson::Value& d, const char* key) {
  auto it = d.FindMember(key);
  if (it == d.MemberEnd()) return std::nullopt;
  if (it->value.IsInt64()) return it->value.GetInt64();
  if (it->value.IsString()) {
    std::int64_t v = 0;
    const char* s = it->value.GetString();
    const auto [end, ec] = std::from_chars(s, s + it->value.GetStringLength(), v);
    if (ec == std::errc() && end == s + it->value.GetStringLength()) return v;
  }
  return std::nullopt;
}

http_reply define_alert(request_ctx& ctx) {
  if (!ctx.svc.alerts) return no_engine();
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  alert_engine::define_request r;
  const auto name = string_field(d, "name");
  const auto severity = int_field(d, "severity");
  if (!name) return text_reply(400, "Invalid request: name: expected a string");
  if (!severity || *severity < 0 || *severity > 255)
    return text_reply(400, "Invalid request: severity: expected 0, 5, 10, 15 or 20");
  r.name = *name;
  r.description = string_field(d, "description").value_or("");
  r.alert_class = string_field(d, "class").value_or("");
  r.severity = static_cast<unsigned>(*severity);
  // Kismet requires both rates; say which one is missing.
  const auto throttle = string_field(d, "throttle");
  const auto burst = string_field(d, "burst");
  if (!throttle) return text_reply(400, "Invalid request: throttle: expected a rate such as 10/min");
  if (!burst) return text_reply(400, "Invalid request: burst: expected a rate such as 1/sec");
  r.throttle = *throttle;
  r.burst = *burst;
  r.phyname = string_field(d, "phyname").value_or("");
  if (r.alert_class.empty()) return text_reply(400, "Invalid request: class: expected a string such as SYSTEM");
  const auto res = ctx.svc.alerts->define(r);
  if (res.status == alert_engine::define_status::exists) return text_reply(503, "Could not define alert: " + res.reason);
  if (!res.ok()) return text_reply(400, "Invalid request: " + res.reason);
  http_reply ok;
  ok.content_type = "text/plain";
  return ok;
}

std::optional<mac_addr> mac_field(const rapidjson::Value& d, const char* key, bool& bad) {
  const auto s = string_field(d, key);
  if (!s || s->empty()) {
    if (d.HasMember(key) && !s) bad = true;
    return mac_addr{};
  }
  const auto m = mac_addr::parse(*s);
  if (!m) bad = true;
  return m.value_or(mac_addr{});
}

http_reply raise_alert(request_ctx& ctx) {
  if (!ctx.svc.alerts) return no_engine();
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  alert_engine::raise_request r;
  const auto name = string_field(d, "name");
  const auto text = string_field(d, "text");
  if (!name) return text_reply(400, "Invalid request: name: expected a string");
  if (!text) return text_reply(400, "Invalid request: text: expected a string");
  r.name = *name;
  r.text = *text;
  bool bad = false;
  r.transmitter = *mac_field(d, "bssid", bad);
  r.source = *mac_field(d, "source", bad);
  r.dest = *mac_field(d, "dest", bad);
  r.other = *mac_field(d, "other", bad);
  if (bad) return text_reply(400, "Invalid request: invalid MAC address");
  r.channel = string_field(d, "channel").value_or("");
  if (r.channel.size() > 32) return text_reply(400, "Invalid request: channel: at most 32 characters");
  const auto res = ctx.svc.alerts->raise(r);
  if (res.status == alert_engine::raise_status::unknown)
    return text_reply(400, "Invalid request:  Unknown alert type '" + ssid_text(*name) + "'");
  if (!res.ok()) return text_reply(400, "Invalid request: " + res.reason);
  auto ok = text_reply(200, "Alert raised");
  ok.headers.emplace_back("X-Hopwire-Alert-Id", std::to_string(res.id));
  return ok;
}

http_reply acknowledge(request_ctx& ctx) {
  if (!ctx.svc.alerts) return no_engine();
  bool ack = true;
  const auto text = command_text(ctx);
  if (text && text->find_first_not_of(" \t\r\n") != std::string::npos) {
    rapidjson::Document d;
    http_reply err;
    if (!parse_command(ctx, d, err)) return err;
    if (auto it = d.FindMember("acknowledged"); it != d.MemberEnd()) {
      if (!it->value.IsBool()) return text_reply(400, "acknowledged: expected true or false");
      ack = it->value.GetBool();
    }
  }
  const auto a = find_alert(*ctx.svc.alerts, ctx.params.at(0));
  if (!a || !ctx.svc.alerts->acknowledge(a->id, ctx.auth.principal.empty() ? "admin" : ctx.auth.principal, ack))
    return text_reply(404, "no alert with id " + ctx.params.at(0));
  http_reply r;
  r.body = alert_json(*ctx.svc.alerts->by_id(a->id));
  return r;
}

std::optional<std::uint8_t> watch_type(const std::string& t) {
  if (t == "found") return kWatchFound;
  if (t == "lost") return kWatchLost;
  if (t == "both") return kWatchBoth;
  return std::nullopt;
}

http_reply watch_change(request_ctx& ctx, bool add) {
  if (!ctx.svc.alerts) return no_engine();
  const auto type = watch_type(ctx.params.at(0));
  if (!type) return text_reply(400, "type must be found, lost or both");
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  std::vector<std::string> macs;
  if (auto m = string_field(d, "mac")) macs.push_back(*m);
  if (auto it = d.FindMember("macs"); it != d.MemberEnd()) {
    if (!it->value.IsArray()) return text_reply(400, "macs: expected an array of MAC strings");
    if (it->value.Size() > 4096) return text_reply(400, "macs: at most 4096 at once");
    for (const auto& v : it->value.GetArray()) {
      if (!v.IsString()) return text_reply(400, "macs: expected an array of MAC strings");
      macs.emplace_back(v.GetString(), v.GetStringLength());
    }
  }
  if (macs.empty()) return text_reply(400, "give mac (a string) or macs (an array of strings)");
  std::vector<mac_mask> parsed;
  for (const auto& m : macs) {
    std::string why;
    const auto mm = try_parse_mac_mask(m, why);
    if (!mm) return text_reply(400, why);
    parsed.push_back(*mm);
  }
  auto& w = ctx.svc.alerts->watch();
  for (const auto& m : parsed) {
    const auto r = add ? w.add(m, *type) : w.remove(m, *type);
    if (!r.ok) return text_reply(r.reason.find("stored") != std::string::npos ? 503 : 400, r.reason);
  }
  http_reply ok;
  ok.content_type = "text/plain";
  return ok;
}

http_reply watch_list_macs(request_ctx& ctx) {
  if (!ctx.svc.alerts) return no_engine();
  const auto type = watch_type(ctx.params.at(0));
  if (!type) return text_reply(400, "type must be found, lost or both");
  std::string body;
  {
    string_sink sink(body);
    json_writer w(sink);
    w.StartArray();
    for (const auto& e : ctx.svc.alerts->watch().list(*type)) {
      const auto s = e.mac.str();
      w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    }
    w.EndArray();
  }
  http_reply r;
  r.body = std::move(body);
  return r;
}

// /cluster/alerts.json: every live collector's alerts (their stored
// records, over NATS), in one list by time, each collector's own ids.
http_reply fleet_alerts(request_ctx& ctx) {
  if (!ctx.svc.cluster)
    return text_reply(404, "this collector is standalone: there is no cluster: section in its config (docs/cluster.md)");
  list_request req;
  http_reply err;
  if (!read_command(ctx, req, err)) return err;
  if (!ctx.svc.cluster->reachable()) return text_reply(503, ctx.svc.cluster->unreachable_why());
  auto stream = std::make_shared<deferred_stream>(4 << 20);
  auto refused = ctx.svc.cluster->gather_async(
      std::string(kFleetAlertsQuery), [stream, req = std::move(req)](cluster_node::gathered g) {
        if (!g.why.empty()) g.missing.emplace_back("", g.why);
        std::vector<alert> all;
        std::vector<fleet_share_info> answered;
        for (const auto& sh : g.answered) {
          std::uint64_t n = 0, damaged = 0;
          for (const auto& part : sh.parts) {
            // [length u32][record] ...
            std::size_t pos = 0;
            while (part.size() - pos >= 4) {
              std::uint32_t len = 0;
              std::memcpy(&len, part.data() + pos, 4);
              if (part.size() - pos - 4 < len) {
                ++damaged;
                break;
              }
              alert a;
              std::string why;
              if (decode_alert(std::string_view(part).substr(pos + 4, len), a, why)) all.push_back(std::move(a)), ++n;
              else ++damaged;
              pos += 4 + len;
            }
          }
          fleet_share_info i{sh.node, {{"alerts", n}}};
          if (damaged) i.counts.emplace_back("damaged_records", damaged);
          answered.push_back(std::move(i));
        }
        std::stable_sort(all.begin(), all.end(), [](const alert& x, const alert& y) { return x.ts_ns < y.ts_ns; });
        auto body = list_reply<alert, alert_writer>(out_format::json, req, all).body;
        stream->answer(fleet_head(answered, g.missing, {{"hopwire.cluster.alerts", all.size()}}, "kismet.alert.list") +
                       body + "}");
      });
  if (!refused.empty()) return text_reply(503, refused);
  http_reply r;
  r.stream = stream;
  return r;
}

}  // namespace

void serve_fleet_alerts(const alert_engine& alerts, const cluster_node::query_send& send) {
  std::string part;
  for (const auto& a : alerts.all()) {
    const std::string rec = encode_alert(a);
    const auto n = static_cast<std::uint32_t>(rec.size());
    char len[4];
    std::memcpy(len, &n, 4);
    part.append(len, 4);
    part += rec;
    if (part.size() >= cluster_node::kQueryPart) {
      send(part);
      part.clear();
    }
  }
  if (!part.empty()) send(part);
}

void add_alert_routes(route_table& t, api_context& api) {
  struct fmt_info {
    const char* suffix;
    out_format fmt;
  };
  static constexpr fmt_info kFormats[] = {
      {"json", out_format::json}, {"itjson", out_format::itjson}, {"ekjson", out_format::ekjson}};
  for (const auto& f : kFormats) {
    const auto fmt = f.fmt;
    for (const char* method : {"GET", "POST"}) {
      const std::size_t limit = std::string_view(method) == "POST" ? kCommandLimit : 0;
      add_route(t, api, method, std::string("/alerts/all_alerts.") + f.suffix, kReadRole,
                "Every alert kept (POST: fields, regex)", [fmt](request_ctx& c) { return all_alerts(c, fmt); }, limit);
      add_route(t, api, method, std::string("/alerts/last-time/{ts}/alerts.") + f.suffix, kReadRole,
                "Alerts raised after TS (sec.usec)", [fmt](request_ctx& c) { return last_time(c, fmt, false); }, limit);
      add_route(t, api, method, std::string("/alerts/definitions.") + f.suffix, kReadRole, "Alert definitions",
                [fmt](request_ctx& c) { return definitions(c, fmt); }, limit);
    }
  }
  for (const char* method : {"GET", "POST"}) {
    const std::size_t limit = std::string_view(method) == "POST" ? kCommandLimit : 0;
    add_route(t, api, method, "/alerts/wrapped/last-time/{ts}/alerts.json", kReadRole,
              "Alerts raised after TS, with the server's time", [](request_ctx& c) { return last_time(c, out_format::json, true); },
              limit);
    add_route(t, api, method, "/alerts/by-id/{id}/alert.json", kReadRole, "One alert by id (or Kismet's hash)", by_id,
              limit);
  }
  add_route(t, api, "POST", "/alerts/definitions/define_alert.cmd", kAdminOnly,
            "Define an alert (name, description, class, severity, throttle, burst)", define_alert, kCommandLimit);
  add_route(t, api, "GET", "/cluster/alerts.json", kReadRole,
            "Cluster mode: every live collector's alerts in one list by time (POST: fields, regex)", fleet_alerts);
  add_route(t, api, "POST", "/cluster/alerts.json", kReadRole,
            "Cluster mode: every live collector's alerts in one list by time (POST: fields, regex)", fleet_alerts,
            kCommandLimit);
  add_route(t, api, "POST", "/alerts/raise_alerts.cmd", kAdminOnly,
            "Raise a defined alert (name, text, bssid, source, dest, other, channel)", raise_alert, kCommandLimit);
  add_route(t, api, "POST", "/alerts/raise_alert.cmd", kAdminOnly, "Raise a defined alert (as raise_alerts.cmd)",
            raise_alert, kCommandLimit);
  add_route(t, api, "POST", "/alerts/by-id/{id}/acknowledge.cmd", kAdminOnly,
            "Acknowledge an alert ({\"acknowledged\": false} clears it)", acknowledge, kCommandLimit);
  add_route(t, api, "POST", "/devices/alerts/mac/{type}/add.cmd", kAdminOnly,
            "Watch MACs (mac or macs; masks allowed) for DEVICEFOUND / DEVICELOST",
            [](request_ctx& c) { return watch_change(c, true); }, kCommandLimit);
  add_route(t, api, "POST", "/devices/alerts/mac/{type}/remove.cmd", kAdminOnly, "Stop watching MACs",
            [](request_ctx& c) { return watch_change(c, false); }, kCommandLimit);
  add_route(t, api, "GET", "/devices/alerts/mac/{type}/macs.json", kReadRole, "Watched MACs of a type", watch_list_macs);
}

}  // namespace hopwire::collector

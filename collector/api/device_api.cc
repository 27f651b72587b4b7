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
#include "collector/track/device_tracker.h"
#include "collector/api/ek_writer.h"
#include "collector/api/json_limits.h"
#include "common/clock.h"
#include "common/log.h"

namespace hopwire::collector {

namespace {

enum class out_format { json, itjson, ekjson };

// One requested field: a '/'-separated path and the name it is output as.
struct field_spec {
  std::vector<std::string> path;
  std::string name;
};

// User patterns run on RE2: linear in the text, whatever the pattern, so no
// request can make the collector backtrack for ever.
struct regex_term {
  std::vector<std::string> path;
  std::shared_ptr<const re2::RE2> re;
};

constexpr std::size_t kMaxFields = 256;
constexpr std::size_t kMaxRegexTerms = 16;
constexpr std::size_t kMaxPatternBytes = 1024;
constexpr std::int64_t kRe2MemoryBytes = 1 << 20;  // per compiled pattern

// The command dictionary of a POST, as Kismet takes it.
struct list_request {
  std::vector<field_spec> fields;
  std::vector<regex_term> regex;
  std::size_t start = 0;
  std::optional<std::size_t> length;
  std::vector<mac_addr> macs;  // multimac
};

std::vector<std::string> split_path(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    const auto slash = s.find('/');
    out.emplace_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return out;
}

// Reads the JSON command from the body: raw JSON, or Kismet's form field
// json=... . An empty body is an empty command.
bool parse_command(const request_ctx& ctx, rapidjson::Document& doc, std::string& why) {
  const auto text = command_text(ctx);
  if (!text) {
    why = kNoJsonField;
    return false;
  }
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
    doc.SetObject();
    return true;
  }
  if (!parse_untrusted_json(*text, doc, why)) {
    why = "command: " + why;
    return false;
  }
  if (!doc.IsObject()) {
    why = "command must be a JSON object";
    return false;
  }
  return true;
}

bool read_list_request(const rapidjson::Document& doc, list_request& req, std::string& why) {
  if (auto it = doc.FindMember("fields"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) {
      why = "fields: expected an array of field names or [field, alias] pairs";
      return false;
    }
    if (it->value.Size() > kMaxFields) {
      why = "fields: " + std::to_string(it->value.Size()) + " entries exceed the limit of " +
            std::to_string(kMaxFields);
      return false;
    }
    for (const auto& f : it->value.GetArray()) {
      field_spec spec;
      if (f.IsString()) {
        spec.path = split_path(f.GetString());
        spec.name = spec.path.back();
      } else if (f.IsArray() && f.Size() == 2 && f[0].IsString() && f[1].IsString()) {
        spec.path = split_path(f[0].GetString());
        spec.name = f[1].GetString();
      } else {
        why = "fields: each entry must be a field name or a [field, alias] pair";
        return false;
      }
      req.fields.push_back(std::move(spec));
    }
  }
  if (auto it = doc.FindMember("regex"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) {
      why = "regex: expected an array of [field, pattern] pairs";
      return false;
    }
    if (it->value.Size() > kMaxRegexTerms) {
      why = "regex: " + std::to_string(it->value.Size()) + " terms exceed the limit of " +
            std::to_string(kMaxRegexTerms);
      return false;
    }
    for (const auto& r : it->value.GetArray()) {
      if (!r.IsArray() || r.Size() != 2 || !r[0].IsString() || !r[1].IsString()) {
        why = "regex: each entry must be a [field, pattern] pair of strings";
        return false;
      }
      const std::string_view pattern(r[1].GetString(), r[1].GetStringLength());
      if (pattern.size() > kMaxPatternBytes) {
        why = "regex: pattern of " + std::to_string(pattern.size()) + " bytes exceeds the limit of " +
              std::to_string(kMaxPatternBytes) + " bytes";
        return false;
      }
      re2::RE2::Options o;
      o.set_log_errors(false);
      o.set_max_mem(kRe2MemoryBytes);
      auto re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
      if (!re->ok()) {
        why = "regex: bad pattern '" + std::string(pattern.substr(0, 64)) + (pattern.size() > 64 ? "...'" : "'") +
              ": " + re->error() +
              " (patterns use RE2 syntax: no backreferences or lookaround; see docs/devices.md)";
        return false;
      }
      req.regex.push_back({split_path(r[0].GetString()), std::move(re)});
    }
  }
  auto read_size = [&](const char* name, std::size_t& out) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd()) return true;
    if (it->value.IsUint64()) {
      out = static_cast<std::size_t>(it->value.GetUint64());
      return true;
    }
    // Kismet's clients send numbers as strings too: digits only (std::stoull
    // would take "-1" and wrap it).
    if (it->value.IsString()) {
      const std::string_view s(it->value.GetString(), it->value.GetStringLength());
      std::uint64_t v = 0;
      bool ok = !s.empty() && s.size() <= 18;
      for (const char c : s) {
        if (c < '0' || c > '9') ok = false;
        else v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (ok) {
        out = static_cast<std::size_t>(v);
        return true;
      }
    }
    why = std::string(name) + ": expected a non-negative integer";
    return false;
  };
  if (!read_size("start", req.start)) return false;
  if (doc.HasMember("length")) {
    std::size_t n = 0;
    if (!read_size("length", n)) return false;
    req.length = n;
  }
  if (auto it = doc.FindMember("devices"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) {
      why = "devices: expected an array of MAC addresses";
      return false;
    }
    for (const auto& m : it->value.GetArray()) {
      auto mac = m.IsString() ? mac_addr::parse(m.GetString()) : std::nullopt;
      if (!mac) {
        why = "devices: each entry must be a MAC address like AA:BB:CC:DD:EE:FF";
        return false;
      }
      req.macs.push_back(*mac);
    }
  }
  return true;
}

// Resolves a path through nested objects; nullptr when any step is missing.
const rapidjson::Value* resolve(const rapidjson::Value& v, const std::vector<std::string>& path) {
  const rapidjson::Value* cur = &v;
  for (const auto& step : path) {
    if (!cur->IsObject()) return nullptr;
    auto it = cur->FindMember(rapidjson::StringRef(step.data(), step.size()));
    if (it == cur->MemberEnd()) return nullptr;
    cur = &it->value;
  }
  return cur;
}

// Like resolve(), but an array or object in the middle of the path is
// searched element by element: regex on "dot11.device/
// dot11.device.advertised_ssid_map/dot11.advertisedssid.ssid" matches any
// SSID of the device.
bool any_match(const rapidjson::Value& v, const std::vector<std::string>& path, std::size_t i, const re2::RE2& re) {
  if (i == path.size())
    return v.IsString() && re2::RE2::PartialMatch(re2::StringPiece(v.GetString(), v.GetStringLength()), re);
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (any_match(e, path, i, re)) return true;
    return false;
  }
  if (!v.IsObject()) return false;
  auto it = v.FindMember(rapidjson::StringRef(path[i].data(), path[i].size()));
  if (it != v.MemberEnd()) return any_match(it->value, path, i + 1, re);
  // A map keyed by MAC (client_map): look inside each value.
  for (const auto& m : v.GetObject())
    if (m.value.IsObject() && m.value.HasMember(rapidjson::StringRef(path[i].data(), path[i].size())) &&
        any_match(m.value, path, i, re))
      return true;
  return false;
}

template <typename H>
void emit_value(H& h, const rapidjson::Value& v) {
  v.Accept(h);
}

// Writes devices in the requested format, applying regex, fields and the
// start/length window.
class device_output {
 public:
  device_output(out_format fmt, const list_request& req, const device_tracker& t, std::string& body)
      : fmt_(fmt), req_(req), t_(t), sink_(body), json_(sink_), ek_(sink_) {}

  void begin() {
    if (fmt_ == out_format::json) json_.StartArray();
  }
  void end() {
    if (fmt_ == out_format::json) json_.EndArray();
    finish();
  }
  // Everything written so far is in the body.
  void finish() { sink_.Flush(); }
  // For wrapping the list in an object (last-time); json format only.
  json_writer& writer() { return json_; }

  // The window (start, length) is full: no later device can be written.
  bool window_full() const { return req_.length && seen_ >= req_.start + *req_.length; }

  void add(const device& d) {
    const bool simple = req_.fields.empty() && req_.regex.empty();
    if (simple) {
      if (!in_window()) return;
      if (fmt_ == out_format::ekjson) {
        write_device(ek_, d, t_);
        ek_.Reset(sink_);
      } else {
        write_device(json_, d, t_);
        if (fmt_ == out_format::itjson) json_.Reset(sink_);
      }
      if (fmt_ != out_format::json) sink_.Put('\n');
      return;
    }
    rapidjson::Document doc;
    struct gen {
      const device& d;
      const device_tracker& t;
      bool operator()(rapidjson::Document& doc) {
        doc_builder b(doc);
        write_device(b, d, t);
        return true;
      }
    } g{d, t_};
    doc.Populate(g);
    if (!req_.regex.empty()) {
      bool hit = false;
      for (const auto& term : req_.regex)
        if (any_match(doc, term.path, 0, *term.re)) {
          hit = true;
          break;
        }
      if (!hit) return;
    }
    if (!in_window()) return;
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
  bool in_window() {
    const auto i = seen_++;
    if (i < req_.start) return false;
    return !req_.length || i - req_.start < *req_.length;
  }
  template <typename H>
  void emit(H& h, const rapidjson::Document& doc) {
    if (req_.fields.empty()) {
      doc.Accept(h);
      return;
    }
    h.StartObject();
    for (const auto& f : req_.fields) {
      h.Key(f.name.data(), static_cast<rapidjson::SizeType>(f.name.size()), true);
      if (const auto* v = resolve(doc, f.path)) v->Accept(h);
      else h.Uint(0);  // Kismet answers 0 for fields it does not have
    }
    h.EndObject();
  }

  out_format fmt_;
  const list_request& req_;
  const device_tracker& t_;
  string_sink sink_;
  json_writer json_;
  ek_writer ek_;
  std::size_t seen_ = 0;
};

// A device list written while the tracker is read, a few devices per pull:
// memory stays at a chunk however many devices there are, ingest is held
// back for microseconds at a time, and the work stops when the client goes.
class device_list_stream final : public body_stream {
 public:
  enum class wrap { none, last_time };

  device_list_stream(out_format fmt, list_request req, device_tracker::reader reader, const device_tracker& t,
                     bool aps_only, wrap w, std::uint64_t now_s)
      : req_(std::move(req)), reader_(std::move(reader)), aps_only_(aps_only), wrap_(w),
        out_(fmt, req_, t, buf_), json_(fmt == out_format::json) {
    if (wrap_ == wrap::last_time && json_) {
      auto& w = out_.writer();
      w.StartObject();
      w.Key("kismet.devicelist.refresh");
      w.Uint(1);
      w.Key("kismet.devicelist.timestamp");
      w.Uint64(now_s);
      w.Key("kismet.device.list");
    }
    out_.begin();
  }

  bool pull(std::string& out, std::size_t max, std::function<void()>) override {
    const auto t0 = std::chrono::steady_clock::now();
    while (buf_.size() - head_ < max && !done_) {
      const auto n = out_.window_full() ? 0 : reader_.next(copies_, kCopies);
      if (n == 0) {
        out_.end();
        if (wrap_ == wrap::last_time && json_) out_.writer().EndObject();
        out_.finish();
        done_ = true;
        break;
      }
      for (std::size_t i = 0; i < n; ++i)
        if (!aps_only_ || (copies_[i].types & kTypeAp)) out_.add(copies_[i]);
      out_.finish();
    }
    spent_ += std::chrono::steady_clock::now() - t0;
    if (spent_ > kWorkBudget && !done_) {
      // Linear-time patterns keep this far away; it bounds what one request
      // can take from the network threads all the same.
      spdlog::warn("device list stopped after {} s of work (the budget per request)",
                   std::chrono::duration_cast<std::chrono::seconds>(kWorkBudget).count());
      done_ = true;
      buf_.resize(head_);
    }
    const auto take = std::min(max, buf_.size() - head_);
    out.append(buf_, head_, take);
    head_ += take;
    if (head_ == buf_.size()) {
      buf_.clear();
      head_ = 0;
    }
    return !(done_ && head_ == buf_.size());
  }
  void delivered(std::size_t) override {}
  void close() override { done_ = true; }
  std::size_t memory_bound() const override { return kMemoryBound; }

 private:
  static constexpr std::size_t kCopies = 16;
  static constexpr std::size_t kMemoryBound = 256 * 1024;
  static constexpr auto kWorkBudget = std::chrono::seconds(120);

  list_request req_;
  device_tracker::reader reader_;
  bool aps_only_;
  wrap wrap_;
  std::string buf_;
  std::size_t head_ = 0;
  device_output out_;
  bool json_;
  bool done_ = false;
  device copies_[kCopies];
  std::chrono::steady_clock::duration spent_{};
};

http_reply no_tracker() { return text_reply(503, "device tracking is not running"); }

const char* content_type(out_format f) {
  return f == out_format::json ? "application/json" : "application/x-ndjson";
}

// Shared front half of every list handler: parse the command (POST) and
// prepare the reply.
bool prepare(request_ctx& ctx, list_request& req, http_reply& err) {
  if (!ctx.svc.tracker) {
    err = no_tracker();
    return false;
  }
  if (ctx.method != "POST") return true;
  rapidjson::Document doc;
  std::string why;
  if (!parse_command(ctx, doc, why) || !read_list_request(doc, req, why)) {
    err = text_reply(400, why);
    return false;
  }
  return true;
}

http_reply streamed(out_format fmt, list_request req, device_tracker::reader reader, const device_tracker& t,
                    bool aps_only = false, device_list_stream::wrap w = device_list_stream::wrap::none,
                    std::uint64_t now_s = 0) {
  http_reply reply;
  reply.content_type = content_type(fmt);
  reply.stream = std::make_shared<device_list_stream>(fmt, std::move(req), std::move(reader), t, aps_only, w, now_s);
  return reply;
}

http_reply list_view(request_ctx& ctx, out_format fmt, bool aps_only) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  const auto& t = *ctx.svc.tracker;
  return streamed(fmt, std::move(req), t.read_all(), t, aps_only);
}

http_reply last_time(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply reply;
  if (!prepare(ctx, req, reply)) return reply;
  std::int64_t ts = 0;
  const auto& tv = ctx.params.at(0);
  const auto [end, ec] = std::from_chars(tv.data(), tv.data() + tv.size(), ts);
  if (ec != std::errc() || end != tv.data() + tv.size())
    return text_reply(400, "timestamp must be an integer: seconds since the epoch, or negative for seconds ago");
  const auto now_ns = wall_ns();
  const std::int64_t now_s = static_cast<std::int64_t>(now_ns / 1000000000ull);
  const std::int64_t since = ts < 0 ? now_s + ts : ts;
  const std::uint64_t since_ns = since <= 0 ? 0 : static_cast<std::uint64_t>(since) * 1000000000ull;
  const auto& t = *ctx.svc.tracker;
  reply = streamed(fmt, std::move(req), t.read_changed_since(since_ns), t, false, device_list_stream::wrap::last_time,
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
      for (const auto& l : d.wifi->clients) clients.push_back(l.peer);
  });
  if (!found) return text_reply(404, "no device with key " + ctx.params.at(0));
  return by_macs(ctx, fmt, clients, req);
}

}  // namespace

void add_device_routes(route_table& t, api_context& api) {
  constexpr std::size_t kListCommandLimit = 1024 * 1024;
  struct fmt_info {
    const char* suffix;
    out_format fmt;
  };
  static constexpr fmt_info kFormats[] = {
      {"json", out_format::json}, {"itjson", out_format::itjson}, {"ekjson", out_format::ekjson}};
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

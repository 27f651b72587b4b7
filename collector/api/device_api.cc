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
#include "collector/api/list_request.h"
#include "common/clock.h"
#include "common/log.h"

namespace hopwire::collector {

namespace {

enum class out_format { json, itjson, ekjson };

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
      if (!emit_path(h, doc, f.path, 0)) h.Uint(0);  // Kismet answers 0 for fields it does not have
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

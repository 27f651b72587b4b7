// Kismet's /devices/monitor.ws: a client asks to watch a device (by key or
// MAC) or every device ("*") at a rate in seconds, with the fields
// simplification, and gets one text message per device that changed since
// the last look. {"monitor": ..., "request": ID, "rate": S, "fields": [...]}
// starts (or replaces) a watch; {"cancel": ID} ends it.
#include <map>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/device_json.h"
#include "collector/api/ek_writer.h"
#include "collector/api/json_limits.h"
#include "collector/api/list_request.h"
#include "collector/api/routes_all.h"
#include "collector/track/device_tracker.h"
#include "common/clock.h"

namespace hopwire::collector {

namespace {

constexpr std::size_t kMaxWatches = 64;
constexpr std::size_t kDevicesPerTick = 5000;      // a "*" watch sends at most this many a look
constexpr std::size_t kQueueHighWater = 4u << 20;  // beyond: skip this look, say so

class device_monitor final : public message_handler {
 public:
  device_monitor(api_context& api, message_io io) : api_(api), io_(std::move(io)) {}

  bool on_message(std::span<const std::uint8_t> msg, bool binary) override {
    if (binary) return false;  // Kismet closes on a binary frame
    rapidjson::Document d;
    std::string why;
    if (!parse_untrusted_json({reinterpret_cast<const char*>(msg.data()), msg.size()}, d, why) || !d.IsObject())
      return error(why.empty() ? "expected a JSON object" : why);
    if (auto it = d.FindMember("cancel"); it != d.MemberEnd()) {
      if (!it->value.IsUint64()) return error("cancel: expected a request id");
      watches_.erase(it->value.GetUint64());
      return true;
    }
    auto target = d.FindMember("monitor"), req = d.FindMember("request"), rate = d.FindMember("rate");
    if (target == d.MemberEnd() || !target->value.IsString()) return error("monitor: expected a device key, a MAC or \"*\"");
    if (req == d.MemberEnd() || !req->value.IsUint64()) return error("request: expected a number naming this watch");
    if (rate == d.MemberEnd() || !rate->value.IsUint64() || rate->value.GetUint64() == 0 || rate->value.GetUint64() > 3600)
      return error("rate: expected whole seconds between looks, 1 to 3600");
    watch w;
    const std::string t = target->value.GetString();
    if (t != "*") {
      auto mac = parse_device_key(t);
      if (!mac) mac = mac_addr::parse(t);
      if (!mac) return error("monitor: '" + t + "' is not a device key, a MAC or \"*\"");
      w.mac = *mac;
      w.one = true;
    }
    list_request lr;
    if (!read_list_request(d, lr, why)) return error(why);
    w.fields = std::move(lr.fields);
    w.rate_s = rate->value.GetUint64();
    w.since_ns = 0;  // the first look sends everything it watches
    if (watches_.size() >= kMaxWatches && !watches_.count(req->value.GetUint64()))
      return error("at most 64 watches on one socket");
    watches_[req->value.GetUint64()] = std::move(w);
    return true;
  }

  bool on_tick() override {
    if (!api_.tracker) return true;
    const auto now = wall_ns();
    for (auto& [id, w] : watches_) {
      if (++w.ticks < w.rate_s) continue;
      w.ticks = 0;
      if (io_.queued_bytes() > kQueueHighWater) {
        ++w.skipped;  // the client reads slower than it asked for: this look is skipped
        continue;
      }
      look(w);
      w.since_ns = now;
    }
    return true;
  }
  void refuse(refusal, std::size_t) override {}
  std::size_t max_message_bytes() const override { return 64 * 1024; }

 private:
  struct watch {
    bool one = false;
    mac_addr mac;
    std::vector<field_spec> fields;
    std::uint64_t rate_s = 1, ticks = 0, since_ns = 0, skipped = 0;
  };

  void send_device(const device& d, const watch& w) {
    std::string full;
    {
      string_sink sink(full);
      json_writer jw(sink);
      write_device(jw, d, *api_.tracker);
    }
    rapidjson::Document doc;
    std::string why;
    if (!parse_untrusted_json(full, doc, why, 64)) return;
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> ow(out);
    write_simplified(ow, doc, w.fields);
    io_.send({reinterpret_cast<const std::uint8_t*>(out.GetString()), out.GetSize()}, false);
  }

  void look(const watch& w) {
    const auto& t = *api_.tracker;
    if (w.one) {
      device copy;
      bool changed = false;
      t.visit(w.mac, [&](const device& d) {
        if (d.mod_ns >= w.since_ns) {
          copy = d;
          changed = true;
        }
      });
      if (changed) send_device(copy, w);
      return;
    }
    auto r = t.read_changed_since(w.since_ns);
    device copies[16];
    std::size_t sent = 0;
    while (const auto n = r.next(copies, 16)) {
      for (std::size_t i = 0; i < n && sent < kDevicesPerTick; ++i, ++sent) send_device(copies[i], w);
      if (sent >= kDevicesPerTick) break;
    }
  }

  bool error(const std::string& why) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    w.StartObject();
    w.Key("hopwire.monitor.error");
    w.String(why.c_str(), static_cast<rapidjson::SizeType>(why.size()));
    w.EndObject();
    io_.send({reinterpret_cast<const std::uint8_t*>(b.GetString()), b.GetSize()}, false);
    return true;
  }

  api_context& api_;
  message_io io_;
  std::map<std::uint64_t, watch> watches_;
};

}  // namespace

message_handler_factory device_monitor_factory(api_context& api) {
  return [&api](const connection_info&, message_io io) -> std::unique_ptr<message_handler> {
    return std::make_unique<device_monitor>(api, std::move(io));
  };
}

}  // namespace hopwire::collector

#include "collector/api/eventbus.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <unordered_map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/device_json.h"
#include "collector/api/ek_writer.h"
#include "collector/api/json_limits.h"
#include "collector/api/list_request.h"
#include "collector/api/routes_all.h"
#include "collector/cluster/cluster_node.h"
#include "collector/track/device_tracker.h"
#include "common/clock.h"
#include "common/log.h"

namespace hopwire::collector {

namespace {

// What one subscriber may have on its way at once: beyond it, events are
// dropped for it (and counted) until it catches up.
constexpr std::size_t kBacklogBytes = 2 * 1024 * 1024;
// Its session's own queue: above this, deliveries are dropped before the
// session would cut the link for not reading.
constexpr std::size_t kSessionQueueBytes = 4 * 1024 * 1024;
// Publishers' queue into the dispatcher.
constexpr std::size_t kQueueLimit = 65536;
// DEVICE_CHANGED: at most this many devices a message.
constexpr std::size_t kChangedPerMessage = 2000;

using json_buffer = rapidjson::StringBuffer;
using writer = rapidjson::Writer<json_buffer>;

std::string device_json(const device_tracker& t, mac_addr mac) {
  std::string out;
  t.visit(mac, [&](const device& d) {
    string_sink sink(out);
    json_writer w(sink);
    write_device(w, d, t);
  });
  return out;
}

}  // namespace

// A subscriber's side of the bus: what it subscribed to (with fields), its
// session's I/O, and its backlog. Shared between its session (the handler)
// and the dispatcher, which may outlive one another by a moment.
class event_bus::subscriber : public std::enable_shared_from_this<subscriber> {
 public:
  subscriber(event_bus& bus, message_io io) : bus_(bus), io_(std::move(io)) {}

  // The subscriber's fields for `topic`, if it wants it (a "*" subscription
  // counts); `fields` empty means the whole value.
  bool wants(const std::string& topic, std::vector<field_spec>& fields) const {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) it = topics_.find("*");
    if (it == topics_.end()) return false;
    fields = it->second;
    return true;
  }

  void subscribe(const std::string& topic, std::vector<field_spec> fields) {
    std::lock_guard lock(mu_);
    topics_[topic] = std::move(fields);
  }
  void unsubscribe(const std::string& topic) {
    std::lock_guard lock(mu_);
    topics_.erase(topic);
  }
  bool any() const {
    std::lock_guard lock(mu_);
    return !topics_.empty();
  }

  // From the dispatcher thread.
  void offer(std::shared_ptr<const std::string> text) {
    const std::size_t n = text->size();
    if (backlog_.load(std::memory_order_relaxed) + n > kBacklogBytes) return drop();
    backlog_.fetch_add(n, std::memory_order_relaxed);
    io_.post([self = shared_from_this(), text = std::move(text), n] {
      self->backlog_.fetch_sub(n, std::memory_order_relaxed);
      if (self->io_.queued_bytes() > kSessionQueueBytes) return self->drop();
      if (const auto lost = self->untold_.exchange(0)) self->tell_dropped(lost);
      self->io_.send({reinterpret_cast<const std::uint8_t*>(text->data()), text->size()}, false);
      self->bus_.delivered_.fetch_add(1, std::memory_order_relaxed);
    });
  }

  // On the session's strand.
  void reply(const std::string& text) {
    io_.send({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, false);
  }

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void drop() {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    untold_.fetch_add(1, std::memory_order_relaxed);
    bus_.dropped_.fetch_add(1, std::memory_order_relaxed);
  }
  void tell_dropped(std::uint64_t n) {
    json_buffer b;
    writer w(b);
    w.StartObject();
    w.Key("EVENTBUS_DROPPED");
    w.StartObject();
    w.Key("hopwire.eventbus.dropped");
    w.Uint64(n);
    w.Key("hopwire.eventbus.dropped_total");
    w.Uint64(dropped());
    w.Key("hopwire.eventbus.why");
    w.String("this client read too slowly; the events were dropped for it alone");
    w.EndObject();
    w.EndObject();
    io_.send({reinterpret_cast<const std::uint8_t*>(b.GetString()), b.GetSize()}, false);
  }

  event_bus& bus_;
  message_io io_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<field_spec>> topics_;
  std::atomic<std::size_t> backlog_{0};
  std::atomic<std::uint64_t> dropped_{0}, untold_{0};
};

namespace {

// The WebSocket conversation of one subscriber.
class eventbus_session final : public message_handler {
 public:
  eventbus_session(std::shared_ptr<event_bus::subscriber> s, std::function<void()> gone)
      : s_(std::move(s)), gone_(std::move(gone)) {}
  ~eventbus_session() override { gone_(); }

  bool on_message(std::span<const std::uint8_t> msg, bool binary) override {
    if (binary) {
      s_->reply(R"({"hopwire.eventbus.error": "the event bus takes text frames of JSON; closing"})");
      return false;
    }
    rapidjson::Document d;
    std::string why;
    const std::string_view text(reinterpret_cast<const char*>(msg.data()), msg.size());
    if (!parse_untrusted_json(text, d, why) || !d.IsObject()) {
      return error(why.empty() ? "expected a JSON object such as {\"SUBSCRIBE\": \"ALERT\"}" : why);
    }
    if (auto it = d.FindMember("SUBSCRIBE"); it != d.MemberEnd()) {
      if (!it->value.IsString()) return error("SUBSCRIBE: expected a topic name");
      list_request req;
      if (!read_list_request(d, req, why)) return error(why);
      s_->subscribe(it->value.GetString(), std::move(req.fields));
    }
    if (auto it = d.FindMember("UNSUBSCRIBE"); it != d.MemberEnd()) {
      if (!it->value.IsString()) return error("UNSUBSCRIBE: expected a topic name");
      s_->unsubscribe(it->value.GetString());
    }
    return true;
  }
  bool on_tick() override { return true; }
  void refuse(refusal, std::size_t) override {
    s_->reply(R"j({"hopwire.eventbus.error": "message too large (at most 64 KiB)"})j");
  }
  std::size_t max_message_bytes() const override { return 64 * 1024; }

 private:
  bool error(const std::string& why) {
    json_buffer b;
    writer w(b);
    w.StartObject();
    w.Key("hopwire.eventbus.error");
    w.String(why.c_str(), static_cast<rapidjson::SizeType>(why.size()));
    w.EndObject();
    s_->reply(std::string(b.GetString(), b.GetSize()));
    return true;  // Kismet ignores what it cannot read; so do we, but we say so
  }

  std::shared_ptr<event_bus::subscriber> s_;
  std::function<void()> gone_;
};

std::string fields_key(const std::vector<field_spec>& fields) {
  std::string k;
  for (const auto& f : fields) {
    for (const auto& p : f.path) k += p + "/";
    k += "=" + f.name + ";";
  }
  return k;
}

}  // namespace

event_bus::event_bus(api_context& api) : api_(api) {}

event_bus::~event_bus() { stop(); }

void event_bus::start() {
  {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
  }
  if (api_.cluster) {
    // The other collectors' events, for this one's subscribers: one
    // subscription, filtered per subscriber like local events. (Made
    // outside mu_: its handler takes mu_.)
    api_.cluster->subscribe("hopwire.events.>", [this](const char* data, int len) { on_remote(data, len); });
  }
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  last_changed_ns_ = wall_ns();
  thread_ = std::thread([this] { run(); });
}

void event_bus::stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

message_handler_factory event_bus::factory() {
  return [this](const connection_info&, message_io io) -> std::unique_ptr<message_handler> {
    auto s = std::make_shared<subscriber>(*this, std::move(io));
    add(s);
    const subscriber* raw = s.get();
    return std::make_unique<eventbus_session>(std::move(s), [this, raw] { remove(raw); });
  };
}

void event_bus::add(std::shared_ptr<subscriber> s) {
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  nsubs_.store(subs_.size(), std::memory_order_relaxed);
}

void event_bus::remove(const subscriber* s) {
  std::lock_guard lock(mu_);
  std::erase_if(subs_, [s](const std::weak_ptr<subscriber>& w) {
    auto p = w.lock();
    return !p || p.get() == s;
  });
  nsubs_.store(subs_.size(), std::memory_order_relaxed);
}

event_bus::counters event_bus::stats() const {
  counters c;
  {
    std::lock_guard lock(mu_);
    c.subscribers = subs_.size();
  }
  c.published = published_.load();
  c.delivered = delivered_.load();
  c.dropped = dropped_.load();
  c.queue_overflow = overflow_.load();
  return c;
}

void event_bus::on_event(const tracker_event& e) {
  // Called under a tracker shard lock on an ingest thread: nobody
  // listening costs a lock-free look; otherwise a copy into the queue.
  if (nsubs_.load(std::memory_order_relaxed) == 0 && !remote_wants_.load(std::memory_order_relaxed)) return;
  std::unique_lock lock(mu_);
  if (queue_.size() >= kQueueLimit) {
    overflow_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pending& p = queue_.emplace_back();
  p.ev = e;
  p.ssid.assign(e.ssid);
  p.ev.ssid = {};
  p.from_tracker = true;
  lock.unlock();
  cv_.notify_one();
}

void event_bus::publish_message(const bus_message& m) {
  json_buffer b;
  writer w(b);
  w.StartObject();
  w.Key("kismet.messagebus.message_string");
  w.String(m.text.data(), static_cast<rapidjson::SizeType>(m.text.size()));
  w.Key("kismet.messagebus.message_flags");
  w.Uint(m.flags);
  w.Key("kismet.messagebus.message_time");
  w.Uint64(m.time_ns / 1000000000ull);
  w.EndObject();
  publish_json("MESSAGE", std::string(b.GetString(), b.GetSize()));
}

void event_bus::publish_json(std::string topic, std::string value_json) {
  if (nsubs_.load(std::memory_order_relaxed) == 0 && !remote_wants_.load(std::memory_order_relaxed)) return;
  std::unique_lock lock(mu_);
  if (queue_.size() >= kQueueLimit) {
    overflow_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pending& p = queue_.emplace_back();
  p.topic = std::move(topic);
  p.json = std::move(value_json);
  lock.unlock();
  cv_.notify_one();
}

void event_bus::run() {
  std::unique_lock lock(mu_);
  auto next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!stop_) {
    cv_.wait_until(lock, next_tick, [this] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    std::deque<pending> work;
    work.swap(queue_);
    lock.unlock();
    for (auto& p : work) dispatch(p);
    if (std::chrono::steady_clock::now() >= next_tick) {
      tick(wall_ns());
      next_tick += std::chrono::seconds(1);
      if (next_tick < std::chrono::steady_clock::now()) next_tick = std::chrono::steady_clock::now();
    }
    lock.lock();
  }
}

// An event between collectors: node, topic, then key and JSON value pairs,
// each ending in a NUL (JSON text holds none: rapidjson escapes control
// characters).
namespace {

std::string encode_remote(const std::string& node, const std::string& topic,
                          const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out = node;
  out.push_back('\0');
  out += topic;
  out.push_back('\0');
  for (const auto& [k, v] : values) {
    out += k;
    out.push_back('\0');
    out += v;
    out.push_back('\0');
  }
  return out;
}

// Topics that stay where they happen: each collector's own clock and
// packet rates, and its own changed-device digest.
bool local_only(const std::string& topic) {
  return topic == "TIMESTAMP" || topic == "PACKETCHAIN_STATS" || topic == "DEVICE_CHANGED";
}

}  // namespace

void event_bus::on_remote(const char* data, int len) {
  std::vector<std::string> parts;
  const char* end = data + len;
  for (const char* p = data; p < end;) {
    const char* z = static_cast<const char*>(std::memchr(p, '\0', static_cast<std::size_t>(end - p)));
    if (!z) return;  // not ours: every part ends in a NUL
    parts.emplace_back(p, z);
    p = z + 1;
  }
  if (parts.size() < 4 || parts.size() % 2 || local_only(parts[1])) return;
  if (nsubs_.load(std::memory_order_relaxed) == 0) return;
  std::unique_lock lock(mu_);
  if (queue_.size() >= kQueueLimit) {
    overflow_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pending& q = queue_.emplace_back();
  q.topic = std::move(parts[1]);
  for (std::size_t i = 2; i + 1 < parts.size(); i += 2) q.remote.emplace_back(std::move(parts[i]), std::move(parts[i + 1]));
  lock.unlock();
  cv_.notify_one();
}

void event_bus::fan_out(const std::string& topic, const std::vector<std::pair<std::string, std::string>>& values,
                        bool share) {
  if (share && api_.cluster && remote_wants_.load(std::memory_order_relaxed) && !local_only(topic))
    api_.cluster->publish("hopwire.events." + topic, encode_remote(api_.cluster->node_id(), topic, values));
  std::vector<std::shared_ptr<subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    for (const auto& w : subs_)
      if (auto s = w.lock()) subs.push_back(std::move(s));
  }
  // Parsed once, written once per distinct fields list.
  std::vector<rapidjson::Document> docs;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> texts;
  for (const auto& s : subs) {
    std::vector<field_spec> fields;
    if (!s->wants(topic, fields)) continue;
    const auto key = fields_key(fields);
    auto it = texts.find(key);
    if (it == texts.end()) {
      if (docs.empty()) {
        docs.resize(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
          std::string why;
          parse_untrusted_json(values[i].second, docs[i], why, 64);
        }
      }
      json_buffer b;
      writer w(b);
      w.StartObject();
      for (std::size_t i = 0; i < values.size(); ++i) {
        w.Key(values[i].first.data(), static_cast<rapidjson::SizeType>(values[i].first.size()));
        write_simplified(w, docs[i], fields);
      }
      w.EndObject();
      it = texts.emplace(key, std::make_shared<const std::string>(b.GetString(), b.GetSize())).first;
    }
    s->offer(it->second);
  }
  published_.fetch_add(1, std::memory_order_relaxed);
}

void event_bus::dispatch(pending& p) {
  if (!p.remote.empty()) return fan_out(p.topic, p.remote, false);
  if (!p.from_tracker) return fan_out(p.topic, {{p.topic, std::move(p.json)}});
  const auto& e = p.ev;
  const auto* t = api_.tracker;
  switch (e.kind) {
    case event_kind::new_device:
      if (t) fan_out("NEW_DEVICE", {{"NEW_DEVICE", device_json(*t, e.device)}});
      return;
    case event_kind::advertised_ssid:
    case event_kind::responded_ssid:
    case event_kind::probed_ssid: {
      if (!t) return;
      const bool beacon = e.kind == event_kind::advertised_ssid;
      const char* topic = e.kind == event_kind::advertised_ssid   ? "DOT11_ADVERTISED_SSID"
                          : e.kind == event_kind::responded_ssid ? "DOT11_RESPONSE_SSID"
                                                                  : "DOT11_PROBED_SSID";
      std::string dev, rec;
      t->visit(e.device, [&](const device& d) {
        {
          string_sink sink(dev);
          json_writer w(sink);
          write_device(w, d, *t);
        }
        if (!d.wifi) return;
        string_sink sink(rec);
        json_writer w(sink);
        if (e.kind == event_kind::probed_ssid) {
          for (const auto& r : d.wifi->probed)
            if (r.ssid == p.ssid) return write_probed_record(w, r);
        } else {
          for (const auto& r : beacon ? d.wifi->advertised() : d.wifi->responded())
            if (r.ssid == p.ssid) return write_ssid_record(w, r, beacon);
        }
      });
      if (dev.empty() || rec.empty()) return;
      fan_out(topic, {{"DOT11_NEW_SSID_BASEDEV", std::move(dev)}, {topic, std::move(rec)}});
      return;
    }
    case event_kind::handshake: {
      if (!t) return;
      std::string dev = device_json(*t, e.device);
      if (dev.empty()) return;
      json_buffer b;
      writer w(b);
      w.StartObject();
      w.Key("hopwire.handshake.bssid");
      const auto ap = e.device.str(true);
      w.String(ap.c_str());
      w.Key("hopwire.handshake.client");
      const auto client = e.peer.str(true);
      w.String(client.c_str());
      w.Key("hopwire.handshake.message");
      w.Uint(e.eapol_message);
      w.Key("hopwire.handshake.time");
      w.Uint64(e.ts_ns / 1000000000ull);
      w.EndObject();
      // Kismet sends the AP's device and its 802.11 record; the record is
      // inside the device here (dot11.device), and the message is ours.
      fan_out("DOT11_WPA_HANDSHAKE",
              {{"DOT11_WPA_HANDSHAKE_BASEDEV", std::move(dev)}, {"hopwire.handshake", std::string(b.GetString())}});
      return;
    }
    case event_kind::source_up:
    case event_kind::source_down: {
      std::string uuid;
      std::shared_ptr<source_entry> entry;
      if (api_.sources) {
        for (const auto& s : api_.sources->all())
          if (s->index == e.source) entry = s;
      }
      if (!entry) return;
      {
        std::lock_guard lock(entry->mu);
        uuid = entry->rec.uuid;
      }
      const std::string quoted = "\"" + uuid + "\"";
      if (e.kind == event_kind::source_up) {
        if (std::find(seen_sources_.begin(), seen_sources_.end(), uuid) == seen_sources_.end()) {
          seen_sources_.push_back(uuid);
          fan_out("NEW_DATASOURCE", {{"NEW_DATASOURCE", source_json(*entry)}});
        }
        fan_out("DATASOURCE_OPENED", {{"DATASOURCE_OPENED", quoted}});
      } else {
        if (e.source_lost) fan_out("DATASOURCE_ERROR", {{"DATASOURCE_ERROR", quoted}});
        fan_out("DATASOURCE_CLOSED", {{"DATASOURCE_CLOSED", quoted}});
      }
      return;
    }
    default: return;
  }
}

void event_bus::tick(std::uint64_t now_ns) {
  if (auto* c = api_.cluster) {
    // Told in the heartbeats: events are built and sent only while some
    // collector has someone to show them to.
    c->set_wants_events(nsubs_.load(std::memory_order_relaxed) > 0);
    remote_wants_.store(c->others_want_events(), std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(mu_);
    if (subs_.empty()) {
      last_changed_ns_ = now_ns;
      return;
    }
  }
  json_buffer b;
  writer w(b);
  w.StartObject();
  w.Key("kismet.system.timestamp.sec");
  w.Uint64(now_ns / 1000000000ull);
  w.Key("kismet.system.timestamp.usec");
  w.Uint64((now_ns / 1000) % 1000000);
  w.EndObject();
  fan_out("TIMESTAMP", {{"TIMESTAMP", std::string(b.GetString(), b.GetSize())}});

  if (const auto* pipe = api_.pipeline) {
    const auto packets = pipe->packets(), errors = pipe->error_packets();
    const auto rate = packets - std::min(last_packets_, packets);
    peak_rate_ = std::max(peak_rate_, rate);
    json_buffer s;
    writer sw(s);
    sw.StartObject();
    sw.Key("hopwire.packetchain.packets_per_sec");
    sw.Uint64(rate);
    sw.Key("hopwire.packetchain.errors_per_sec");
    sw.Uint64(errors - std::min(last_errors_, errors));
    sw.Key("hopwire.packetchain.peak_packets_per_sec");
    sw.Uint64(peak_rate_);
    sw.Key("hopwire.packetchain.packets_total");
    sw.Uint64(packets);
    sw.Key("hopwire.packetchain.errors_total");
    sw.Uint64(errors);
    sw.EndObject();
    last_packets_ = packets;
    last_errors_ = errors;
    fan_out("PACKETCHAIN_STATS", {{"PACKETCHAIN_STATS", std::string(s.GetString(), s.GetSize())}});
  }

  // DEVICE_CHANGED: every device changed since the last one, for live
  // tables; only read when someone listens.
  bool want = false;
  {
    std::vector<std::shared_ptr<subscriber>> subs;
    std::lock_guard lock(mu_);
    for (const auto& wp : subs_)
      if (auto s = wp.lock()) {
        std::vector<field_spec> f;
        want = want || s->wants("DEVICE_CHANGED", f);
      }
  }
  const auto since = last_changed_ns_;
  last_changed_ns_ = now_ns;
  if (!want || !api_.tracker) return;
  // One message per subscriber's fields: the devices with the fields
  // applied to each (the value itself is a list, not a device).
  std::vector<std::shared_ptr<subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    for (const auto& wp : subs_)
      if (auto s = wp.lock()) subs.push_back(std::move(s));
  }
  std::vector<std::string> devices;
  bool truncated = false;
  {
    auto reader = api_.tracker->read_changed_since(since);
    device copies[16];
    while (const auto n = reader.next(copies, 16)) {
      for (std::size_t i = 0; i < n; ++i) {
        if (devices.size() >= kChangedPerMessage) {
          truncated = true;
          break;
        }
        std::string out;
        {
          string_sink sink(out);
          json_writer jw(sink);
          write_device(jw, copies[i], *api_.tracker);
        }
        devices.push_back(std::move(out));
      }
      if (truncated) break;
    }
  }
  if (devices.empty()) return;
  std::vector<rapidjson::Document> docs(devices.size());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    std::string why;
    parse_untrusted_json(devices[i], docs[i], why, 64);
  }
  std::unordered_map<std::string, std::shared_ptr<const std::string>> texts;
  for (const auto& s : subs) {
    std::vector<field_spec> fields;
    if (!s->wants("DEVICE_CHANGED", fields)) continue;
    const auto key = fields_key(fields);
    auto it = texts.find(key);
    if (it == texts.end()) {
      json_buffer out;
      writer ow(out);
      ow.StartObject();
      ow.Key("DEVICE_CHANGED");
      ow.StartObject();
      ow.Key("hopwire.devices.since");
      ow.Uint64(since / 1000000000ull);
      ow.Key("hopwire.devices.timestamp");
      ow.Uint64(now_ns / 1000000000ull);
      ow.Key("hopwire.devices.truncated");
      ow.Bool(truncated);
      ow.Key("hopwire.devices.list");
      ow.StartArray();
      for (const auto& d : docs) write_simplified(ow, d, fields);
      ow.EndArray();
      ow.EndObject();
      ow.EndObject();
      it = texts.emplace(key, std::make_shared<const std::string>(out.GetString(), out.GetSize())).first;
    }
    s->offer(it->second);
  }
  published_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace hopwire::collector

#pragma once
// Kismet's event bus: /eventbus/events.ws. A client sends
//   {"SUBSCRIBE": "TOPIC", "fields": [...]}   {"UNSUBSCRIBE": "TOPIC"}
// as text frames and gets {"TOPIC": {...}} text frames back, with the
// fields simplification applied to each value. Topics: TIMESTAMP, MESSAGE,
// ALERT, NEW_DEVICE, NEW_DATASOURCE, DATASOURCE_OPENED/CLOSED/ERROR,
// DOT11_ADVERTISED_SSID, DOT11_PROBED_SSID, DOT11_RESPONSE_SSID,
// DOT11_WPA_HANDSHAKE, PACKETCHAIN_STATS, and ours, DEVICE_CHANGED (at most
// once a second: the devices changed since the last one) — or "*".
//
// Publishers (the tracker's events on ingest threads, messages, alerts)
// only append a small record to a bounded queue; one dispatcher thread
// builds each payload once and hands it to every subscriber. Each
// subscriber has a bounded backlog: a slow one loses events (counted, and
// told with an EVENTBUS_DROPPED message), and never slows ingest or the
// others.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/api/api_context.h"
#include "collector/core/events.h"
#include "collector/core/messages.h"
#include "collector/net/message_handler.h"

namespace hopwire::collector {

class event_bus final : public event_listener {
 public:
  // Every kind of tracker event the bus turns into a topic.
  static constexpr std::uint32_t kTrackerKinds =
      event_bit(event_kind::new_device) | event_bit(event_kind::advertised_ssid) |
      event_bit(event_kind::probed_ssid) | event_bit(event_kind::responded_ssid) |
      event_bit(event_kind::handshake) | event_bit(event_kind::source_up) | event_bit(event_kind::source_down);

  explicit event_bus(api_context& api);
  ~event_bus() override;

  void start();
  void stop();

  // The handler for the WebSocket route.
  message_handler_factory factory();

  // Publishers. Cheap, any thread.
  void on_event(const tracker_event& e) override;
  void publish_message(const bus_message& m);
  // A topic with a ready JSON value (the alert engine's alerts).
  void publish_json(std::string topic, std::string value_json);

  struct counters {
    std::uint64_t subscribers = 0, published = 0, delivered = 0, dropped = 0, queue_overflow = 0;
  };
  counters stats() const;

  class subscriber;

 private:
  struct pending {
    std::string topic;      // for messages and ready JSON
    std::string json;       // the value, when ready
    // From another collector (cluster mode): the values, ready; shown
    // here only, never sent on.
    std::vector<std::pair<std::string, std::string>> remote;
    tracker_event ev;       // for tracker events (ssid copied below)
    std::string ssid;
    bool from_tracker = false;
  };

  void run();
  void dispatch(pending& p);
  void tick(std::uint64_t now_ns);
  // Builds {"TOPIC": value, ...} for every subscriber of `topic` and sends it.
  // In cluster mode it also sends the event to the other collectors when
  // one of them has subscribers (`share`, for this collector's own events).
  void fan_out(const std::string& topic, const std::vector<std::pair<std::string, std::string>>& values,
               bool share = true);
  // Cluster mode: an event another collector sent.
  void on_remote(const char* data, int len);
  void add(std::shared_ptr<subscriber> s);
  void remove(const subscriber* s);

  api_context& api_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pending> queue_;
  bool stop_ = false;
  std::thread thread_;
  std::vector<std::weak_ptr<subscriber>> subs_;
  std::atomic<std::uint64_t> published_{0}, delivered_{0}, dropped_{0}, overflow_{0};
  std::atomic<std::size_t> nsubs_{0};
  std::atomic<bool> remote_wants_{false};  // cluster mode: another collector has subscribers
  std::uint64_t last_changed_ns_ = 0;
  std::uint64_t last_packets_ = 0, last_errors_ = 0, peak_rate_ = 0;
  std::vector<std::string> seen_sources_;  // NEW_DATASOURCE only the first time
};

}  // namespace hopwire::collector

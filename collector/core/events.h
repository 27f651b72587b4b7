#pragma once
// Typed events of the tracker and the links, for the parts that react to
// what happens (alerts, the event bus, the UI): a new device, a device
// changed, an SSID first advertised, probed for or answered, a new client
// of an AP, handshake progress, a source up or down, a source's error.
//
// Listeners are registered before ingest starts and say which kinds they
// want; a kind nobody wants costs one relaxed load where it would be raised.
// publish() runs on the ingest thread, often under a tracker shard lock:
// a listener copies what it needs and returns, and never calls back into
// the tracker.

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "common/mac_addr.h"

namespace hopwire::collector {

enum class event_kind : std::uint8_t {
  new_device,
  device_changed,   // at most about every 100 ms per device (when it moves in the recency list)
  advertised_ssid,  // first beacon with this SSID from this BSSID
  probed_ssid,      // first probe for this SSID from this station
  responded_ssid,   // first probe response with this SSID from this BSSID
  new_client,       // first data exchanged between a station and an AP
  handshake,        // an EAPOL-Key 4-way handshake message
  source_up,
  source_down,
  source_error,     // a sensor reported an error (its link stays up)
  count
};

constexpr std::uint32_t event_bit(event_kind k) { return 1u << static_cast<unsigned>(k); }

struct tracker_event {
  event_kind kind = event_kind::new_device;
  mac_addr device;            // the device the event is about (a source: unused)
  mac_addr peer;              // new_client / handshake: the other side (device = the AP)
  std::uint32_t source = 0;   // index of the source that heard it
  std::uint64_t ts_ns = 0;    // packet time
  std::string_view ssid;      // *_ssid: the SSID bytes (valid during the call)
  std::uint8_t eapol_message = 0;  // handshake: 1..4
  std::uint32_t device_types = 0;  // kType* bits of `device`, as far as known
  bool source_lost = false;        // source_down: the link went silent or failed, not a goodbye
  std::string_view reason;         // source_down (lost) / source_error: why, for people (valid during the call)
};

class event_listener {
 public:
  virtual ~event_listener() = default;
  virtual void on_event(const tracker_event& e) = 0;
};

class event_hub {
 public:
  static constexpr std::size_t kMaxListeners = 8;

  // Before ingest starts. Returns false when full.
  bool subscribe(event_listener* l, std::uint32_t kinds) {
    if (n_ == kMaxListeners) return false;
    listeners_[n_] = {l, kinds};
    ++n_;
    mask_.fetch_or(kinds, std::memory_order_relaxed);
    return true;
  }

  bool wants(event_kind k) const { return mask_.load(std::memory_order_relaxed) & event_bit(k); }

  void publish(const tracker_event& e) const {
    const auto bit = event_bit(e.kind);
    for (std::size_t i = 0; i < n_; ++i)
      if (listeners_[i].kinds & bit) listeners_[i].l->on_event(e);
  }

 private:
  struct entry {
    event_listener* l = nullptr;
    std::uint32_t kinds = 0;
  };
  std::array<entry, kMaxListeners> listeners_{};
  std::size_t n_ = 0;
  std::atomic<std::uint32_t> mask_{0};
};

}  // namespace hopwire::collector

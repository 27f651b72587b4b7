#pragma once
// The message bus: what an operator should read, in Kismet's form (text,
// flags, time) — a sensor connected or lost, the fleet reloaded or a reload
// refused, storage failing or low on space, devices evicted, alerts. The
// newest kKeep are kept for /messagebus/...; listeners (the event bus) get
// each one as it is posted.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace hopwire::collector {

// Kismet's flags (a bit mask).
inline constexpr std::uint32_t kMsgDebug = 1, kMsgInfo = 2, kMsgError = 4, kMsgAlert = 8, kMsgFatal = 16;
// Ours, never shown: the poster has logged the text already.
inline constexpr std::uint32_t kMsgLogged = 1u << 31;

struct bus_message {
  std::uint64_t id = 0;    // increasing
  std::uint64_t time_ns = 0;
  std::uint32_t flags = kMsgInfo;
  std::string text;
};

class message_bus {
 public:
  static constexpr std::size_t kKeep = 500;
  using listener = std::function<void(const bus_message&)>;

  // Thread-safe. Also logs the text (info, or error for kMsgError/kMsgFatal).
  void post(std::uint32_t flags, std::string text);
  // Before the first post; called on the posting thread, without the lock.
  void subscribe(listener l);

  std::vector<bus_message> all() const;
  // Messages posted at or after `time_ns`.
  std::vector<bus_message> since(std::uint64_t time_ns) const;

 private:
  mutable std::mutex mu_;
  std::deque<bus_message> kept_;
  std::uint64_t next_id_ = 1;
  std::vector<listener> listeners_;
};

}  // namespace hopwire::collector

#pragma once
// Counters of the network front, shown in /system/status.json and /metrics.
// Relaxed atomics: statistics, read while being written.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hopwire::collector {

// Why a message link (sensor, event bus) was cut by the transport or its handler.
// `handler`: the protocol said so (bad frame, failed login, silence): the
// handler's own counters say more.
enum class cut_reason : std::uint8_t { peer_closed, not_reading, oversize, handler, count };
inline constexpr const char* kCutReasonNames[] = {"closed", "not_reading", "oversize", "protocol_error"};

struct net_stats {
  using counter = std::atomic<std::uint64_t>;
  counter http_requests{0};
  counter http_auth_failures{0};
  counter accept_errors{0};                 // accept() failed (out of descriptors, ...)
  counter refused_total_limit{0};           // over --max-connections
  counter refused_per_address_limit{0};     // over --max-connections-per-address
  counter connections_open{0};
  std::array<counter, static_cast<std::size_t>(cut_reason::count)> links_cut{};
  // Answers by status code (100..599) and request latency buckets.
  std::array<counter, 600> http_status{};
  static constexpr double kLatencyBuckets[] = {0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10};
  std::array<counter, std::size(kLatencyBuckets) + 1> http_latency{};  // last: +Inf
  counter http_latency_sum_us{0};

  static void bump(counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  void cut(cut_reason r) { bump(links_cut[static_cast<std::size_t>(r)]); }
  void answered(unsigned status, double seconds) {
    bump(http_status[std::min<unsigned>(status, 599)]);
    std::size_t i = 0;
    while (i < std::size(kLatencyBuckets) && seconds > kLatencyBuckets[i]) ++i;
    bump(http_latency[i]);
    bump(http_latency_sum_us, static_cast<std::uint64_t>(seconds * 1e6));
  }
};

}  // namespace hopwire::collector

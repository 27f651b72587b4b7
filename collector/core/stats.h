#pragma once
// Collector-wide counters, shown in /system/status.json. Relaxed atomics:
// they are statistics, read while being written.

#include <atomic>
#include <cstdint>

namespace hopwire::collector {

struct collector_stats {
  using counter = std::atomic<std::uint64_t>;
  counter links_accepted{0};        // links that completed Hello/Welcome
  counter links_refused_auth{0};    // refused for missing/bad credentials or role
  counter links_refused_other{0};   // version mismatch, duplicate source, bad Hello
  counter frames_malformed{0};      // failed verification or made no sense
  counter frames_oversize{0};       // over the frame size limit
  counter batches_received{0};
  counter batches_duplicate{0};     // already stored: acked again, not counted
  counter batches_gap{0};           // sequence jumped (sensor evicted batches)
  counter packets_received{0};
  counter bytes_received{0};
  counter links_timed_out{0};
  counter acks_withheld{0};         // batches not acknowledged because the store failed

  static void bump(counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
};

}  // namespace hopwire::collector

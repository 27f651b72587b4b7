#pragma once
// Kismet's rate and burst limits for one alert definition, exactly as its
// alert tracker applies them (alertracker.cc check_times):
//
//   - a rate of 0 squelches the alert ("0/min,0/sec" disables it);
//   - if the last alert sent is older than one rate unit, both counters
//     restart and the alert goes out;
//   - else if it is older than one burst unit, the burst counter restarts;
//   - the alert goes out while fewer than `burst` were sent in this burst
//     and fewer than `rate` in this period.
//
// "Older than" compares the last send time (seconds and microseconds)
// with the current time in whole seconds minus the unit, as Kismet does,
// so the counters restart only once a full unit has passed since the last
// alert *sent* — not a sliding window — and refused attempts never move
// the last send time. With 5/min,1/sec: about one every one to two
// seconds up to five, then silence until a minute after the fifth.
//
// The rate syntax ("10/min", "1/sec", "N" = per minute) is parsed by
// try_parse_alert_rate / try_parse_alert_limits (config/alerts_config.h),
// which return a reason instead of throwing. Thread-safe.

#include <cstdint>
#include <mutex>

#include "collector/config/alerts_config.h"

namespace hopwire::collector {

class rate_limiter {
 public:
  struct state {
    std::uint64_t total_sent = 0, burst_sent = 0;
    std::uint64_t time_last_ns = 0;  // 0: never sent
  };

  explicit rate_limiter(alert_limits limits = {}) : limits_(limits) {}

  // New limits; the counters stay (a reload does not forget what was sent).
  void set_limits(alert_limits limits);
  alert_limits limits() const;

  // Kismet's potential_alert: would an alert at `now_ns` go out? (Resets
  // expired counters, as Kismet's check does; sends nothing.)
  bool would_allow(std::uint64_t now_ns);
  // The check and, if it passes, the send: both counters up, the last send
  // time set to `now_ns`. False: refused.
  bool try_acquire(std::uint64_t now_ns);

  state snapshot() const;
  void restore(const state& s);

 private:
  bool check(std::uint64_t now_ns);  // mu_ held

  mutable std::mutex mu_;
  alert_limits limits_;
  state st_;
};

}  // namespace hopwire::collector

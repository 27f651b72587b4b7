#include "collector/alerts/alert_limits.h"

namespace hopwire::collector {

void rate_limiter::set_limits(alert_limits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

alert_limits rate_limiter::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

bool rate_limiter::check(std::uint64_t now_ns) {
  if (limits_.rate.count == 0) return false;
  // Kismet compares the last send time (a double, seconds.microseconds)
  // with tv_sec - unit: whole seconds now, fractions in the last time.
  const std::int64_t now_s = static_cast<std::int64_t>(now_ns / 1'000'000'000ull);
  const std::int64_t last_ns = static_cast<std::int64_t>(st_.time_last_ns);
  auto older_than = [&](alert_time_unit u) {
    return last_ns < (now_s - static_cast<std::int64_t>(unit_seconds(u))) * 1'000'000'000ll;
  };
  if (older_than(limits_.rate.unit)) {
    st_.total_sent = 0;
    st_.burst_sent = 0;
    return true;
  }
  if (older_than(limits_.burst.unit)) st_.burst_sent = 0;
  return st_.burst_sent < limits_.burst.count && st_.total_sent < limits_.rate.count;
}

bool rate_limiter::would_allow(std::uint64_t now_ns) {
  std::lock_guard lock(mu_);
  return check(now_ns);
}

bool rate_limiter::try_acquire(std::uint64_t now_ns) {
  std::lock_guard lock(mu_);
  if (!check(now_ns)) return false;
  ++st_.burst_sent;
  ++st_.total_sent;
  st_.time_last_ns = now_ns;
  return true;
}

rate_limiter::state rate_limiter::snapshot() const {
  std::lock_guard lock(mu_);
  return st_;
}

void rate_limiter::restore(const state& s) {
  std::lock_guard lock(mu_);
  st_ = s;
}

}  // namespace hopwire::collector

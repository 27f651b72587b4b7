#include "collector/auth/login_limiter.h"

#include <algorithm>
#include <cmath>

namespace hopwire::collector {

void login_limiter::refill(bucket& b, std::chrono::steady_clock::time_point now) {
  const double dt = std::chrono::duration<double>(now - b.updated).count();
  b.credits = std::min(kBurst, b.credits + dt * kRefillPerSecond);
  b.updated = now;
}

unsigned login_limiter::retry_after(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(address);
  if (it == buckets_.end()) return 0;
  const auto now = std::chrono::steady_clock::now();
  if (now < it->second.blocked_until) {
    ++refused_;
    return static_cast<unsigned>(
        std::ceil(std::chrono::duration<double>(it->second.blocked_until - now).count()));
  }
  refill(it->second, now);
  return 0;
}

void login_limiter::failed(const std::string& address) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxTracked) {
      // Forget the address that has been quiet longest.
      auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                     [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
      buckets_.erase(oldest);
    }
    it = buckets_.emplace(address, bucket{kBurst, now}).first;
  }
  refill(it->second, now);
  it->second.credits = std::max(0.0, it->second.credits - 1);
  if (it->second.credits < 1) it->second.blocked_until = now + kLockout;
}

void login_limiter::succeeded(const std::string& address) {
  std::lock_guard lock(mu_);
  buckets_.erase(address);
}

}  // namespace hopwire::collector

#pragma once
// Slows password guessing: each client address has a bucket of failed
// logins (10, refilled at one a second). An address that empties it is shut
// out for kLockout: 429 with Retry-After for any attempt, right or wrong;
// other addresses are unaffected. Bounded: at most kMaxTracked
// addresses are remembered, the quietest forgotten first.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hopwire::collector {

class login_limiter {
 public:
  static constexpr double kBurst = 10;
  static constexpr double kRefillPerSecond = 1;
  static constexpr std::size_t kMaxTracked = 10000;
  static constexpr std::chrono::seconds kLockout{5};

  // Seconds to wait before trying again; 0 when an attempt may proceed.
  unsigned retry_after(const std::string& address);
  void failed(const std::string& address);
  void succeeded(const std::string& address);
  std::uint64_t refused() const { return refused_; }

 private:
  struct bucket {
    double credits = kBurst;
    std::chrono::steady_clock::time_point updated;
    std::chrono::steady_clock::time_point blocked_until{};
  };
  void refill(bucket& b, std::chrono::steady_clock::time_point now);

  std::mutex mu_;
  std::unordered_map<std::string, bucket> buckets_;
  std::uint64_t refused_ = 0;
};

}  // namespace hopwire::collector

#pragma once
// A bound on the memory that answers in flight may hold (streamed device
// lists, pcap-ng queues): each stream reserves what it can hold at most
// before it starts, and a request that would pass the bound is answered 503
// with Retry-After instead of making the collector grow.

#include <atomic>
#include <cstdint>
#include <memory>

namespace hopwire::collector {

class answer_budget {
 public:
  explicit answer_budget(std::uint64_t limit_bytes) : limit_(limit_bytes) {}
  // Before the listeners open.
  void set_limit(std::uint64_t limit_bytes) { limit_ = limit_bytes; }

  // Held while the answer is in flight; gives the bytes back when destroyed.
  class reservation {
   public:
    reservation(answer_budget& b, std::uint64_t n) : b_(b), n_(n) {}
    ~reservation() { b_.used_.fetch_sub(n_, std::memory_order_relaxed); }
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;

   private:
    answer_budget& b_;
    std::uint64_t n_;
  };

  // Null (and counted) when `bytes` more would pass the limit.
  std::unique_ptr<reservation> reserve(std::uint64_t bytes) {
    auto cur = used_.load(std::memory_order_relaxed);
    do {
      if (cur + bytes > limit_) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      }
    } while (!used_.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed));
    return std::make_unique<reservation>(*this, bytes);
  }

  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const { return limit_; }
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0}, refused_{0};
};

}  // namespace hopwire::collector

#include "collector/app/memory_trim.h"

#include <algorithm>
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/log.h"

namespace hopwire::collector {

void memory_trim::tune_allocator(unsigned cores) {
#if defined(__GLIBC__)
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, static_cast<int>(2 * std::max(1u, cores)));
  // glibc's mmap threshold is left dynamic: fixing it at 256 KiB maps and
  // unmaps every packet-log block and cost a third of the ingest rate
  // (docs/performance.md, "Soak"); the trim thread returns what the
  // dynamic threshold keeps.
#else
  (void)cores;
#endif
}

memory_trim::memory_trim(std::chrono::milliseconds interval) : interval_(interval) {
  thread_ = std::thread([this] { run(); });
}

memory_trim::~memory_trim() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

std::uint64_t memory_trim::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

std::uint64_t memory_trim::longest_us() const {
  std::lock_guard lock(mu_);
  return longest_us_;
}

void memory_trim::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    lock.lock();
    ++runs_;
    if (us > longest_us_) {
      longest_us_ = us;
      spdlog::debug("memory: malloc_trim took {} us, the longest so far", us);
    }
  }
}

}  // namespace hopwire::collector

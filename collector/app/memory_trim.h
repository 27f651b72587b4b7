#pragma once
// The collector's heap, kept from holding on to memory it no longer uses.
//
// glibc's malloc keeps freed memory inside its arenas for reuse, and with an
// arena per thread and a device table that churns (devices evicted and
// created, lists and batches built and freed) the free part of a long-lived
// collector's heap grew larger than the part in use. A setting and a thread
// bound it:
//   - arenas: at most two per core (glibc's default is eight per core),
//     unless MALLOC_ARENA_MAX is set in the environment, which wins;
//   - every few seconds malloc_trim(0) on a thread of its own, which hands
//     the free pages inside every arena back to the system.
// The mmap threshold stays glibc's dynamic one: a fixed 256 KiB mapped and
// unmapped every packet-log block and cost a third of the ingest rate.
// Only glibc has these; elsewhere the class does nothing.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace hopwire::collector {

class memory_trim {
 public:
  // Sets the allocator options; call before the threads start.
  static void tune_allocator(unsigned cores);

  explicit memory_trim(std::chrono::milliseconds interval = std::chrono::seconds(10));
  ~memory_trim();
  memory_trim(const memory_trim&) = delete;
  memory_trim& operator=(const memory_trim&) = delete;

  // Trims so far, and the longest one took (microseconds).
  std::uint64_t runs() const;
  std::uint64_t longest_us() const;

 private:
  void run();

  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::uint64_t runs_ = 0, longest_us_ = 0;
  std::thread thread_;
};

}  // namespace hopwire::collector

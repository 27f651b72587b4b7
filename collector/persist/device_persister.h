#pragma once
// Keeps the device table in RocksDB: loads it at start (before any listener
// opens) and writes what changed about once a second from its own thread,
// off the ingest path. A kill -9 loses at most the last
// interval; a clean stop writes everything. A pass is written a few MiB
// at a time, so memory does not jump with the size of the table.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "collector/persist/store.h"

namespace hopwire::collector {

class device_tracker;
class source_table;

class device_persister {
 public:
  device_persister(device_tracker& tracker, source_table& sources, store& db, std::chrono::milliseconds interval);
  ~device_persister();

  // Loads every stored device, and the names and tags people gave devices;
  // returns how many devices (damaged records are
  // skipped, counted and logged).
  std::size_t load();
  void start();
  // Stops the thread after a last flush.
  void stop();
  // One pass: writes every changed device. Returns the records written.
  std::size_t flush();

  std::uint64_t damaged() const { return damaged_; }
  // Device records that could not be written yet (the store is failing).
  std::uint64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  void run();
  void fail(const store::device_changes& changes);

  device_tracker& tracker_;
  source_table& sources_;
  store& db_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::uint64_t damaged_ = 0;
  std::atomic<std::uint64_t> pending_{0};
  std::chrono::steady_clock::time_point last_error_log_{};
};

}  // namespace hopwire::collector

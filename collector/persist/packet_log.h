#pragma once
// The packet log: every accepted packet, appended to RocksDB in blocks and
// read back as historic pcap-ng.
//
// A block holds consecutive packets of one batch of one source whose
// timestamps lie within kBlockSpan of the block's first; its key is
// (first timestamp, run id, counter), big-endian, so keys sort by time and
// never collide across restarts. Blocks go to a writer thread through a
// bounded queue: ingest never waits for the disk, and what does not fit is
// counted as dropped. Retention is RocksDB's (FIFO by size and age; store.h).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "collector/core/pipeline.h"
#include "collector/net/http_types.h"
#include "common/mac_addr.h"
#include "common/uuid.h"

namespace hopwire::collector {

class store;
class source_registry;
class packet_cursor;

class packet_log final : public packet_sink {
 public:
  packet_log(store& db, std::size_t queue_bytes = 64u << 20);
  ~packet_log() override;

  void on_packets(const ingest_source& source, std::span<const decoded_packet> packets) override;
  void on_batch_end(const ingest_source& source) override;

  void start();
  void stop();  // writes what is queued, then joins

  std::uint64_t logged() const { return logged_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  void run();

  store& db_;
  std::size_t queue_limit_;
  std::uint32_t run_id_;
  std::uint32_t counter_ = 0;  // guarded by mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t queued_packets_ = 0;
  bool stop_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> logged_{0}, dropped_{0}, write_errors_{0};
  std::chrono::steady_clock::time_point last_error_log_{};  // writer thread only
};

// What a historic query selects.
struct history_query {
  std::uint64_t from_ns = 0, to_ns = ~std::uint64_t{0};
  std::optional<std::string> source_uuid;
  std::optional<mac_addr> device, bssid;
  std::uint64_t limit = 0;  // packets; 0 = no limit
};

// One logged packet as a history read gives it. `data` points into the
// log's storage and is valid until the reader's next call.
struct logged_packet {
  uuid source;
  std::uint64_t ts_ns = 0;
  std::uint32_t dlt = 0, orig_len = 0, freq_khz = 0;
  std::int16_t signal = 0;
  std::uint16_t flags = 0;  // protocol::kFlagSignal, kFlagGps
  double lat = 0, lon = 0, alt = 0;
  std::string_view data;    // capture header and frame, as captured
};

// Reads the log in time order, one packet at a time, keeping those the
// query selects (its limit is the caller's to apply). A damaged block is
// skipped.
class history_reader {
 public:
  history_reader(const store& db, const history_query& q);
  history_reader(history_reader&&) noexcept;
  ~history_reader();
  // The next selected packet; false at the end of the range.
  bool next(logged_packet& out);

 private:
  bool next_block();
  bool matches(const logged_packet& p) const;

  history_query q_;
  std::unique_ptr<packet_cursor> cursor_;
  std::optional<uuid> want_uuid_;
  bool in_block_ = false, done_ = false;
  std::string_view block_;
  std::size_t pos_ = 0;
  std::uint32_t left_ = 0;
  uuid source_;
};

// A pcap-ng body read lazily from the log.
std::shared_ptr<body_stream> open_history(const store& db, const source_registry& sources, history_query q);

}  // namespace hopwire::collector

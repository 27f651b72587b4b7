#pragma once
// The collector's embedded database (RocksDB under <state-dir>/db): one
// column family per kind of record, and a schema version in "meta".

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <filesystem>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "collector/core/source_record.h"

namespace rocksdb {
class DB;
class Status;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace hopwire::collector {

// The packet log's limits: the oldest data goes when either is reached
// (whole files at a time: RocksDB FIFO compaction, by size and by TTL).
struct packet_log_options {
  std::uint64_t max_bytes = 20ull << 30;      // 0: no packet log
  std::uint64_t retention_seconds = 7 * 86400;
  // Free space on the database's file system below which the packet log
  // gives way (its oldest files go) so device and source state can still
  // be written. 0: no watermark.
  std::uint64_t low_water_bytes = 256ull << 20;
};

enum class storage_state : std::uint8_t {
  ok,
  low_space,  // below the low-water mark: the packet log is shedding its oldest packets
  failing,    // writes fail (disk full, I/O error): links withhold acknowledgements
};
const char* storage_state_name(storage_state s);

// Reads the packet log in key (time) order.
class packet_cursor {
 public:
  virtual ~packet_cursor() = default;
  virtual bool valid() const = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual void next() = 0;
};

class store final : public source_store {
 public:
  static constexpr std::uint32_t kSchemaVersion = 1;

  // Opens or creates the database. Throws std::runtime_error with a clear
  // message (locked by another process, unwritable, newer schema, ...).
  // read_only: for tools (export) that run beside a live collector.
  explicit store(const std::filesystem::path& dir, bool read_only = false, packet_log_options log = {});
  ~store() override;
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // Not synced: survives a killed process (the WAL is in the kernel), at
  // most a flush interval is lost if the machine itself goes down.
  // Returns false (and remembers the error) when the write failed.
  bool put_source(const stored_source& s) override;
  std::vector<stored_source> load_sources();

  // Devices, keyed by MAC. One write per flush; false (error remembered)
  // when it failed.
  struct device_changes {
    std::vector<std::pair<std::uint64_t, std::string>> put;
    std::vector<std::uint64_t> erase;
    bool empty() const { return put.empty() && erase.empty(); }
  };
  bool write_devices(const device_changes& changes);
  // Calls `fn` for every stored device record, in MAC order.
  void load_devices(const std::function<void(std::uint64_t mac, std::string_view record)>& fn);

  // Names and tags people gave devices (annotation_codec.h), keyed by MAC;
  // an empty record erases. Written when a REST command changes one.
  bool put_annotation(std::uint64_t mac, std::string_view record);
  void load_annotations(const std::function<void(std::uint64_t mac, std::string_view record)>& fn);

  // Small keyed tables beside the devices: the alert history (8-byte
  // big-endian ids) and the watch list entries added over REST. Written
  // from the alert engine's flush, about once a second.
  enum class row_table : std::uint8_t { alerts, watchlist };
  bool put_rows(row_table t, const std::vector<std::pair<std::string, std::string>>& rows);
  bool erase_row(row_table t, std::string_view key);
  // Every row with from <= key < to.
  bool erase_rows(row_table t, std::string_view from, std::string_view to);
  void load_rows(row_table t, const std::function<void(std::string_view key, std::string_view value)>& fn);

  // Packet log blocks (see packet_log.h for the format).
  bool write_packet_blocks(const std::vector<std::pair<std::string, std::string>>& blocks);
  std::unique_ptr<packet_cursor> packets_from(std::string_view start_key) const;
  std::uint64_t packet_log_bytes() const;  // files + memory
  bool flush_packets();  // memtable to file (the packet log has no WAL)

  std::uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }
  std::string last_error() const;

  // About once a second, off the ingest path (the persister's thread): a
  // failed store is resumed once it can write again (RocksDB's Resume());
  // free space is checked against the low-water mark, below which the
  // packet log's size limit is lowered so its oldest files go. Logs each
  // change of state once.
  void maintain();
  storage_state state() const { return state_.load(std::memory_order_relaxed); }
  std::uint64_t free_bytes() const { return free_bytes_.load(std::memory_order_relaxed); }
  std::uint64_t resumes() const { return resumes_.load(std::memory_order_relaxed); }
  std::uint64_t packet_log_limit() const { return log_limit_now_.load(std::memory_order_relaxed); }
  // Told (on the persister's thread) when the state changes, with a sentence
  // for people and whether it is bad news. Before start.
  void on_state_change(std::function<void(storage_state, const std::string& text, bool bad)> fn) {
    notify_ = std::move(fn);
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* sources_ = nullptr;
  rocksdb::ColumnFamilyHandle* devices_ = nullptr;
  rocksdb::ColumnFamilyHandle* packets_ = nullptr;
  rocksdb::ColumnFamilyHandle* annotations_ = nullptr;  // null: a read-only open of a database without it
  rocksdb::ColumnFamilyHandle* rows_[2] = {nullptr, nullptr};
  // Counts and remembers a failed write; returns st.ok().
  bool record(const rocksdb::Status& st);

  // Sets the FIFO size limit of the packet log (shedding below low water).
  void set_packet_log_limit(std::uint64_t bytes);

  bool read_only_ = false;
  std::filesystem::path dir_;
  packet_log_options log_;
  std::atomic<std::uint64_t> write_errors_{0}, free_bytes_{0}, resumes_{0}, log_limit_now_{0};
  std::uint64_t log_limit_base_ = 0;
  std::atomic<storage_state> state_{storage_state::ok};
  std::atomic<bool> write_failed_{false};
  std::chrono::steady_clock::time_point last_resume_try_{};
  std::string last_error_;
  std::function<void(storage_state, const std::string&, bool)> notify_;
};

}  // namespace hopwire::collector

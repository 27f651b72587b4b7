#include "collector/persist/device_persister.h"

#include <memory>
#include <vector>

#include "collector/persist/annotation_codec.h"
#include "collector/persist/device_codec.h"
#include "collector/track/device_tracker.h"
#include "collector/core/source_table.h"
#include "collector/persist/store.h"
#include "common/log.h"

namespace hopwire::collector {

device_persister::device_persister(device_tracker& tracker, source_table& sources, store& db,
                                   std::chrono::milliseconds interval)
    : tracker_(tracker), sources_(sources), db_(db), interval_(interval) {}

device_persister::~device_persister() { stop(); }

std::size_t device_persister::load() {
  std::vector<std::unique_ptr<device>> loaded;
  auto index_of = [this](const std::string& uuid) { return sources_.index_of(uuid, ""); };
  db_.load_devices([&](std::uint64_t mac, std::string_view rec) {
    auto d = std::make_unique<device>();
    if (!decode_device(rec, *d, index_of) || d->mac.v != mac) {
      if (++damaged_ <= 10) spdlog::error("database: device record {} is damaged; skipping it", mac_addr{mac}.str());
      return;
    }
    loaded.push_back(std::move(d));
  });
  const auto n = loaded.size();
  tracker_.restore(std::move(loaded));
  // Names and tags people gave devices live beside the records.
  load_annotations(db_, tracker_.annotations());
  if (damaged_) spdlog::error("database: {} damaged device records skipped", damaged_);
  return n;
}

void device_persister::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void device_persister::stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  db_.maintain();
  flush();
  if (pending_)
    spdlog::error("database: {} device records could not be written before stopping ({}); they are lost for the "
                  "database, the sensors' counts are not", pending_.load(), db_.last_error());
}

void device_persister::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    db_.maintain();
    flush();
    lock.lock();
  }
}

std::size_t device_persister::flush() {
  // Written a few MiB at a time: a city-sized table changes almost entirely
  // every second, and encoding all of it into one batch would hold the
  // whole table twice more in memory (the records and the batch).
  constexpr std::size_t kBatchBytes = 4u << 20;
  store::device_changes changes;
  std::size_t bytes = 0, written = 0;
  auto uuid_of = [this](std::uint32_t idx) { return sources_.get(idx).uuid; };
  const auto add = [&](mac_addr mac, const device* d) {
    if (!d) {
      changes.erase.push_back(mac.v);
      bytes += 8;
      return;
    }
    changes.put.emplace_back(mac.v, std::string());
    encode_device(*d, uuid_of, changes.put.back().second);
    bytes += 8 + changes.put.back().second.size();
  };
  const std::size_t shards = tracker_.shard_count();
  for (std::size_t i = 0; i < shards; ++i) {
    tracker_.drain_changes(i, add);
    if (i + 1 < shards && bytes < kBatchBytes) continue;
    if (changes.empty()) continue;
    if (!db_.write_devices(changes)) {
      fail(changes);
      return written;  // the shards not drained yet keep their changes
    }
    written += changes.put.size() + changes.erase.size();
    changes.put.clear();
    changes.erase.clear();
    bytes = 0;
  }
  pending_ = 0;
  return written;
}

void device_persister::fail(const store::device_changes& changes) {
  // Handed out again at the next flush, so they reach the database once it
  // writes again; the state is in /system/status.json.
  std::vector<std::uint64_t> macs;
  macs.reserve(changes.put.size());
  for (const auto& [mac, rec] : changes.put) macs.push_back(mac);
  tracker_.redrain(macs, changes.erase);
  pending_ = tracker_.pending_changes();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_error_log_ > std::chrono::minutes(1)) {
    last_error_log_ = now;
    spdlog::error("database: writing {} device records failed ({}); they are kept and written again",
                  pending_.load(), db_.last_error());
  }
}

}  // namespace hopwire::collector

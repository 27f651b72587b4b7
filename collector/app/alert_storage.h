#pragma once
// The alert engine's storage (alerts/alert_backend.h) on the collector's
// RocksDB: two small column families beside the devices.

#include "collector/alerts/alert_backend.h"
#include "collector/persist/store.h"

namespace hopwire::collector {

class stored_alerts final : public alert_backend {
 public:
  explicit stored_alerts(store& db) : db_(db) {}
  bool put(const std::vector<std::pair<std::uint64_t, std::string>>& records) override;
  bool erase_through(std::uint64_t id) override;
  void load(const std::function<void(std::uint64_t id, std::string_view record)>& fn) override;

 private:
  store& db_;
};

class stored_watchlist final : public watchlist_backend {
 public:
  explicit stored_watchlist(store& db) : db_(db) {}
  bool put(std::string_view key, std::string_view value) override;
  bool erase(std::string_view key) override;
  void load(const std::function<void(std::string_view key, std::string_view value)>& fn) override;

 private:
  store& db_;
};

}  // namespace hopwire::collector

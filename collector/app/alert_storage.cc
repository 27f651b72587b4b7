#include "collector/app/alert_storage.h"

namespace hopwire::collector {

namespace {

std::string id_key(std::uint64_t id) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, id >>= 8) k[static_cast<std::size_t>(i)] = static_cast<char>(id & 0xff);
  return k;
}

}  // namespace

bool stored_alerts::put(const std::vector<std::pair<std::uint64_t, std::string>>& records) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.reserve(records.size());
  for (const auto& [id, rec] : records) rows.emplace_back(id_key(id), rec);
  return db_.put_rows(store::row_table::alerts, rows);
}

bool stored_alerts::erase_through(std::uint64_t id) {
  if (id == ~0ull) return db_.erase_rows(store::row_table::alerts, id_key(0), std::string(9, '\xff'));
  return db_.erase_rows(store::row_table::alerts, id_key(0), id_key(id + 1));
}

void stored_alerts::load(const std::function<void(std::uint64_t, std::string_view)>& fn) {
  db_.load_rows(store::row_table::alerts, [&](std::string_view key, std::string_view value) {
    if (key.size() != 8) return;  // not ours; the engine counts damaged records itself
    std::uint64_t id = 0;
    for (const char c : key) id = id << 8 | static_cast<unsigned char>(c);
    fn(id, value);
  });
}

bool stored_watchlist::put(std::string_view key, std::string_view value) {
  return db_.put_rows(store::row_table::watchlist, {{std::string(key), std::string(value)}});
}

bool stored_watchlist::erase(std::string_view key) { return db_.erase_row(store::row_table::watchlist, key); }

void stored_watchlist::load(const std::function<void(std::string_view, std::string_view)>& fn) {
  db_.load_rows(store::row_table::watchlist, fn);
}

}  // namespace hopwire::collector

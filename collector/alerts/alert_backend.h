#pragma once
// Where the alert engine keeps what must survive a restart, as two small
// interfaces the store implements (persist/, on RocksDB): the alert
// history, keyed by alert id, and the watch list entries added over REST.
// Records are opaque bytes here; their codec is alert_codec.h. The engine
// calls these from its flush (the caller of alert_engine::tick/flush,
// about once a second), never from the packet path.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hopwire::collector {

class alert_backend {
 public:
  virtual ~alert_backend() = default;
  // Stores (or replaces) each (id, record), in one write. False: nothing is
  // known to be written; the engine keeps them and tries again at the next
  // flush.
  virtual bool put(const std::vector<std::pair<std::uint64_t, std::string>>& records) = 0;
  // Retention: removes every record whose id is at most `id` (ids grow
  // with time, so this is "older than"). Big-endian id keys make it one
  // range delete.
  virtual bool erase_through(std::uint64_t id) = 0;
  // Every stored record, in id order (at start, before ingest).
  virtual void load(const std::function<void(std::uint64_t id, std::string_view record)>& fn) = 0;
};

class watchlist_backend {
 public:
  virtual ~watchlist_backend() = default;
  // Key and value from alert_codec.h (encode_watch_key / encode_watch_value).
  virtual bool put(std::string_view key, std::string_view value) = 0;
  virtual bool erase(std::string_view key) = 0;
  virtual void load(const std::function<void(std::string_view key, std::string_view value)>& fn) = 0;
};

}  // namespace hopwire::collector

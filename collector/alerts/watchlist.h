#pragma once
// The watch list of DEVICEFOUND / DEVICELOST: MACs with masks, each for
// "found", "lost" or both (Kismet's /devices/alerts/mac/{type}/...). The
// entries of the YAML file and those added over REST (kept through a
// watchlist_backend) together; a device matches every entry whose mask,
// applied to its MAC, gives the entry's MAC, and gets the union of their
// types. Lookups read an immutable snapshot (one atomic load per chunk of
// packets); changes build a new one.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/alerts/alert_backend.h"
#include "collector/config/alerts_config.h"

namespace hopwire::collector {

struct watch_index {
  std::vector<std::uint8_t> bits;  // distinct mask lengths, most specific first
  std::unordered_map<std::uint64_t, std::uint8_t> types;  // (masked MAC | bits << 48) -> kWatch* bits

  bool empty() const { return types.empty(); }
  std::uint8_t match(mac_addr m) const {
    std::uint8_t t = 0;
    for (const auto b : bits) {
      const mac_mask mm{mac_addr{}, b};
      const auto it = types.find((m.v & mm.mask()) | std::uint64_t{b} << 48);
      if (it != types.end()) t |= it->second;
    }
    return t;
  }
};

class watch_list {
 public:
  struct result {
    bool ok = true;
    std::string reason;
  };

  // Entries from the YAML file (replaced on reload).
  void set_configured(const std::vector<watch_entry>& entries);
  // Entries added over REST, from storage, at start.
  void load(watchlist_backend& backend, std::vector<std::string>& problems);
  void set_backend(watchlist_backend* b) { backend_ = b; }

  // Adds `types` to the entry of `mac` (made if absent), and stores it.
  result add(const mac_mask& mac, std::uint8_t types);
  // Clears `types` from it; the entry goes when no type is left. An entry
  // from the YAML file is not removed over REST (edit the file).
  result remove(const mac_mask& mac, std::uint8_t types);
  // Every entry whose types intersect `types` (configured and added).
  std::vector<watch_entry> list(std::uint8_t types) const;

  std::shared_ptr<const watch_index> snapshot() const { return std::atomic_load(&index_); }

 private:
  void rebuild();  // mu_ held

  mutable std::mutex mu_;
  std::map<mac_mask, std::uint8_t> configured_, added_;
  watchlist_backend* backend_ = nullptr;
  std::shared_ptr<const watch_index> index_ = std::make_shared<watch_index>();
};

}  // namespace hopwire::collector

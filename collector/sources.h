#pragma once
// The registry of capture sources the collector knows: every source ever
// seen (loaded from the database at start), and which are live now. A source
// is identified by its UUID and carried by at most one link at a time.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/store.h"

namespace hopwire::collector {

struct source_entry {
  mutable std::mutex mu;  // guards everything below
  stored_source rec;
  bool running = false;
  std::string transport;  // "websocket", "tcp"
  std::vector<std::string> channels;
  std::string channel;    // current, from Status
  std::uint64_t captured = 0, sent = 0, acked = 0;  // sensor's view, this boot
  std::uint64_t ring_bytes_used = 0, ring_bytes_total = 0;
  std::uint64_t duplicate_batches = 0;
};

class source_registry {
 public:
  void load(std::vector<stored_source> sources);

  // Marks the source live for a new link, creating it on first sight.
  // Returns nullptr and sets `why` when another link holds it.
  std::shared_ptr<source_entry> claim(const stored_source& hello, const std::vector<std::string>& channels,
                                      const std::string& transport, std::string& why);
  void release(const std::shared_ptr<source_entry>& s);

  std::shared_ptr<source_entry> find(const std::string& uuid) const;

  // The virtual source of scan reports ("scan" type): found by UUID, or by
  // name among scan sources, or created. A name alone maps to a stable
  // UUID; a later report naming both links them. `created` tells whether it
  // is new (the caller stores it).
  std::shared_ptr<source_entry> scan_source(const std::string& name, const std::string& uuid, bool& created);
  std::vector<std::shared_ptr<source_entry>> all() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<source_entry>> by_uuid_;
  std::map<std::string, std::shared_ptr<source_entry>> scan_aliases_;  // UUIDs given after a name
};

}  // namespace hopwire::collector

#pragma once
// The registry of capture sources the collector knows: every source ever
// seen (loaded from the database at start), and which are live now. A source
// is identified by its UUID and carried by at most one link at a time.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/meta_gps.h"
#include "collector/store.h"
#include "common/channel.h"

namespace hopwire::collector {

// Who decides a source's channels and what the sensor last said about it.
struct source_plan_state {
  std::string group;       // group= in the definition; empty: planned alone
  std::string group_plan;  // group_plan= in the definition: split or offset
  hop_plan own;            // what the sensor does by itself (its definition)
  std::optional<hop_plan> manual;  // set_channel.cmd / set_hop.cmd
  hop_plan wanted;         // what the collector wants now
  std::string mode = "own";  // own, split, offset or manual
  std::uint32_t request_id = 0;  // of `wanted`; 0: nothing to send
  std::uint32_t sent_id = 0;     // last Configure sent on this link
  std::uint32_t result_id = 0;   // last ConfigureResult received
  bool result_ok = false;
  std::string result_message;
  std::vector<std::string> in_force;  // channels the sensor follows
  bool managed = false;  // the fleet file sets its channels or rate
  std::function<void()> poke;  // asks the link to send `wanted`; empty when offline
};

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
  std::uint32_t freq_khz = 0;  // current, from Status
  std::string gps_name;  // --gps-name of the sensor
  std::string metagps;   // metagps= in the definition: the virtual GPS its packets take
  bool stamp_time = false;  // the collector's clock replaces the sensor's
  std::optional<gps_fix> fixed_location;  // from the fleet file
  bool disabled = false;  // the fleet file says enabled: false
  source_plan_state plan;
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

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

#include "collector/core/meta_gps.h"
#include "collector/core/source_record.h"
#include "collector/core/source_table.h"
#include "common/channel.h"
#include "common/source_definition.h"
#include "common/uuid.h"

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

// A source's definition options, read once when its link says Hello.
struct source_options {
  std::string metagps;          // metagps=NAME: the virtual GPS its packets take
  bool stamp_time = false;      // the collector's clock replaces the sensor's
  std::string group;            // group=
  std::string group_plan;       // group_plan=: split or offset
  hop_plan own;                 // what the sensor does by itself
};

// What the collector acts on in a definition. Never throws: the sensor
// accepted its definition, and a value odd here keeps its default.
source_options read_source_options(const source_definition& def, const std::string& type,
                                   const std::vector<std::string>& channels);

struct source_entry {
  // Fixed once the entry exists.
  std::uint32_t index = 0;  // in the source table
  hopwire::uuid id;

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
  source_definition definition;  // parsed once per link, at Hello
  source_options options;
  std::optional<gps_fix> fixed_location;  // from the fleet file
  std::optional<gps_fix> last_position;   // of its newest packet that had one (sensor, virtual or fixed GPS)
  bool disabled = false;  // the fleet file says enabled: false
  // pause_source.cmd: the link stays up and its batches are acknowledged,
  // but the pipeline sets their packets aside (counted here) until resumed.
  bool paused = false;
  std::uint64_t set_aside = 0;
  source_plan_state plan;
  // Cluster mode: closes the link carrying the source (another collector
  // has claimed it); empty when offline. Any thread.
  std::function<void()> close_link;
};

class source_registry {
 public:
  explicit source_registry(source_table& table) : table_(table) {}
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

  // A new entry with its index and parsed UUID. mu_ held.
  std::shared_ptr<source_entry> make_entry(const std::string& uuid, const std::string& name);
  source_table& table_;
};

}  // namespace hopwire::collector

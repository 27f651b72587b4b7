#pragma once
// The device tracker: one record per (phy, MAC), kept from the decoded
// packets of every source. Devices live in shards, each with its own mutex,
// so a REST query walks one shard a few devices at a time and never holds
// ingest back for long. Each shard keeps its devices in most-recently-
// modified order, which makes "what changed since T" cost what changed,
// and makes eviction at --max-devices pick the longest idle.
//
// This file and device_tracker.cc are the store (shards, recency, eviction,
// readers, persistence hand-off); dot11_tracking.cc is what 802.11 frames
// and scan reports say about devices.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/core/events.h"
#include "collector/core/pipeline.h"
#include "collector/core/source_table.h"
#include "collector/decode/decoded_packet.h"
#include "collector/track/device.h"
#include "collector/track/device_annotations.h"
#include "collector/track/mac_index.h"
#include "collector/track/oui_table.h"

namespace hopwire::collector {

// An access point as a scan report describes it (no frame to decode).
struct observed_ap {
  mac_addr bssid;
  std::int16_t signal_dbm = 0;
  bool has_ssid = false;
  std::string ssid;
  bool has_security = false;
  std::uint16_t security = 0;  // kSec* bits
  std::uint32_t akms = 0, wpa_akms = 0;
  std::uint64_t ts_ns = 0;
  std::uint32_t freq_mhz = 0;
  std::uint8_t channel = 0;
  bool has_location = false;
  double lat = 0, lon = 0, alt = 0;
};

class device_tracker final : public packet_sink {
 public:
  struct options {
    std::size_t max_devices = 0;  // 0 = no limit
    std::size_t shards = 64;
  };
  using source_ref = source_table::entry;

  // `events` (may be null) hears what the tracker learns; `sources` names
  // the source indexes of seen-by entries.
  device_tracker(options opts, const oui_table& ouis, const source_table& sources, event_hub* events = nullptr);
  ~device_tracker() override;

  void on_packets(const ingest_source& source, std::span<const decoded_packet> packets) override;

  // Tracks one decoded packet heard by `source` (a source table index).
  // `now_ns` is the collector's clock, used for modification times. Error
  // packets (p.error()) are ignored.
  void track(std::uint32_t source, const decoded_packet& p, std::uint64_t now_ns);

  // A scan report's view of an AP, heard by `source` (a virtual source).
  void observe_ap(std::uint32_t source, const observed_ap& ap, std::uint64_t now_ns);

  source_ref source(std::uint32_t index) const { return sources_.get(index); }

  // Reading. for_each and for_each_changed_since copy a few devices at a
  // time under the shard lock and call `fn` on the copies outside it, so a
  // slow reader never holds ingest back. visit() calls `fn` under the lock:
  // keep it short and don't call back into the tracker.
  using visitor = std::function<void(const device&)>;

  // Reads devices a few at a time: each next() copies the following ones
  // under their shard's lock and returns, so a reader holds ingest back for
  // microseconds and may take as long as it likes between calls (streamed
  // HTTP answers). The order is for_each's.
  class reader {
   public:
    // Copies up to `max` devices into `out`; returns how many, 0 at the end.
    std::size_t next(device* out, std::size_t max);

   private:
    friend class device_tracker;
    enum class mode { all, changed, macs };
    reader(const device_tracker& t, mode m) : t_(&t), mode_(m) {}
    const device_tracker* t_;
    mode mode_;
    std::uint64_t since_ = 0;
    std::size_t shard_ = 0, pos_ = 0;
    std::vector<std::uint64_t> macs_;  // changed: this shard's; macs: all of them
    bool collected_ = false;
  };
  reader read_all() const { return reader(*this, reader::mode::all); }
  reader read_changed_since(std::uint64_t mod_ns) const;
  reader read_macs(const std::vector<mac_addr>& macs) const;

  void for_each(const visitor& fn) const;
  // Devices modified at or after `mod_ns`; cost proportional to their number.
  void for_each_changed_since(std::uint64_t mod_ns, const visitor& fn) const;
  bool visit(mac_addr mac, const visitor& fn) const;
  // Calls `fn` on every device in place, under its shard's lock, a few
  // devices per lock hold: for counting (views), where a copy of each
  // device would cost more than the look. Keep `fn` short.
  void for_each_in_place(const visitor& fn) const;
  // Devices modified at or after `mod_ns`, by frequency (MHz): Kismet's
  // active devices per channel. Walks only those devices, in place.
  void count_changed_by_freq(std::uint64_t mod_ns, std::map<std::uint32_t, std::uint64_t>& out) const;

  // Names and tags people gave devices (set_name.cmd, set_tag.cmd).
  device_annotations& annotations() { return annotations_; }
  const device_annotations& annotations() const { return annotations_; }

  // Persistence. drain_changes() hands every device changed since the last
  // call to `fn` (under its shard lock; encode it and return) and every
  // device evicted since then with a null pointer.
  void drain_changes(const std::function<void(mac_addr, const device*)>& fn);
  // The same for one shard (0 .. shard_count()-1), so a caller can write
  // a large table in pieces instead of holding all of it encoded at once.
  void drain_changes(std::size_t shard, const std::function<void(mac_addr, const device*)>& fn);
  std::size_t shard_count() const { return opts_.shards; }
  // Devices changed or removed and not drained yet.
  std::size_t pending_changes() const;
  // A write of drained changes failed: hand these devices (and removals)
  // out again at the next drain, so nothing changed in memory is lost for
  // the database while it cannot write.
  void redrain(const std::vector<std::uint64_t>& changed, const std::vector<std::uint64_t>& removed);
  // Puts devices loaded from the database in place (before ingest starts).
  void restore(std::vector<std::unique_ptr<device>> devices);

  std::size_t device_count() const { return count_.load(std::memory_order_relaxed); }
  std::uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }
  const oui_table& ouis() const { return ouis_; }
  std::size_t max_devices() const { return opts_.max_devices; }

 private:
  struct shard {
    mutable std::mutex mu;
    mac_index by_mac;  // MAC -> position in `devices`
    std::vector<std::unique_ptr<device>> devices;
    device* newest = nullptr;
    device* oldest = nullptr;
    std::vector<std::uint64_t> dirty, removed;  // MACs, for drain_changes()

    device* find(std::uint64_t mac) const {
      const auto pos = by_mac.find(mac, [this](std::uint32_t p) { return devices[p]->mac.v; });
      return pos == mac_index::npos ? nullptr : devices[pos].get();
    }
    // Puts a device that is not in the shard yet at the end of `devices`.
    device* add(std::unique_ptr<device> owned) {
      device* d = owned.get();
      d->index = static_cast<std::uint32_t>(devices.size());
      devices.push_back(std::move(owned));
      by_mac.insert(d->mac.v, d->index);
      return d;
    }
    // Takes `d` out of the index and the vector (the last device fills its
    // place) and frees it. The recency list is the caller's.
    void remove(device* d) {
      const auto idx = d->index;
      by_mac.erase(d->mac.v, idx);
      const auto last = static_cast<std::uint32_t>(devices.size() - 1);
      if (idx != last) {
        devices[idx] = std::move(devices[last]);
        devices[idx]->index = idx;
        by_mac.move(devices[idx]->mac.v, last, idx);
      }
      devices.pop_back();
    }
  };
  struct packet_ctx;

  shard& shard_of(mac_addr mac) const;
  // Finds (or, when `create`, makes) the device and runs `fn` on it under
  // its shard's lock, marking it modified. Returns false if absent.
  // A template, not std::function: it runs for every device of every
  // packet, and the callers' lambdas are too big for std::function's
  // small-object buffer (a heap allocation each time).
  template <typename Fn>
  bool update(mac_addr mac, bool create, const packet_ctx& ctx, Fn&& fn);
  // What every frame a device sends says about it: signal (also on its
  // seenby entry for this source), frequency, location.
  static void heard_radio(device& d, const packet_ctx& ctx);
  // Moves `d` to the newest end of its shard's list unless it moved within
  // kRelinkNs; true when it moved.
  bool touch(shard& s, device& d, std::uint64_t now_ns);
  void evict_one(shard& s);
  // Raises an event if anyone listens. `d` is the device it is about.
  void emit(event_kind k, const device& d, const packet_ctx& ctx, std::string_view ssid = {}, mac_addr peer = {},
            std::uint8_t eapol = 0) const;

  // 802.11 policy (dot11_tracking.cc).
  void track_mgmt(const dot11_frame& f, const packet_ctx& ctx);
  void track_data(const dot11_frame& f, const packet_ctx& ctx);
  void track_ctrl(const dot11_frame& f, const packet_ctx& ctx);

  options opts_;
  std::size_t per_shard_limit_ = 0;
  const oui_table& ouis_;
  const source_table& sources_;
  event_hub* events_;
  std::unique_ptr<shard[]> shards_;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::uint64_t> evicted_{0};
  device_annotations annotations_;
};

}  // namespace hopwire::collector

#pragma once
// What the tracker's two halves share (device_tracker.cc, the store, and
// dot11_tracking.cc, the 802.11 policy): the per-packet context, the
// bounds on a device's lists, and update(), the one way a packet touches a
// device. Private to track/.

#include <algorithm>
#include <mutex>

#include "collector/track/device_tracker.h"

namespace hopwire::collector {

// Small lists (SSIDs, seenby, peers) are bounded so that a flood of junk
// cannot grow one device without limit.
inline constexpr std::size_t kMaxSsidsPerDevice = 64;
inline constexpr std::size_t kMaxPeersPerDevice = 1024;
inline constexpr std::size_t kMaxSeenby = 256;
inline constexpr std::size_t kMaxAssocRecords = 16;
inline constexpr std::uint64_t kRelinkNs = 100'000'000;  // 100 ms

// Everything about the current packet that every device update needs.
struct device_tracker::packet_ctx {
  std::uint32_t source;
  std::uint64_t ts_ns, now_ns;
  std::uint32_t freq_mhz;
  std::uint32_t bytes;
  const decoded_packet* pkt;
  const dot11_frame* frame;
  bool has_signal;
  std::int16_t signal;
};

template <typename Fn>
bool device_tracker::update(mac_addr mac, bool create, const packet_ctx& ctx, Fn&& fn) {
  shard& s = shard_of(mac);
  std::lock_guard lock(s.mu);
  device* d = s.find(mac.v);
  bool created = false;
  if (!d) {
    if (!create) return false;
    if (per_shard_limit_ && s.devices.size() >= per_shard_limit_) evict_one(s);
    auto owned = std::make_unique<device>();
    owned->mac = mac;
    owned->first_ns = ctx.ts_ns;
    d = s.add(std::move(owned));
    count_.fetch_add(1, std::memory_order_relaxed);
    created = true;
  }
  const bool moved = touch(s, *d, ctx.now_ns);
  if (!d->dirty) {
    d->dirty = true;
    s.dirty.push_back(mac.v);
  }
  // Counters every device in the packet shares.
  ++d->packets;
  d->bytes += ctx.bytes;
  if (ctx.ts_ns > d->last_ns) d->last_ns = ctx.ts_ns;
  if (ctx.ts_ns < d->first_ns) d->first_ns = ctx.ts_ns;
  seenby_entry* sb = nullptr;
  for (auto& e : d->seenby)
    if (e.source == ctx.source) {
      sb = &e;
      break;
    }
  if (!sb && d->seenby.size() < kMaxSeenby) {
    d->seenby.push_back(seenby_entry{ctx.source, 0, 0, ctx.ts_ns, ctx.ts_ns, {}});
    sb = &d->seenby.back();
  }
  if (sb) {
    ++sb->packets;
    if (ctx.ts_ns > sb->last_ns) sb->last_ns = ctx.ts_ns;
    if (ctx.ts_ns < sb->first_ns) sb->first_ns = ctx.ts_ns;
    if (ctx.freq_mhz) sb->freq_mhz = ctx.freq_mhz;
  }
  fn(*d);
  // After fn, so a listener sees what this packet made of the device.
  if (created) emit(event_kind::new_device, *d, ctx);
  else if (moved) emit(event_kind::device_changed, *d, ctx);
  return true;
}

}  // namespace hopwire::collector

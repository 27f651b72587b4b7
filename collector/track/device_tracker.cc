#include "collector/track/device_tracker.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "collector/track/tracker_internal.h"
#include "common/clock.h"

namespace hopwire::collector {

const char* device_type_name(std::uint32_t t) {
  if (t & kTypeAp) return "Wi-Fi AP";
  if (t & kTypeWds) return "Wi-Fi WDS";
  if (t & kTypeAdhoc) return "Wi-Fi Ad-Hoc";
  if (t & kTypeClient) return "Wi-Fi Client";
  if (t & kTypeBridged) return "Wi-Fi Bridged";
  return "Wi-Fi Device";
}

namespace {

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

device_tracker::device_tracker(options opts, const oui_table& ouis, const source_table& sources, event_hub* events)
    : opts_(opts), ouis_(ouis), sources_(sources), events_(events) {
  if (opts_.shards == 0) opts_.shards = 1;
  shards_ = std::make_unique<shard[]>(opts_.shards);
  if (opts_.max_devices) per_shard_limit_ = std::max<std::size_t>(1, (opts_.max_devices + opts_.shards - 1) / opts_.shards);
}

device_tracker::~device_tracker() = default;

device_tracker::shard& device_tracker::shard_of(mac_addr mac) const {
  return shards_[mix(mac.v) % opts_.shards];
}

bool device_tracker::touch(shard& s, device& d, std::uint64_t now_ns) {
  // The list is kept in order of when each device was last moved, and a
  // device modified again within kRelinkNs stays where it is: that spares
  // two cache misses per packet, and readers allow for it (see
  // read_changed_since).
  const bool fresh = d.mod_ns + kRelinkNs > now_ns && d.mod_ns != 0;
  d.mod_ns = std::max(d.mod_ns, now_ns);
  if (s.newest == &d || fresh) return false;
  // Unlink, then push at the newest end.
  if (d.newer) d.newer->older = d.older;
  if (d.older) d.older->newer = d.newer;
  if (s.oldest == &d) s.oldest = d.newer;
  d.older = s.newest;
  d.newer = nullptr;
  if (s.newest) s.newest->newer = &d;
  s.newest = &d;
  if (!s.oldest) s.oldest = &d;
  return true;
}

void device_tracker::evict_one(shard& s) {
  device* victim = s.oldest;
  if (!victim) return;
  s.oldest = victim->newer;
  if (s.oldest) s.oldest->older = nullptr;
  if (s.newest == victim) s.newest = nullptr;
  s.removed.push_back(victim->mac.v);
  s.remove(victim);
  count_.fetch_sub(1, std::memory_order_relaxed);
  evicted_.fetch_add(1, std::memory_order_relaxed);
}

void device_tracker::emit(event_kind k, const device& d, const packet_ctx& ctx, std::string_view ssid, mac_addr peer,
                          std::uint8_t eapol) const {
  if (!events_ || !events_->wants(k)) return;
  tracker_event e;
  e.kind = k;
  e.device = d.mac;
  e.peer = peer;
  e.source = ctx.source;
  e.ts_ns = ctx.ts_ns;
  e.ssid = ssid;
  e.eapol_message = eapol;
  e.device_types = d.types;
  events_->publish(e);
}

void device_tracker::on_packets(const ingest_source& source, std::span<const decoded_packet> packets) {
  const auto now = wall_ns();
  for (const auto& p : packets) track(source.index, p, now);
}

void device_tracker::track(std::uint32_t source, const decoded_packet& p, std::uint64_t now_ns) {
  if (p.error()) return;
  const dot11_frame& f = p.dot11;
  packet_ctx ctx{};
  ctx.source = source;
  ctx.ts_ns = p.ts_ns;
  ctx.now_ns = now_ns;
  ctx.freq_mhz = p.freq_mhz();
  ctx.bytes = p.length();
  ctx.pkt = &p;
  ctx.frame = &f;
  ctx.has_signal = p.has_signal();
  ctx.signal = p.signal_dbm();
  switch (f.kind) {
    case frame_kind::mgmt: track_mgmt(f, ctx); break;
    case frame_kind::data: track_data(f, ctx); break;
    case frame_kind::ctrl: track_ctrl(f, ctx); break;
    case frame_kind::ext: break;
  }
}

namespace {

// A deep copy, made under the shard lock so the reader can take its time
// (device copies all it holds; see detail_ptr).
void copy_device(const device& from, device& to) { to = from; }

constexpr std::size_t kReadChunk = 16;

}  // namespace

device_tracker::reader device_tracker::read_changed_since(std::uint64_t mod_ns) const {
  reader r(*this, reader::mode::changed);
  r.since_ = mod_ns;
  return r;
}

device_tracker::reader device_tracker::read_macs(const std::vector<mac_addr>& macs) const {
  reader r(*this, reader::mode::macs);
  r.macs_.reserve(macs.size());
  for (const auto m : macs) r.macs_.push_back(m.v);
  return r;
}

std::size_t device_tracker::reader::next(device* out, std::size_t max) {
  std::size_t n = 0;
  const std::size_t shards = t_->opts_.shards;
  if (mode_ == mode::macs) {
    while (n < max && pos_ < macs_.size()) {
      const std::uint64_t mac = macs_[pos_++];
      shard& s = t_->shard_of(mac_addr{mac});
      std::lock_guard lock(s.mu);
      if (const device* d = s.find(mac)) copy_device(*d, out[n++]);
    }
    return n;
  }
  while (n == 0 && shard_ < shards) {
    shard& s = t_->shards_[shard_];
    std::lock_guard lock(s.mu);
    if (mode_ == mode::all) {
      const auto end = std::min(pos_ + max, s.devices.size());
      for (; pos_ < end; ++pos_) copy_device(*s.devices[pos_], out[n++]);
      if (pos_ >= s.devices.size()) {
        ++shard_;
        pos_ = 0;
      }
      continue;
    }
    if (!collected_) {
      // The list is ordered by when devices were last moved, which trails
      // their mod_ns by less than kRelinkNs: walk that much further.
      const std::uint64_t stop = since_ > kRelinkNs ? since_ - kRelinkNs : 0;
      macs_.clear();
      for (const device* d = s.newest; d && d->mod_ns >= stop; d = d->older)
        if (d->mod_ns >= since_) macs_.push_back(d->mac.v);
      collected_ = true;
      pos_ = 0;
    }
    while (n < max && pos_ < macs_.size())
      if (const device* d = s.find(macs_[pos_++])) copy_device(*d, out[n++]);
    if (pos_ >= macs_.size()) {
      ++shard_;
      collected_ = false;
    }
  }
  return n;
}

void device_tracker::for_each(const visitor& fn) const {
  // A few devices copied per lock hold, so ingest waits microseconds at most.
  device copies[kReadChunk];
  auto r = read_all();
  while (const auto n = r.next(copies, kReadChunk))
    for (std::size_t j = 0; j < n; ++j) fn(copies[j]);
}

void device_tracker::for_each_changed_since(std::uint64_t mod_ns, const visitor& fn) const {
  device copies[kReadChunk];
  auto r = read_changed_since(mod_ns);
  while (const auto n = r.next(copies, kReadChunk))
    for (std::size_t j = 0; j < n; ++j) fn(copies[j]);
}

void device_tracker::drain_changes(const std::function<void(mac_addr, const device*)>& fn) {
  for (std::size_t i = 0; i < opts_.shards; ++i) drain_changes(i, fn);
}

void device_tracker::drain_changes(std::size_t shard_index, const std::function<void(mac_addr, const device*)>& fn) {
  shard& s = shards_[shard_index];
  std::vector<std::uint64_t> dirty, removed;
  {
    std::lock_guard lock(s.mu);
    dirty.swap(s.dirty);
    removed.swap(s.removed);
  }
  for (const auto mac : removed) {
    std::lock_guard lock(s.mu);
    if (!s.find(mac)) fn(mac_addr{mac}, nullptr);  // else it came back and is dirty
  }
  for (std::size_t pos = 0; pos < dirty.size(); pos += kReadChunk) {
    std::lock_guard lock(s.mu);
    const auto end = std::min(pos + kReadChunk, dirty.size());
    for (std::size_t j = pos; j < end; ++j)
      if (device* d = s.find(dirty[j]); d && d->dirty) {
        d->dirty = false;
        fn(d->mac, d);
      }
  }
}

std::size_t device_tracker::pending_changes() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < opts_.shards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].dirty.size() + shards_[i].removed.size();
  }
  return n;
}

void device_tracker::redrain(const std::vector<std::uint64_t>& changed, const std::vector<std::uint64_t>& removed) {
  for (const auto mac : changed) {
    shard& s = shard_of(mac_addr{mac});
    std::lock_guard lock(s.mu);
    if (device* d = s.find(mac); d && !d->dirty) {
      d->dirty = true;
      s.dirty.push_back(mac);
    }
  }
  for (const auto mac : removed) {
    shard& s = shard_of(mac_addr{mac});
    std::lock_guard lock(s.mu);
    s.removed.push_back(mac);
  }
}

void device_tracker::restore(std::vector<std::unique_ptr<device>> devices) {
  // Oldest first, so each shard's list ends up in modification order.
  std::sort(devices.begin(), devices.end(),
            [](const auto& a, const auto& b) { return a->mod_ns < b->mod_ns; });
  for (auto& owned : devices) {
    shard& s = shard_of(owned->mac);
    std::lock_guard lock(s.mu);
    if (s.find(owned->mac.v)) continue;
    if (per_shard_limit_ && s.devices.size() >= per_shard_limit_) evict_one(s);
    owned->dirty = false;
    owned->newer = owned->older = nullptr;
    device* d = s.add(std::move(owned));
    count_.fetch_add(1, std::memory_order_relaxed);
    const auto mod = d->mod_ns;
    d->mod_ns = 0;
    touch(s, *d, mod);
  }
}

void device_tracker::for_each_in_place(const visitor& fn) const {
  for (std::size_t i = 0; i < opts_.shards; ++i) {
    shard& s = shards_[i];
    for (std::size_t pos = 0;; pos += kReadChunk) {
      std::lock_guard lock(s.mu);
      if (pos >= s.devices.size()) break;
      const auto end = std::min(pos + kReadChunk, s.devices.size());
      for (std::size_t j = pos; j < end; ++j) fn(*s.devices[j]);
    }
  }
}

void device_tracker::count_changed_by_freq(std::uint64_t mod_ns, std::map<std::uint32_t, std::uint64_t>& out) const {
  // The recency list trails mod_ns by less than kRelinkNs (see touch()).
  // Counted into a small flat table first: a radio hears a few dozen
  // frequencies, and the last one found is most often the next.
  const std::uint64_t stop = mod_ns > kRelinkNs ? mod_ns - kRelinkNs : 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> counts;
  std::size_t last = 0;
  const auto count = [&](const device& d) {
    if (d.mod_ns < mod_ns || !d.freq_mhz) return;
    if (last >= counts.size() || counts[last].first != d.freq_mhz) {
      last = 0;
      while (last < counts.size() && counts[last].first != d.freq_mhz) ++last;
      if (last == counts.size()) counts.emplace_back(d.freq_mhz, 0);
    }
    ++counts[last].second;
  };
  constexpr std::size_t kAhead = 8;
  for (std::size_t i = 0; i < opts_.shards; ++i) {
    shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    if (s.oldest && s.oldest->mod_ns >= stop) {
      // The whole shard is recent (a busy city): the device vector's loads
      // are independent and overlap, where the list's wait on each other
      // (a cache miss each: 190 ms a second for a million devices).
      const auto& v = s.devices;
      for (std::size_t j = 0; j < v.size(); ++j) {
        if (j + kAhead < v.size()) __builtin_prefetch(v[j + kAhead].get());
        count(*v[j]);
      }
      continue;
    }
    for (const device* d = s.newest; d && d->mod_ns >= stop; d = d->older) count(*d);
  }
  for (const auto& [freq, n] : counts) out[freq] += n;
}

bool device_tracker::visit(mac_addr mac, const visitor& fn) const {
  shard& s = shard_of(mac);
  std::lock_guard lock(s.mu);
  const device* d = s.find(mac.v);
  if (!d) return false;
  fn(*d);
  return true;
}

}  // namespace hopwire::collector

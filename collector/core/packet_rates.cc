#include "collector/core/packet_rates.h"

#include <algorithm>

#include "common/channel.h"
#include "common/clock.h"

namespace hopwire::collector {

packet_rates::channel_record& packet_rates::record(std::uint32_t freq_khz) {
  auto [it, fresh] = by_freq_.try_emplace(freq_khz);
  if (fresh) {
    it->second.freq_khz = freq_khz;
    if (const unsigned c = mhz_to_channel(freq_khz / 1000)) it->second.channel = std::to_string(c);
  }
  return it->second;
}

void packet_rates::on_packets(const ingest_source&, std::span<const decoded_packet> packets) {
  // Summed over the chunk first: one lock per chunk, a few frequencies each.
  struct sum {
    std::uint32_t freq_khz;
    std::uint64_t packets = 0, bytes = 0;
    signal_summary signal;
  };
  sum sums[8];
  std::size_t n = 0;
  std::uint64_t now_s = 0;
  auto flush = [&] {
    if (n == 0) return;
    if (now_s == 0) now_s = wall_ns() / 1000000000ull;
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < n; ++i) {
      auto& r = record(sums[i].freq_khz);
      r.packets.add(static_cast<double>(sums[i].packets), now_s);
      r.bytes.add(static_cast<double>(sums[i].bytes), now_s);
      if (const auto& s = sums[i].signal; s.valid) {
        if (!r.signal.valid || s.min < r.signal.min) r.signal.min = s.min;
        if (!r.signal.valid || s.max > r.signal.max) r.signal.max = s.max;
        r.signal.last = s.last;
        r.signal.valid = true;
      }
    }
    n = 0;
  };
  for (const auto& p : packets) {
    const std::uint32_t mhz = p.freq_mhz();
    if (mhz == 0) continue;
    const std::uint32_t khz = mhz * 1000;
    std::size_t i = 0;
    while (i < n && sums[i].freq_khz != khz) ++i;
    if (i == n) {
      if (n == std::size(sums)) {
        flush();
        i = 0;
      }
      sums[n] = sum{khz};
      i = n++;
    }
    auto& s = sums[i];
    ++s.packets;
    s.bytes += p.length();
    if (p.has_signal()) {
      const auto dbm = p.signal_dbm();
      if (!s.signal.valid || dbm < s.signal.min) s.signal.min = dbm;
      if (!s.signal.valid || dbm > s.signal.max) s.signal.max = dbm;
      s.signal.last = dbm;
      s.signal.valid = true;
    }
  }
  flush();
}

void packet_rates::tick(std::uint64_t now_ns, const std::map<std::uint32_t, std::uint64_t>& active_by_mhz) {
  const std::uint64_t now = now_ns / 1000000000ull;
  // Outside the lock: the registry takes each source's own.
  std::uint64_t dropped = 0, queued = 0;
  for (const auto& s : sources_.all()) {
    std::lock_guard lock(s->mu);
    const auto& r = s->rec;
    dropped += r.dropped_ring_base + r.dropped_ring_boot + r.dropped_kernel_base + r.dropped_kernel_boot;
    if (s->running && s->captured > s->acked) queued += s->captured - s->acked;
  }
  const std::uint64_t processed = pipeline_.packets();
  const std::uint64_t in = processed + pipeline_.set_aside();
  const std::uint64_t errors = pipeline_.error_packets();

  std::lock_guard lock(mu_);
  auto grow = [](std::uint64_t now_v, std::uint64_t& seen) {
    const std::uint64_t d = now_v >= seen ? now_v - seen : 0;
    seen = now_v;
    return static_cast<double>(d);
  };
  if (!primed_) {
    // The pipeline counts from this start, all of it a rate; the sources'
    // drops include what they lost before it, which is not.
    seen_dropped_ = dropped;
    primed_ = true;
  }
  const double packets = grow(in, seen_packets_);
  chain_.packets.add(packets, now);
  chain_.peak.add(packets, now);
  chain_.processed.add(grow(processed, seen_processed_), now);
  chain_.errors.add(grow(errors, seen_errors_), now);
  chain_.dropped.add(grow(dropped, seen_dropped_), now);
  // Resent batches are dropped whole by sequence before any packet is read;
  // no packet is ever a duplicate here (see docs/kismet-compat.md).
  chain_.dupes.add(0, now);
  chain_.queued.add(static_cast<double>(queued), now);
  for (auto& [khz, r] : by_freq_) {
    auto it = active_by_mhz.find(khz / 1000);
    r.devices.add(it == active_by_mhz.end() ? 0.0 : static_cast<double>(it->second), now);
  }
}

packet_rates::packet_chain packet_rates::chain() const {
  std::lock_guard lock(mu_);
  return chain_;
}

std::vector<packet_rates::channel_record> packet_rates::channels() const {
  std::lock_guard lock(mu_);
  std::vector<channel_record> out;
  out.reserve(by_freq_.size());
  for (const auto& [k, r] : by_freq_) out.push_back(r);
  return out;
}

}  // namespace hopwire::collector

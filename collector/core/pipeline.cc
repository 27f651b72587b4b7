#include "collector/core/pipeline.h"

#include <algorithm>
#include <cmath>

#include "common/clock.h"
#include "common/protocol.h"

namespace hopwire::collector {

std::uint64_t ingest_pipeline::deliver(source_entry& source, const wire::PacketBatch& b) {
  // One buffer per link thread, reused: no allocation per batch once warm.
  thread_local std::vector<decoded_packet> packets;
  packets.clear();
  const auto* recs = b.packets();
  const auto* data = b.data();
  if (!recs || !data) return 0;
  const auto* gps = b.gps();
  packets.resize(recs->size());
  std::size_t i = 0;
  for (const auto* r : *recs) {
    decoded_packet& p = packets[i++];
    p.ts_ns = r->ts_ns();
    p.dlt = r->dlt();
    p.orig_len = r->orig_len();
    p.sensor_freq_khz = r->freq_khz();
    p.sensor_has_signal = r->flags() & protocol::kFlagSignal;
    p.sensor_signal_dbm = r->signal_dbm();
    p.has_gps = (r->flags() & protocol::kFlagGps) && gps && r->gps_index() < gps->size();
    if (p.has_gps) {
      const auto* g = gps->Get(r->gps_index());
      p.lat = g->lat();
      p.lon = g->lon();
      p.alt = g->alt();
    }
    // check_batch() has verified the offsets.
    p.bytes = std::span<const std::uint8_t>(data->data() + r->data_offset(), r->cap_len());
  }
  return deliver(source, packets);
}

std::uint64_t ingest_pipeline::deliver(source_entry& source, std::vector<decoded_packet>& packets) {
  if (packets.empty()) return 0;
  ingest_source src;
  bool stamp;
  std::string meta;
  std::optional<gps_fix> fixed;
  {
    std::lock_guard lock(source.mu);
    src.index = source.index;
    src.id = source.id;
    src.uuid = source.rec.uuid;
    src.name = source.rec.name;
    stamp = source.options.stamp_time;
    meta = source.options.metagps;
    fixed = source.fixed_location;
  }
  if (stamp) {
    // Shift the batch so its newest packet is "now": spacing and order
    // within the batch stay as the sensor measured them.
    std::uint64_t newest = 0;
    for (const auto& p : packets) newest = std::max(newest, p.ts_ns);
    const std::int64_t shift = static_cast<std::int64_t>(wall_ns()) - static_cast<std::int64_t>(newest);
    for (auto& p : packets) p.ts_ns = static_cast<std::uint64_t>(static_cast<std::int64_t>(p.ts_ns) + shift);
  }
  // Packets without a position of their own take the virtual GPS's, else
  // the fleet file's fixed location.
  if (const auto fix = meta.empty() ? fixed : gps_.get(meta)) {
    for (auto& p : packets) {
      if (p.has_gps) continue;
      p.has_gps = true;
      p.lat = fix->lat;
      p.lon = fix->lon;
      p.alt = fix->has_alt ? fix->alt : std::nan("");
    }
  }
  std::uint64_t errors = 0;
  for (auto& p : packets) {
    decode_packet(p, anomalies_);
    errors += p.error();
  }
  packets_.fetch_add(packets.size(), std::memory_order_relaxed);
  errors_.fetch_add(errors, std::memory_order_relaxed);
  const std::span<const decoded_packet> view(packets);
  for (auto* sink : sinks_) sink->on_packets(src, view);
  return errors;
}

}  // namespace hopwire::collector

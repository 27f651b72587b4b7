#include "collector/core/pipeline.h"

#include <algorithm>
#include <cmath>

#include "common/clock.h"
#include "common/protocol.h"

namespace hopwire::collector {

namespace {

// Packets are decoded and handed on in chunks this long: a chunk of
// decoded packets (about 54 KB) stays in the core's cache while every sink
// reads it, where a whole batch (up to 8192 packets, 3.5 MB) would not.
constexpr std::size_t kChunk = 128;

}  // namespace

// What the collector changes in every packet of a batch, read once.
struct batch_adjustments {
  bool stamp = false;
  bool forward = true;  // the batch moves later (else earlier) by shift
  std::uint64_t shift = 0;
  std::optional<gps_fix> fix;

  void apply(decoded_packet& p) const {
    if (stamp) p.ts_ns = forward ? p.ts_ns + shift : (p.ts_ns > shift ? p.ts_ns - shift : 0);
    if (fix && !p.has_gps) {
      p.has_gps = true;
      p.lat = fix->lat;
      p.lon = fix->lon;
      p.alt = fix->has_alt ? fix->alt : std::nan("");
    }
  }
};

ingest_source ingest_pipeline::begin(source_entry& source, std::uint64_t newest_ns, batch_adjustments& adj) const {
  ingest_source src;
  std::string meta;
  std::optional<gps_fix> fixed;
  {
    std::lock_guard lock(source.mu);
    src.index = source.index;
    src.id = source.id;
    src.uuid = source.rec.uuid;
    src.name = source.rec.name;
    adj.stamp = source.options.stamp_time;
    meta = source.options.metagps;
    fixed = source.fixed_location;
  }
  // Shift the batch so its newest packet is "now": spacing and order
  // within the batch stay as the sensor measured them.
  if (adj.stamp) {
    // In unsigned arithmetic: a sensor's clock may say anything.
    const std::uint64_t now = wall_ns();
    adj.forward = now >= newest_ns;
    adj.shift = adj.forward ? now - newest_ns : newest_ns - now;
  }
  // Packets without a position of their own take the virtual GPS's, else
  // the fleet file's fixed location.
  adj.fix = meta.empty() ? fixed : gps_.get(meta);
  return src;
}

void ingest_pipeline::note_position(source_entry& source, const std::optional<gps_fix>& position) {
  if (!position) return;
  std::lock_guard lock(source.mu);
  source.last_position = position;
}

bool ingest_pipeline::set_aside(source_entry& source, std::size_t n) {
  {
    std::lock_guard lock(source.mu);
    if (!source.paused) return false;
    source.set_aside += n;
  }
  set_aside_.fetch_add(n, std::memory_order_relaxed);
  return true;
}

std::uint64_t ingest_pipeline::finish(const ingest_source& src, std::span<decoded_packet> chunk,
                                      std::optional<gps_fix>& position) {
  std::uint64_t errors = 0;
  for (auto& p : chunk) {
    decode_packet(p, anomalies_);
    errors += p.error();
    if (p.has_gps) {
      gps_fix f;
      f.lat = p.lat;
      f.lon = p.lon;
      f.alt = p.alt;
      f.has_alt = !std::isnan(p.alt);
      f.updated_ns = p.ts_ns;
      position = f;
    }
  }
  const std::span<const decoded_packet> view(chunk.data(), chunk.size());
  for (auto* sink : sinks_) sink->on_packets(src, view);
  return errors;
}

std::uint64_t ingest_pipeline::deliver(source_entry& source, const wire::PacketBatch& b) {
  const auto* recs = b.packets();
  const auto* data = b.data();
  if (!recs || !data || recs->size() == 0) return 0;
  if (set_aside(source, recs->size())) return 0;
  const auto* gps = b.gps();
  std::uint64_t newest = 0;
  for (const auto* r : *recs) newest = std::max<std::uint64_t>(newest, r->ts_ns());
  batch_adjustments adj;
  const ingest_source src = begin(source, newest, adj);

  // One buffer per link thread, reused: no allocation once warm.
  thread_local std::vector<decoded_packet> chunk(kChunk);
  std::uint64_t errors = 0;
  std::optional<gps_fix> position;
  const std::size_t n = recs->size();
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t len = std::min(kChunk, n - start);
    for (std::size_t i = 0; i < len; ++i) {
      const auto* r = recs->Get(static_cast<flatbuffers::uoffset_t>(start + i));
      decoded_packet& p = chunk[i];
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
      adj.apply(p);
    }
    errors += finish(src, std::span<decoded_packet>(chunk.data(), len), position);
  }
  for (auto* sink : sinks_) sink->on_batch_end(src);
  note_position(source, position);
  packets_.fetch_add(n, std::memory_order_relaxed);
  errors_.fetch_add(errors, std::memory_order_relaxed);
  return errors;
}

std::uint64_t ingest_pipeline::deliver(source_entry& source, std::vector<decoded_packet>& packets) {
  if (packets.empty()) return 0;
  if (set_aside(source, packets.size())) return 0;
  std::uint64_t newest = 0;
  for (const auto& p : packets) newest = std::max(newest, p.ts_ns);
  batch_adjustments adj;
  const ingest_source src = begin(source, newest, adj);
  std::uint64_t errors = 0;
  std::optional<gps_fix> position;
  for (auto& p : packets) adj.apply(p);
  for (std::size_t start = 0; start < packets.size(); start += kChunk)
    errors += finish(src, std::span<decoded_packet>(packets.data() + start, std::min(kChunk, packets.size() - start)),
                     position);
  for (auto* sink : sinks_) sink->on_batch_end(src);
  note_position(source, position);
  packets_.fetch_add(packets.size(), std::memory_order_relaxed);
  errors_.fetch_add(errors, std::memory_order_relaxed);
  return errors;
}

}  // namespace hopwire::collector

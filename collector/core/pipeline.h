#pragma once
// The collector's ingest stages after a link has accepted a batch: the
// collector's adjustments (its clock for live radios, a virtual or fixed
// position), the decode stage (each packet decoded once), then every sink
// in turn — tracker, pcap-ng hub, packet log, alerts — on the same decoded
// packets, a chunk of a batch at a time. Runs on the link's thread; sinks
// must not block.

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "collector/core/meta_gps.h"
#include "collector/core/sources.h"
#include "collector/decode/anomalies.h"
#include "collector/decode/decoded_packet.h"
#include "common/uuid.h"
#include "hopwire/hopwire_generated.h"

namespace hopwire::collector {

// The source of a batch as sinks see it.
struct ingest_source {
  std::uint32_t index = 0;  // in the source table
  hopwire::uuid id;
  std::string uuid, name;
};

class packet_sink {
 public:
  virtual ~packet_sink() = default;
  // Called for each chunk of a batch, in order; then on_batch_end once.
  virtual void on_packets(const ingest_source& source, std::span<const decoded_packet> packets) = 0;
  virtual void on_batch_end(const ingest_source& source) {}
};

struct batch_adjustments;  // pipeline.cc

class ingest_pipeline {
 public:
  explicit ingest_pipeline(const meta_gps& gps) : gps_(gps) {}

  // Before the first batch.
  void add_sink(packet_sink* sink) { sinks_.push_back(sink); }

  // Decodes a checked batch (protocol::check_batch) once and hands it to
  // every sink. Returns how many of its packets were errors (undecodable,
  // bad FCS), which the caller adds to the source's count.
  std::uint64_t deliver(source_entry& source, const wire::PacketBatch& batch);
  // The same for packets already in decoded form (their wire fields set):
  // other link protocols.
  std::uint64_t deliver(source_entry& source, std::vector<decoded_packet>& packets);

  std::uint64_t packets() const { return packets_.load(std::memory_order_relaxed); }
  std::uint64_t error_packets() const { return errors_.load(std::memory_order_relaxed); }
  // Packets of paused sources (source_entry::paused), received but not used.
  std::uint64_t set_aside() const { return set_aside_.load(std::memory_order_relaxed); }
  const anomaly_counters& anomalies() const { return anomalies_; }

 private:
  // The source as sinks see it, and what to change in its packets.
  ingest_source begin(source_entry& source, std::uint64_t newest_ns, batch_adjustments& adj) const;
  // Decodes a chunk and hands it to every sink; returns its error packets.
  std::uint64_t finish(const ingest_source& src, std::span<decoded_packet> chunk, std::optional<gps_fix>& position);
  // Remembers where the source's newest placed packet was.
  static void note_position(source_entry& source, const std::optional<gps_fix>& position);
  // True (and counted) when the source is paused: its packets go no further.
  bool set_aside(source_entry& source, std::size_t n);

  const meta_gps& gps_;
  std::vector<packet_sink*> sinks_;
  anomaly_counters anomalies_;
  std::atomic<std::uint64_t> packets_{0}, errors_{0}, set_aside_{0};
};

}  // namespace hopwire::collector

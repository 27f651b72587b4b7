#pragma once
// The collector's packet counts over time, as Kismet's packet chain and
// channel tracker show them (/packetchain/..., /channels/channels.json):
// minute/hour/day rings (rrd.h) of packets in, processed, errors, duplicates,
// drops, backlog and the peak rate, fed once a second from the pipeline's and
// the sources' counters; and per frequency, the packets and bytes heard
// there (counted as a sink, a chunk at a time), their signal, and how many
// devices were active there.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "collector/core/pipeline.h"
#include "collector/core/rrd.h"
#include "collector/core/sources.h"

namespace hopwire::collector {

class packet_rates final : public packet_sink {
 public:
  struct signal_summary {
    std::int16_t last = 0, min = 0, max = 0;
    bool valid = false;
  };
  // One frequency as Kismet's channel tracker keeps it.
  struct channel_record {
    std::uint32_t freq_khz = 0;
    std::string channel;  // "6", "36"; empty when the frequency has no channel number
    rrd packets, bytes, devices{rrd::combine::sum};
    signal_summary signal;
  };
  struct packet_chain {
    rrd packets, processed, errors, dupes, dropped;
    rrd queued{rrd::combine::extreme};
    rrd peak{rrd::combine::peak};
  };

  packet_rates(const ingest_pipeline& pipeline, const source_registry& sources)
      : pipeline_(pipeline), sources_(sources) {}

  void on_packets(const ingest_source& source, std::span<const decoded_packet> packets) override;

  // Once a second: the counters' growth since the last tick goes into the
  // rings at `now_ns`'s second; `active_by_mhz` is how many devices were
  // active on each frequency (MHz), for the channels' device rings.
  void tick(std::uint64_t now_ns, const std::map<std::uint32_t, std::uint64_t>& active_by_mhz = {});

  // Copies, for an answer.
  packet_chain chain() const;
  std::vector<channel_record> channels() const;

 private:
  channel_record& record(std::uint32_t freq_khz);  // mu_ held

  const ingest_pipeline& pipeline_;
  const source_registry& sources_;
  mutable std::mutex mu_;
  packet_chain chain_;
  std::map<std::uint32_t, channel_record> by_freq_;
  bool primed_ = false;
  std::uint64_t seen_packets_ = 0, seen_processed_ = 0, seen_errors_ = 0, seen_dropped_ = 0;
};

}  // namespace hopwire::collector

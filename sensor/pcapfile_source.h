#pragma once
// The pcapfile backend: replays a pcap or pcap-ng file, as fast as the link
// allows (realtime=false, the default), paced by its timestamps
// (realtime=true) or at a fixed packet rate (pps=N); loop=true repeats it.

#include <thread>

#include "sensor/capture_file.h"
#include "sensor/capture_source.h"

namespace hopwire::sensor {

class pcapfile_source final : public capture_source {
 public:
  pcapfile_source(const source_definition& def, const source_globals& globals);
  ~pcapfile_source() override;

  void start(packet_ring& ring, std::function<void()> on_done) override;
  void stop() override;

 private:
  void run(packet_ring& ring, std::function<void()> on_done);
  bool pace(std::uint64_t packet_ts_ns, std::uint64_t index);

  capture_file file_;
  source_globals globals_;
  bool realtime_ = false;
  bool loop_ = false;
  double pps_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Pacing state.
  std::uint64_t first_ts_ns_ = 0;
  std::uint64_t start_mono_ns_ = 0;
  std::uint64_t paced_count_ = 0;
};

}  // namespace hopwire::sensor

// The pcap-ng hub's cost on the ingest path, in process (prints numbers; not
// a test): batches of crafted radiotap packets through pcap_hub::on_batch
// with no stream, with one stream that never reads (every packet dropped
// once its queue is full, as for a stalled client), and with one stream
// drained as fast as possible.
//
//   hopwire_pcap_hub_bench [--batches 2000]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_frames.h"
#include "collector/stream/pcap_hub.h"
#include "collector/core/sources.h"
#include "hopwire/hopwire_generated.h"

using namespace hopwire;
using namespace hopwire::collector;
using namespace hopwire::bench;
using clk = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::size_t batches = 2000;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!std::strcmp(argv[i], "--batches")) batches = std::strtoull(argv[i + 1], nullptr, 10);
  const auto w = make_workload(1000, 0x0000a0000000ULL);
  flatbuffers::FlatBufferBuilder fbb(1 << 20);
  std::vector<wire::PacketRecord> recs;
  std::vector<std::uint8_t> data;
  for (std::size_t i = 0; i < 2048; ++i) {
    const auto& f = w.frames[i % w.frames.size()];
    recs.emplace_back(1'700'000'000'000'000'000ULL + i * 1000, static_cast<std::uint32_t>(data.size()),
                      static_cast<std::uint32_t>(f.size()), static_cast<std::uint32_t>(f.size()), 127, 2437000, -50,
                      1, 0);
    data.insert(data.end(), f.begin(), f.end());
  }
  const auto batch = wire::CreatePacketBatch(fbb, 1, fbb.CreateVectorOfStructs(recs), fbb.CreateVector(data));
  fbb.Finish(batch);
  const auto* b = flatbuffers::GetRoot<wire::PacketBatch>(fbb.GetBufferPointer());
  // The decode stage runs once per packet before every sink; the hub reads
  // its result. Decoded here, outside the timing (tracker_bench times it).
  std::vector<decoded_packet> packets(b->packets()->size());
  anomaly_counters an;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto* r = b->packets()->Get(static_cast<flatbuffers::uoffset_t>(i));
    auto& p = packets[i];
    p.ts_ns = r->ts_ns();
    p.dlt = r->dlt();
    p.orig_len = r->orig_len();
    p.sensor_freq_khz = r->freq_khz();
    p.sensor_has_signal = true;
    p.sensor_signal_dbm = r->signal_dbm();
    p.bytes = std::span<const std::uint8_t>(b->data()->data() + r->data_offset(), r->cap_len());
    decode_packet(p, an);
  }
  ingest_source src;
  src.uuid = "5f0c1e9a-7f5e-4e55-9c1a-4b7f6c2d9e01";
  src.name = "bench";

  auto run = [&](const char* label, pcap_hub& hub, const std::shared_ptr<body_stream>& drain) {
    std::string sink;
    const auto t0 = clk::now();
    for (std::size_t i = 0; i < batches; ++i) {
      hub.on_packets(src, packets);
      if (drain) {
        sink.clear();
        while (true) {
          const auto before = sink.size();
          drain->pull(sink, 1 << 20, [] {});
          if (sink.size() == before) break;
        }
      }
    }
    const double s = std::chrono::duration<double>(clk::now() - t0).count();
    const double packets = double(batches) * 2048;
    std::printf("%-34s %8.1f ns/packet (%.0f packets/s)\n", label, s * 1e9 / packets, packets / s);
  };
  {
    pcap_hub hub(4 << 20);
    run("no stream", hub, nullptr);
  }
  {
    pcap_hub hub(4 << 20);
    auto stalled = hub.subscribe({}, "bench");
    run("one stalled stream (drops)", hub, nullptr);
    stalled->close();
  }
  {
    pcap_hub hub(4 << 20);
    auto fast = hub.subscribe({}, "bench");
    run("one stream drained (encode + copy)", hub, fast);
    fast->close();
  }
  return 0;
}

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
#include "collector/pcap_hub.h"
#include "collector/sources.h"
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
  source_entry src;
  src.rec.uuid = "5f0c1e9a-7f5e-4e55-9c1a-4b7f6c2d9e01";
  src.rec.name = "bench";

  auto run = [&](const char* label, pcap_hub& hub, const std::shared_ptr<body_stream>& drain) {
    std::string sink;
    const auto t0 = clk::now();
    for (std::size_t i = 0; i < batches; ++i) {
      hub.on_batch(src, *b);
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

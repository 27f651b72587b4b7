// Alert engine benchmark (a program that prints numbers; not a test):
// decode + track of a crafted mix, in the pipeline's chunks of 128, with
// the alert engine as a second sink and without it, on one thread and on
// several at once (the link threads). Mixes: the tracker benchmark's
// (beacons, probe requests, protected data), a beacon-heavy one (what a
// busy channel looks like), and the first again with known networks, a
// canary and a watch list configured, so the lookups they add are paid.
//
//   hopwire_alert_bench [--packets 1000000] [--devices 20000] [--threads 2]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_frames.h"
#include "collector/alerts/alert_engine.h"
#include "collector/track/device_tracker.h"
#include "collector/track/oui_table.h"

using namespace hopwire;
using namespace hopwire::collector;
using namespace hopwire::bench;
using clk = std::chrono::steady_clock;

namespace {

constexpr std::size_t kChunk = 128;

// Decodes and hands chunks to the sinks, as ingest_pipeline::finish does.
double run(const workload& w, std::size_t packets, std::vector<packet_sink*> sinks, const ingest_source& src,
           std::size_t offset) {
  std::vector<decoded_packet> chunk(kChunk);
  anomaly_counters an;
  const std::uint64_t t0 = 1'700'000'000'000'000'000ULL;
  const auto start = clk::now();
  for (std::size_t done = 0; done < packets;) {
    const std::size_t n = std::min(kChunk, packets - done);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& f = w.frames[(offset + done + i) % w.frames.size()];
      decoded_packet& p = chunk[i];
      p = decoded_packet{};
      p.dlt = 127;
      p.bytes = f;
      p.orig_len = static_cast<std::uint32_t>(f.size());
      p.ts_ns = t0 + (done + i) * 1000;
      decode_packet(p, an);
    }
    const std::span<const decoded_packet> view(chunk.data(), n);
    for (auto* s : sinks) s->on_packets(src, view);
    done += n;
  }
  return std::chrono::duration<double>(clk::now() - start).count();
}

workload beacon_heavy(std::size_t devices, std::uint64_t base) {
  // 60 % beacons from a few hundred APs, the rest probes and data.
  workload w;
  const std::size_t aps = std::max<std::size_t>(1, devices / 50);
  for (std::size_t i = 0; i < devices; ++i) {
    const std::uint64_t ap = base + (i % aps);
    w.frames.push_back(beacon(ap, static_cast<int>(i % aps)));
    w.frames.push_back(beacon(ap, static_cast<int>(i % aps)));
    w.frames.push_back(beacon(ap, static_cast<int>(i % aps)));
    w.frames.push_back(probe(base + aps + i, static_cast<int>(i)));
    w.frames.push_back(data(base + aps + i, ap, static_cast<int>(i)));
  }
  return w;
}

alerts_config configured() {
  alerts_config c;
  std::string why;
  for (int i = 0; i < 20; ++i) {
    known_network n;
    n.ssid = "bench-ap-" + std::to_string(i * 7);
    n.bssids.push_back(*try_parse_mac_mask("00:00:A0:00:00:00/24", why));
    n.encryption = kNetWpa2 | kNetWpa3;
    n.channels = {1, 6, 11};
    c.known_networks.push_back(n);
  }
  c.canaries.push_back({"canary", "nobody-uses-this", false});
  c.watch.push_back({*try_parse_mac_mask("02:00:00:00:00:01", why), kWatchBoth});
  c.watch.push_back({*try_parse_mac_mask("0A:0B:0C:00:00:00/24", why), kWatchFound});
  return c;
}

// Decode + track with and without the engine: each measured `kReps`
// times, alternating, best of each kept (a shared machine is noisy).
constexpr int kReps = 5;

void measure(const char* name, const workload& w, std::size_t packets, unsigned threads, const alerts_config& cfg,
             const oui_table& ouis) {
  source_table sources;
  device_tracker tracker({0, 64}, ouis, sources);
  alert_engine engine(&sources, &ouis, cfg);
  std::vector<ingest_source> srcs(threads);
  for (unsigned t = 0; t < threads; ++t) {
    srcs[t].uuid = "00000000-0000-4000-8000-00000000000" + std::to_string(t);
    srcs[t].name = "bench" + std::to_string(t);
    srcs[t].index = sources.index_of(srcs[t].uuid, srcs[t].name);
  }
  // Warm: every device and every per-BSSID entry exists.
  run(w, w.frames.size(), {&tracker, &engine}, srcs[0], 0);
  double best[2] = {0, 0};
  for (int rep = 0; rep < kReps; ++rep)
    for (int with = 0; with < 2; ++with) {
      std::vector<packet_sink*> sinks{&tracker};
      if (with) sinks.push_back(&engine);
      std::vector<std::thread> ts;
      const auto start = clk::now();
      for (unsigned t = 0; t < threads; ++t)
        ts.emplace_back([&, t] { run(w, packets / threads, sinks, srcs[t], t * 7919); });
      for (auto& th : ts) th.join();
      const double s = std::chrono::duration<double>(clk::now() - start).count();
      best[with] = std::max(best[with], static_cast<double>(packets / threads * threads) / s);
    }
  std::printf("%-30s %u thread(s): without %9.0f pkt/s, with %9.0f pkt/s = %5.1f %%; %llu alerts\n", name, threads,
              best[0], best[1], 100.0 * best[1] / best[0], static_cast<unsigned long long>(engine.stats().raised));
}

// The engine alone on packets decoded beforehand: its own cost per packet.
void engine_only(const char* name, const workload& w, const alerts_config& cfg, const oui_table& ouis) {
  source_table sources;
  alert_engine engine(&sources, &ouis, cfg);
  ingest_source src;
  src.uuid = "00000000-0000-4000-8000-000000000009";
  src.name = "bench";
  src.index = sources.index_of(src.uuid, src.name);
  std::vector<decoded_packet> ps(w.frames.size());
  anomaly_counters an;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    ps[i].dlt = 127;
    ps[i].bytes = w.frames[i];
    ps[i].ts_ns = 1'700'000'000'000'000'000ULL + i * 1000;
    decode_packet(ps[i], an);
  }
  auto pass = [&] {
    for (std::size_t i = 0; i < ps.size(); i += kChunk)
      engine.on_packets(src, std::span<const decoded_packet>(ps.data() + i, std::min(kChunk, ps.size() - i)));
  };
  pass();
  double best = 1e9;
  for (int rep = 0; rep < kReps; ++rep) {
    const auto start = clk::now();
    for (int k = 0; k < 5; ++k) pass();
    best = std::min(best, std::chrono::duration<double>(clk::now() - start).count() / (5.0 * ps.size()));
  }
  std::printf("%-30s engine alone: %.1f ns/packet\n", name, best * 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t packets = 1000000, devices = 20000;
  unsigned threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--packets")) packets = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--devices")) devices = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
  }
  oui_table ouis;
  std::string why;
  if (!ouis.load(std::string(kDefaultOuiPath), why)) std::fprintf(stderr, "no OUI table: %s\n", why.c_str());
  std::printf("hopwire alert engine benchmark: %zu packets, %zu devices; decode + track, alerts on vs off\n", packets,
              devices);
  const workload mix = make_workload(devices, 0x0000a0000000ULL);
  const workload beacons = beacon_heavy(devices, 0x0000a0000000ULL);
  const alerts_config defaults;
  const alerts_config busy = configured();
  engine_only("tracker mix, defaults", mix, defaults, ouis);
  engine_only("beacon-heavy mix, defaults", beacons, defaults, ouis);
  engine_only("tracker mix, networks+watch", mix, busy, ouis);
  for (unsigned t : {1u, threads}) {
    measure("tracker mix, defaults", mix, packets, t, defaults, ouis);
    measure("beacon-heavy mix, defaults", beacons, packets, t, defaults, ouis);
    measure("tracker mix, networks+watch", mix, packets, t, busy, ouis);
    if (threads == 1) break;
  }
  return 0;
}

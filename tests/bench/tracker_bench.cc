// Device tracker benchmarks, in process (a program that prints numbers; not
// a test):
//   1. decode + track rate on one core over a crafted mix of beacons, probe
//      requests and data frames from N distinct MACs;
//   2. memory per tracked client device (RSS growth / devices);
//   3. serialising the whole device list as /devices/views/all/devices.json
//      does, and the ingest rate of a second thread while that runs;
//   4. "what changed since T" when few devices changed, against the full list.
//
//   hopwire_tracker_bench [--devices 100000] [--packets 5000000]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "collector/api/device_json.h"
#include "collector/track/device_tracker.h"
#include "collector/api/ek_writer.h"
#include "collector/track/oui_table.h"
#include "bench_frames.h"

using namespace hopwire;
using namespace hopwire::collector;
using namespace hopwire::bench;
using clk = std::chrono::steady_clock;

namespace {

double seconds_since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

std::size_t rss_bytes() {
  long total = 0, rss = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &total, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return static_cast<std::size_t>(rss) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// Frames first, first + 1, ... of the mix, `packets` of them, wrapping around.
std::uint64_t run_ingest(device_tracker& t, const workload& w, std::size_t first, std::size_t packets,
                         std::uint32_t src, const std::atomic<bool>* stop = nullptr) {
  decoded_packet p;
  p.dlt = 127;
  anomaly_counters an;
  std::uint64_t now = 1'700'000'000'000'000'000ULL;
  std::size_t done = 0;
  for (std::size_t i = 0; i < packets; ++i) {
    if (stop && (i & 1023) == 0 && stop->load(std::memory_order_relaxed)) break;
    const auto& f = w.frames[(first + i) % w.frames.size()];
    p.bytes = f;
    p.orig_len = static_cast<std::uint32_t>(f.size());
    p.ts_ns = now + i * 1000;
    decode_packet(p, an);
    t.track(src, p, now + i * 1000);
    ++done;
  }
  return done;
}

std::size_t serialise_all(const device_tracker& t, std::string& body) {
  body.clear();
  string_sink sink(body);
  json_writer w(sink);
  std::size_t n = 0;
  w.StartArray();
  t.for_each([&](const device& d) {
    write_device(w, d, t);
    ++n;
  });
  w.EndArray();
  sink.Flush();
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t devices = 100000, packets = 5000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--devices")) devices = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--packets")) packets = std::strtoull(argv[i + 1], nullptr, 10);
  }
  oui_table ouis;
  std::string why;
  if (!ouis.load(std::string(kDefaultOuiPath), why)) std::fprintf(stderr, "no OUI table: %s\n", why.c_str());

  std::printf("hopwire tracker benchmark: %zu devices, %zu packets\n", devices, packets);

  // 1 + 2: ingest rate and memory per device.
  {
    const workload w = make_workload(devices, 0x0000a0000000ULL);
    const std::size_t rss0 = rss_bytes();
    source_table sources;
    device_tracker t({0, 64}, ouis, sources);
    const auto src = sources.index_of("bench", "bench");
    // First pass creates every device: measure memory. The mix starts with
    // the APs' beacons, so the APs are counted first, then the clients
    // (probe, data both ways): a client's share includes its link on its AP.
    run_ingest(t, w, 0, w.aps, src);
    const std::size_t rss_aps = rss_bytes();
    const std::size_t aps = t.device_count();
    run_ingest(t, w, w.aps, w.frames.size() - w.aps, src);
    const std::size_t rss1 = rss_bytes();
    const std::size_t clients = t.device_count() - aps;
    std::printf("devices tracked: %zu (%zu frames in the mix)\n", t.device_count(), w.frames.size());
    std::printf("memory per device: %.0f bytes (RSS growth %.1f MiB / %zu devices)\n",
                double(rss1 - rss0) / double(t.device_count()), (rss1 - rss0) / 1048576.0, t.device_count());
    std::printf("memory per AP (one SSID): %.0f bytes (%zu APs); per client device: %.0f bytes (%zu clients)\n",
                double(rss_aps - rss0) / double(aps), aps, double(rss1 - rss_aps) / double(clients), clients);
    const auto start = clk::now();
    const auto n = run_ingest(t, w, 0, packets, src);
    const double s = seconds_since(start);
    std::printf("decode + track, one thread: %.0f packets/s (%zu packets in %.3f s)\n", n / s, static_cast<std::size_t>(n), s);

    // The once-a-second count of devices active per channel (Kismet's
    // channel view), here with every device active.
    {
      const auto c0 = clk::now();
      std::size_t counted = 0;
      for (int rep = 0; rep < 10; ++rep) {
        std::map<std::uint32_t, std::uint64_t> active;
        t.count_changed_by_freq(1, active);
        counted = 0;
        for (const auto& [freq, k] : active) counted += k;
      }
      std::printf("devices active per channel: %zu counted in %.1f ms\n", counted, seconds_since(c0) / 10 * 1000);
    }

    // 3: the full list while ingest runs on another thread.
    std::string body;
    auto t0 = clk::now();
    const auto listed = serialise_all(t, body);
    const double list_s = seconds_since(t0);
    std::printf("devices.json body for %zu devices: %.1f MiB in %.3f s (idle)\n", listed, body.size() / 1048576.0, list_s);

    std::atomic<bool> stop{false};
    const double idle_rate = n / s;
    std::uint64_t during = 0;
    double during_s = 0;
    std::thread ingest([&] {
      const auto a = clk::now();
      during = run_ingest(t, w, 0, SIZE_MAX, src, &stop);
      during_s = seconds_since(a);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    t0 = clk::now();
    int lists = 0;
    while (seconds_since(t0) < 3.0) {
      serialise_all(t, body);
      ++lists;
    }
    const double busy_list_s = seconds_since(t0) / lists;
    stop = true;
    ingest.join();
    std::printf("devices.json while ingesting: %.3f s per list (%d lists)\n", busy_list_s, lists);
    std::printf("ingest while listing: %.0f packets/s = %.0f %% of idle\n", during / during_s,
                100.0 * (during / during_s) / idle_rate);

    // 4: last-time with 100 changed devices vs the full list.
    const std::uint64_t mark = 1'900'000'000'000'000'000ULL;
    decoded_packet p;
    p.dlt = 127;
    anomaly_counters an;
    for (int i = 0; i < 100; ++i) {
      const auto& f = w.frames[static_cast<std::size_t>(i) * 37 % w.frames.size()];
      p.bytes = f;
      p.ts_ns = mark;
      decode_packet(p, an);
      t.track(src, p, mark);
    }
    t0 = clk::now();
    std::size_t changed = 0;
    for (int rep = 0; rep < 100; ++rep) {
      changed = 0;
      body.clear();
      string_sink sink(body);
      json_writer jw(sink);
      jw.StartArray();
      t.for_each_changed_since(mark, [&](const device& d) {
        write_device(jw, d, t);
        ++changed;
      });
      jw.EndArray();
      sink.Flush();
    }
    const double changed_s = seconds_since(t0) / 100;
    std::size_t all = 0;
    t0 = clk::now();
    for (int rep = 0; rep < 5; ++rep) all = serialise_all(t, body);
    const double all_s = seconds_since(t0) / 5;
    std::printf("last-time: %zu changed of %zu devices in %.3f ms; full list %.1f ms\n", changed, all,
                changed_s * 1000, all_s * 1000);
  }
  return 0;
}

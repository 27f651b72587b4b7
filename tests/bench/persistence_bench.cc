// Device persistence benchmark (a program that prints numbers; not a test):
// builds N devices from crafted frames, writes them all to a fresh RocksDB
// the way the collector's flusher does, and loads them back into a new
// tracker the way the collector does at start. Prints write and load times
// and the database size per device. Leaves the database in DIR so that the
// real collector's start-up can be timed on it too:
//
//   hopwire_persistence_bench --devices 1000000 --dir /tmp/hw-1m
//   hopwire-collector --state-dir /tmp/hw-1m ...   (logs "loaded N devices in X s")

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "bench_frames.h"
#include "collector/persist/device_persister.h"
#include "collector/track/device_tracker.h"
#include "collector/track/oui_table.h"
#include "collector/config/state_dir.h"
#include "collector/persist/store.h"

using namespace hopwire;
using namespace hopwire::collector;
using namespace hopwire::bench;
using clk = std::chrono::steady_clock;

namespace {

double since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

std::uintmax_t dir_bytes(const std::filesystem::path& p) {
  std::uintmax_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(p))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t devices = 1000000;
  std::string dir = "/tmp/hopwire-persistence-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--devices")) devices = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  oui_table ouis;
  std::printf("hopwire persistence benchmark: %zu devices in %s\n", devices, dir.c_str());
  {
    source_table sources;
    device_tracker t({0, 64}, ouis, sources);
    const auto src = sources.index_of("5f0c1e9a-7f5e-4e55-9c1a-4b7f6c2d9e01", "bench");
    // Frames made and fed in slices, so the frames never all sit in memory.
    const std::size_t slice = 50000;
    std::uint64_t now = 1'700'000'000'000'000'000ULL;
    for (std::size_t base = 0; base < devices; base += slice) {
      const auto w = make_workload(std::min(slice, devices - base), 0x0000a0000000ULL + base);
      decoded_packet p;
      p.dlt = 127;
      anomaly_counters an;
      for (const auto& f : w.frames) {
        p.bytes = f;
        p.ts_ns = now;
        p.orig_len = static_cast<std::uint32_t>(f.size());
        decode_packet(p, an);
        t.track(src, p, now);
        now += 1000;
      }
    }
    store db(std::filesystem::path(dir) / "db", false, {0, 0});
    device_persister persister(t, sources, db, std::chrono::seconds(1));
    const auto t0 = clk::now();
    const auto written = persister.flush();
    std::printf("first flush: %zu records in %.2f s\n", written, since(t0));
  }
  const auto size = dir_bytes(std::filesystem::path(dir) / "db");
  std::printf("database: %.1f MiB, %.0f bytes per device\n", size / 1048576.0, double(size) / double(devices));
  {
    const auto t0 = clk::now();
    store db(std::filesystem::path(dir) / "db", false, {0, 0});
    source_table sources;
    device_tracker t({0, 64}, ouis, sources);
    device_persister persister(t, sources, db, std::chrono::seconds(1));
    const auto n = persister.load();
    std::printf("open + load: %zu devices in %.2f s\n", n, since(t0));
  }
  return 0;
}

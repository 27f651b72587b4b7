// Many sensor links in one process, for tests/bench/many_links.py --swarm:
// a thousand sensor processes do not fit on a small machine beside the
// collector (each wakes its own threads 200 times a second), so this runs
// the sensor's own link code — link_client and packet_ring, the WebSocket
// link, Hello, batches, Acks, resends — for every link, on a few io
// threads, and feeds each link's ring from one pacing thread instead of a
// capture thread per link.
//
// Each line of --spec is "NAME UUID FRAMES START_S": a link that starts
// START_S seconds after this program and replays the first FRAMES frames
// of --capture (held in memory) at --pps, pushed every --burst-ms (at
// 200 packets/s and 50 ms: ten at a time, as a radio's capture buffer
// hands them over). A link ends, as a sensor's replay does, once every
// frame it captured is acknowledged. At the end one line per link:
//   link NAME uuid=U rc=R welcomes=W first_welcome=UNIX retries=T captured=C acked=A dropped=D
// and exit status 0 only if every link ended with 0.
//
// Credentials: HOPWIRE_APIKEY (a datasource token), or --user with
// HOPWIRE_PASSWORD.
//
//   hopwire_link_swarm --connect 127.0.0.1:2501 --capture big.pcap --spec links.txt --pps 200

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "sensor/capture_file.h"
#include "sensor/capture_source.h"
#include "sensor/link_client.h"
#include "sensor/packet_ring.h"

using namespace hopwire;
using namespace hopwire::sensor;

namespace {

std::atomic<bool> g_stop{false};

struct frame {
  packet_meta meta;
  std::vector<std::uint8_t> data;
};

// A source whose packets this program pushes; it only says who it is.
class swarm_source final : public capture_source {
 public:
  swarm_source(std::string uuid, std::string name, std::string capture, std::uint32_t dlt) {
    id_.uuid = std::move(uuid);
    id_.name = std::move(name);
    id_.type = "pcapfile";
    id_.interface = capture;
    id_.definition = capture + ":name=" + id_.name;
    id_.dlt = dlt;
  }
  void start(packet_ring&, std::function<void()> on_done) override { on_done_ = std::move(on_done); }
  void stop() override {}
  void all_pushed() {
    finished_.store(true, std::memory_order_release);
    if (on_done_) on_done_();
  }

 private:
  std::function<void()> on_done_;
};

struct swarm_link {
  std::string name, uuid;
  std::uint64_t frames = 0;
  double start_s = 0;
  std::size_t io = 0;
  std::unique_ptr<packet_ring> ring;
  std::unique_ptr<swarm_source> source;
  std::unique_ptr<link_client> client;
  std::chrono::steady_clock::time_point started{};
  std::uint64_t pushed = 0;
  bool all_pushed = false;
  std::uint64_t first_welcome_ns = 0;
};

std::vector<frame> load(const std::string& path, std::uint64_t need, std::uint32_t& dlt) {
  capture_file f;
  f.open(path);
  std::vector<frame> out;
  file_packet p;
  while (out.size() < need && f.next(p) == capture_file::result::packet) {
    frame fr;
    fr.meta.ts_ns = p.ts_ns;
    fr.meta.orig_len = p.orig_len;
    fr.meta.dlt = p.dlt;
    fr.data.assign(p.data.begin(), p.data.end());
    dlt = p.dlt;
    out.push_back(std::move(fr));
  }
  if (out.size() < need)
    throw std::runtime_error(path + " has " + std::to_string(out.size()) + " frames; a link of the spec needs " +
                             std::to_string(need));
  return out;
}

std::uint64_t wall_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

int usage(const char* why) {
  std::fprintf(stderr,
               "hopwire_link_swarm: %s\n"
               "usage: hopwire_link_swarm --connect HOST:PORT --capture FILE --spec FILE [--pps 200]\n"
               "         [--burst-ms 50] [--buffer BYTES] [--threads 1] [--user NAME] [--log-level warn]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string connect, capture, spec, user, level = "warn";
  double pps = 200;
  int burst_ms = 50;
  std::size_t buffer = 512 * 1024;
  unsigned threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--connect") connect = val();
      else if (a == "--capture") capture = val();
      else if (a == "--spec") spec = val();
      else if (a == "--pps") pps = std::stod(val());
      else if (a == "--burst-ms") burst_ms = std::stoi(val());
      else if (a == "--buffer") buffer = std::stoul(val());
      else if (a == "--threads") threads = static_cast<unsigned>(std::stoul(val()));
      else if (a == "--user") user = val();
      else if (a == "--log-level") level = val();
      else return usage(("unknown option " + a).c_str());
    } catch (const std::exception& e) {
      return usage(e.what());
    }
  }
  if (connect.empty() || capture.empty() || spec.empty()) return usage("--connect, --capture and --spec are needed");
  if (pps <= 0 || burst_ms < 1 || threads < 1) return usage("--pps, --burst-ms and --threads must be positive");
  init_logging(level);
  const auto colon = connect.rfind(':');
  if (colon == std::string::npos) return usage("--connect is HOST:PORT");

  link_options lo;
  lo.host = connect.substr(0, colon);
  lo.port = connect.substr(colon + 1);
  lo.collectors.push_back({lo.host, lo.port});
  lo.stop_io_when_done = false;
  if (const char* k = std::getenv("HOPWIRE_APIKEY")) lo.apikey = k;
  if (!user.empty()) {
    lo.user = user;
    if (const char* p = std::getenv("HOPWIRE_PASSWORD")) lo.password = p;
  }
  if (lo.apikey.empty() && (lo.user.empty() || lo.password.empty()))
    return usage("no credentials: HOPWIRE_APIKEY, or --user with HOPWIRE_PASSWORD");

  std::vector<swarm_link> links;
  std::uint64_t longest = 0;
  {
    std::ifstream in(spec);
    if (!in) return usage(("cannot read " + spec).c_str());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      swarm_link l;
      if (!(ls >> l.name >> l.uuid >> l.frames >> l.start_s)) return usage(("bad spec line: " + line).c_str());
      l.io = links.size() % threads;
      longest = std::max(longest, l.frames);
      links.push_back(std::move(l));
    }
  }
  if (links.empty()) return usage("the spec lists no links");
  std::uint32_t dlt = 0;
  std::vector<frame> frames;
  try {
    frames = load(capture, longest, dlt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hopwire_link_swarm: %s\n", e.what());
    return 1;
  }

  std::vector<std::unique_ptr<boost::asio::io_context>> ios;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards;
  std::vector<std::thread> io_threads;
  for (unsigned t = 0; t < threads; ++t) {
    ios.push_back(std::make_unique<boost::asio::io_context>(1));
    guards.push_back(boost::asio::make_work_guard(*ios.back()));
  }
  for (unsigned t = 0; t < threads; ++t) io_threads.emplace_back([&ios, t] { ios[t]->run(); });
  std::signal(SIGTERM, [](int) { g_stop.store(true); });
  std::signal(SIGINT, [](int) { g_stop.store(true); });
  spdlog::warn("link swarm: {} links at {} packets/s each, {} io thread(s), rings of {} bytes", links.size(), pps,
               threads, buffer);

  // The pacer: starts links when due and tops up each ring to where its
  // rate says it should be.
  const auto t0 = std::chrono::steady_clock::now();
  bool stopping = false;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    std::size_t done = 0;
    for (auto& l : links) {
      if (!l.client) {
        if (stopping || elapsed < l.start_s) continue;
        l.ring = std::make_unique<packet_ring>(buffer);
        l.source = std::make_unique<swarm_source>(l.uuid, l.name, capture, dlt);
        l.client = std::make_unique<link_client>(*ios[l.io], lo, *l.ring, *l.source);
        l.source->start(*l.ring, [c = l.client.get()] { c->notify_source_done(); });
        boost::asio::post(*ios[l.io], [c = l.client.get()] { c->start(); });
        l.started = now;
      }
      if (l.client->done()) {
        ++done;
        continue;
      }
      if (!l.first_welcome_ns && l.client->welcomes()) l.first_welcome_ns = wall_ns();
      if (l.all_pushed || stopping) continue;
      const double since = std::chrono::duration<double>(now - l.started).count();
      const auto due = std::min<std::uint64_t>(l.frames, static_cast<std::uint64_t>(since * pps) + 1);
      for (; l.pushed < due; ++l.pushed) {
        const auto& f = frames[l.pushed];
        l.ring->push(f.meta, f.data, packet_ring::overflow::drop_oldest);
      }
      if (l.pushed == l.frames) {
        l.all_pushed = true;
        l.source->all_pushed();
      }
    }
    if (done == links.size()) break;
    if (g_stop.load() && !stopping) {
      stopping = true;
      for (auto& l : links)
        if (l.client) boost::asio::post(*ios[l.io], [c = l.client.get()] { c->shutdown(); });
      // Links not started yet never will be.
      for (auto& l : links)
        if (!l.client) l.frames = 0;
    }
    if (stopping) {
      std::size_t open = 0;
      for (auto& l : links) open += l.client && !l.client->done();
      if (open == 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(burst_ms));
  }
  for (auto& g : guards) g.reset();
  for (auto& io : ios) io->stop();
  for (auto& t : io_threads) t.join();

  int rc = 0;
  for (auto& l : links) {
    if (!l.client) {
      std::printf("link %s uuid=%s rc=-1 welcomes=0 first_welcome=0 retries=0 captured=0 acked=0 dropped=0\n",
                  l.name.c_str(), l.uuid.c_str());
      rc = 1;
      continue;
    }
    const auto c = l.ring->counters();
    std::printf("link %s uuid=%s rc=%d welcomes=%llu first_welcome=%.3f retries=%llu captured=%llu acked=%llu "
                "dropped=%llu\n",
                l.name.c_str(), l.uuid.c_str(), l.client->exit_code(),
                static_cast<unsigned long long>(l.client->welcomes()), l.first_welcome_ns / 1e9,
                static_cast<unsigned long long>(l.client->retries()), static_cast<unsigned long long>(c.captured),
                static_cast<unsigned long long>(c.acked), static_cast<unsigned long long>(c.dropped_ring));
    if (l.client->exit_code() != 0) rc = 1;
  }
  std::fflush(stdout);
  return rc;
}

#include "pcapfile_source.h"

#include <filesystem>
#include <stdexcept>

#include "common/clock.h"
#include "common/log.h"
#include "common/uuid.h"

namespace hopwire::sensor {

namespace {
const char* const kKnownOptions[] = {"name", "uuid", "realtime", "loop", "pps", "type", "metagps", "timestamp", "info_antenna_type",
                                     "info_antenna_gain", "info_antenna_orientation", "info_antenna_beamwidth",
                                     "info_amp_type", "info_amp_gain"};
}

pcapfile_source::pcapfile_source(const source_definition& def, const source_globals& globals)
    : globals_(globals) {
  for (const auto& [k, v] : def.options()) {
    bool known = false;
    for (const char* o : kKnownOptions) known = known || k == o;
    if (!known)
      throw std::invalid_argument("pcapfile source: unknown option '" + k +
                                  "' (known: name, uuid, realtime, loop, pps, metagps, timestamp)");
  }
  realtime_ = def.get_bool("realtime", false);
  loop_ = def.get_bool("loop", false);
  if (auto pps = def.get("pps")) {
    try {
      pps_ = std::stod(*pps);
    } catch (const std::exception&) {
      pps_ = -1;
    }
    if (!(pps_ > 0)) throw std::invalid_argument("pcapfile source: pps=" + *pps + " must be a positive number");
  }

  file_.open(def.interface());
  // Learn the link type from the first packet, then start again.
  file_packet first;
  if (file_.next(first) == capture_file::result::packet) id_.dlt = first.dlt;
  file_.rewind();

  id_.type = "pcapfile";
  id_.interface = def.interface();
  id_.name = def.get("name").value_or(std::filesystem::path(def.interface()).filename().string());
  if (auto u = def.get("uuid")) {
    auto parsed = uuid::parse(*u);
    if (!parsed) throw std::invalid_argument("source option uuid=" + *u + " is not a UUID (8-4-4-4-12 hex)");
    id_.uuid = parsed->str();
  } else {
    id_.uuid = uuid::from_name(id_.type + ":" + id_.interface + ":" + id_.name).str();
  }
  id_.definition = def.redacted();
}

pcapfile_source::~pcapfile_source() { stop(); }

void pcapfile_source::start(packet_ring& ring, std::function<void()> on_done) {
  thread_ = std::thread([this, &ring, on_done = std::move(on_done)] { run(ring, on_done); });
}

void pcapfile_source::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

bool pcapfile_source::pace(std::uint64_t packet_ts_ns, std::uint64_t index) {
  std::uint64_t due_ns;
  if (pps_ > 0) {
    due_ns = start_mono_ns_ + static_cast<std::uint64_t>(double(index) * 1e9 / pps_);
  } else {
    if (packet_ts_ns < first_ts_ns_) return true;  // out of order: send now
    due_ns = start_mono_ns_ + (packet_ts_ns - first_ts_ns_);
  }
  // Sleep in short slices so stop() is honoured promptly.
  for (;;) {
    if (stop_.load(std::memory_order_relaxed)) return false;
    const std::uint64_t now = mono_ns();
    if (now >= due_ns) return true;
    const std::uint64_t wait = std::min<std::uint64_t>(due_ns - now, 100'000'000);
    std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
  }
}

void pcapfile_source::run(packet_ring& ring, std::function<void()> on_done) {
  // Paced replays behave like a live radio: when the ring is full the
  // oldest records go. As-fast-as-possible replays wait for the collector.
  const bool paced = realtime_ || pps_ > 0;
  const auto mode = paced ? packet_ring::overflow::drop_oldest : packet_ring::overflow::wait;
  packet_meta meta;
  if (globals_.fixed_gps) {
    meta.flags |= protocol::kFlagGps;
    meta.gps = globals_.gps;
  }
  file_packet pkt;
  bool first = true;
  while (!stop_.load(std::memory_order_relaxed)) {
    const auto r = file_.next(pkt);
    if (r == capture_file::result::packet) {
      if (paced) {
        if (first) {
          first_ts_ns_ = pkt.ts_ns;
          start_mono_ns_ = mono_ns();
          paced_count_ = 0;
          first = false;
        }
        if (!pace(pkt.ts_ns, paced_count_++)) break;
      }
      meta.ts_ns = pkt.ts_ns;
      meta.orig_len = pkt.orig_len;
      meta.dlt = pkt.dlt;
      if (!ring.push(meta, pkt.data, mode) && stop_.load()) break;
      continue;
    }
    if (r == capture_file::result::error) {
      spdlog::error("{}; replayed {} packets before it", file_.error_message(), file_.packets_read());
      set_error(file_.error_message());
      if (!loop_ || file_.packets_read() == 0) break;
    }
    if (!loop_) break;
    file_.rewind();
    first = true;
  }
  if (!stop_.load()) {
    finished_.store(true, std::memory_order_release);
    if (on_done) on_done();
  }
}

}  // namespace hopwire::sensor

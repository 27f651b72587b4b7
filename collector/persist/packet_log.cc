#include "collector/persist/packet_log.h"

#include <chrono>
#include <cstring>
#include <random>

#include "collector/decode/decoded_packet.h"
#include "collector/stream/pcapng_writer.h"
#include "collector/core/sources.h"
#include "collector/persist/store.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/uuid.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace {

constexpr std::uint8_t kBlockVersion = 1;
constexpr auto kFlushInterval = std::chrono::seconds(1);
constexpr std::uint64_t kBlockSpanNs = 60ull * 1000000000ull;
constexpr std::size_t kBlockMaxBytes = 1u << 20;
constexpr std::size_t kPacketFixed = 8 + 4 + 4 + 4 + 2 + 2 + 4;  // ts dlt orig freq signal flags cap

void put_be64(std::string& o, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) o.push_back(static_cast<char>(v >> (8 * i)));
}
void put_be32(std::string& o, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) o.push_back(static_cast<char>(v >> (8 * i)));
}

// A cursor over a block that never reads past its end.
class block_reader {
 public:
  explicit block_reader(std::string_view b) : b_(b) {}
  template <typename T>
  bool get(T& v) {
    if (b_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (b_.size() - pos_ < n) return false;
    out = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

}  // namespace

packet_log::packet_log(store& db, std::size_t queue_bytes)
    : db_(db), queue_limit_(queue_bytes),
      run_id_(static_cast<std::uint32_t>(std::chrono::system_clock::now().time_since_epoch() / std::chrono::seconds(1))) {}

packet_log::~packet_log() { stop(); }

void packet_log::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void packet_log::stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

namespace {

// The blocks a link thread is building for the batch in hand: a batch comes
// in chunks (pipeline.h), and its blocks span chunks as they spanned the
// batch, so the log holds as few, as large blocks as before.
struct block_builder {
  struct block {
    std::string key, value;
    std::uint32_t count = 0;
  };
  std::vector<block> done;
  block open;
  bool has_open = false;
  std::uint64_t first = 0, max_ts = 0;

  // Writes the open block's header fields that grow with it.
  void close() {
    if (!has_open) return;
    char* h = open.value.data() + 1 + 16;
    std::memcpy(h + 8, &max_ts, 8);
    std::memcpy(h + 16, &open.count, 4);
    // A block opened with room for many packets may close with a few (a
    // slow sensor's batch): the queue and the memtable would keep the
    // whole reservation, so a mostly empty block gives it back.
    if (open.value.capacity() > 2 * open.value.size() + 4096) open.value.shrink_to_fit();
    done.push_back(std::move(open));
    open = block{};
    has_open = false;
  }

  void add(const uuid& id, const decoded_packet& r) {
    const std::uint64_t ts = r.ts_ns;
    const std::size_t need = kPacketFixed + (r.has_gps ? 24 : 0) + r.bytes.size();
    // A block: consecutive packets whose timestamps stay within kBlockSpanNs
    // of the first and do not go back before it, up to kBlockMaxBytes.
    if (has_open && (ts < first || ts - first > kBlockSpanNs || open.value.size() + need > kBlockMaxBytes)) close();
    if (!has_open) {
      has_open = true;
      first = max_ts = ts;
      open.value.reserve(std::min<std::size_t>(kBlockMaxBytes, 256 * 1024));
      put_be64(open.key, first);  // the rest of the key is added under the lock
      open.value.push_back(static_cast<char>(kBlockVersion));
      open.value.append(reinterpret_cast<const char*>(id.bytes.data()), 16);
      open.value.append(reinterpret_cast<const char*>(&first), 8);
      open.value.append(8 + 4, '\0');  // max_ts and count, written by close()
    }
    max_ts = std::max(max_ts, ts);
    ++open.count;
    const std::size_t at = open.value.size();
    open.value.resize(at + need);
    char* o = open.value.data() + at;
    auto w = [&o](const auto& x) {
      std::memcpy(o, &x, sizeof x);
      o += sizeof x;
    };
    const auto flags = static_cast<std::uint16_t>((r.sensor_has_signal ? protocol::kFlagSignal : 0) |
                                                  (r.has_gps ? protocol::kFlagGps : 0));
    w(r.ts_ns);
    w(r.dlt);
    w(r.orig_len);
    w(r.sensor_freq_khz);
    w(r.sensor_signal_dbm);
    w(flags);
    if (r.has_gps) {
      w(r.lat);
      w(r.lon);
      w(r.alt);
    }
    w(static_cast<std::uint32_t>(r.bytes.size()));
    std::memcpy(o, r.bytes.data(), r.bytes.size());
  }
};

thread_local block_builder t_blocks;

}  // namespace

void packet_log::on_packets(const ingest_source& source, std::span<const decoded_packet> recs) {
  // Runs on the ingest thread for every packet: appends, nothing else.
  for (const auto& r : recs) t_blocks.add(source.id, r);
}

void packet_log::on_batch_end(const ingest_source&) {
  auto& b = t_blocks;
  b.close();
  if (b.done.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto& blk : b.done) {
      if (queued_bytes_ + blk.value.size() > queue_limit_ || !thread_.joinable()) {
        dropped_.fetch_add(blk.count, std::memory_order_relaxed);
        continue;
      }
      put_be32(blk.key, run_id_);
      put_be32(blk.key, counter_++);
      queued_bytes_ += blk.value.size();
      queued_packets_ += blk.count;
      queue_.emplace_back(std::move(blk.key), std::move(blk.value));
    }
  }
  b.done.clear();
  cv_.notify_one();
}

void packet_log::run() {
  std::vector<std::pair<std::string, std::string>> batch;
  auto last_flush = std::chrono::steady_clock::now();
  bool unflushed = false;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, kFlushInterval, [this] { return stop_ || !queue_.empty(); });
    const auto now = std::chrono::steady_clock::now();
    if (unflushed && (now - last_flush >= kFlushInterval || (stop_ && queue_.empty()))) {
      // Written blocks live in a memtable until flushed (no WAL): make
      // them a file once a second, so a crash loses at most that second.
      lock.unlock();
      db_.flush_packets();
      lock.lock();
      last_flush = now;
      unflushed = false;
    }
    if (queue_.empty() && stop_) break;
    if (queue_.empty()) continue;
    batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    const auto packets = queued_packets_;
    queued_bytes_ = 0;
    queued_packets_ = 0;
    lock.unlock();
    if (db_.write_packet_blocks(batch)) {
      logged_.fetch_add(packets, std::memory_order_relaxed);
      unflushed = true;
    } else {
      dropped_.fetch_add(packets, std::memory_order_relaxed);
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      const auto now = std::chrono::steady_clock::now();
      if (now - last_error_log_ > std::chrono::minutes(1)) {
        last_error_log_ = now;
        spdlog::error("packet log: write failed ({} packets dropped so far): {}", dropped(), db_.last_error());
      }
    }
    batch.clear();
    lock.lock();
  }
}

history_reader::history_reader(const store& db, const history_query& q) : q_(q) {
  std::string key;
  put_be64(key, q_.from_ns > kBlockSpanNs ? q_.from_ns - kBlockSpanNs : 0);
  cursor_ = db.packets_from(key);
  if (q_.source_uuid) want_uuid_ = uuid::parse(*q_.source_uuid);
}

history_reader::history_reader(history_reader&&) noexcept = default;
history_reader::~history_reader() = default;

// Moves to the next block that may hold selected packets; false at the end.
bool history_reader::next_block() {
  while (!done_) {
    if (in_block_) cursor_->next();
    in_block_ = false;
    if (!cursor_ || !cursor_->valid()) break;
    in_block_ = true;  // the cursor is on a block, read or not
    const std::string_view key = cursor_->key();
    std::uint64_t first = 0;
    for (int i = 0; i < 8 && i < static_cast<int>(key.size()); ++i)
      first = first << 8 | static_cast<unsigned char>(key[i]);
    if (first > q_.to_ns) break;
    block_ = cursor_->value();
    block_reader r(block_);
    std::uint8_t version = 0;
    std::string_view id;
    std::uint64_t min_ts = 0, max_ts = 0;
    std::uint32_t count = 0;
    if (!r.get(version) || version != kBlockVersion || !r.bytes(16, id) || !r.get(min_ts) || !r.get(max_ts) ||
        !r.get(count))
      continue;  // damaged block: skip it
    std::memcpy(source_.bytes.data(), id.data(), 16);
    if (want_uuid_ && !(source_ == *want_uuid_)) continue;
    if (max_ts < q_.from_ns || min_ts > q_.to_ns) continue;
    pos_ = 1 + 16 + 8 + 8 + 4;
    left_ = count;
    return true;
  }
  done_ = true;
  cursor_.reset();
  return false;
}

bool history_reader::next(logged_packet& p) {
  while (!done_) {
    if (left_ == 0 && !next_block()) return false;
    block_reader r(block_.substr(pos_));
    while (left_ > 0) {
      --left_;
      std::uint32_t cap = 0;
      p = logged_packet{};
      p.source = source_;
      if (!r.get(p.ts_ns) || !r.get(p.dlt) || !r.get(p.orig_len) || !r.get(p.freq_khz) || !r.get(p.signal) ||
          !r.get(p.flags) || ((p.flags & protocol::kFlagGps) && (!r.get(p.lat) || !r.get(p.lon) || !r.get(p.alt))) ||
          !r.get(cap) || !r.bytes(cap, p.data)) {
        left_ = 0;  // the rest of a damaged block is lost
        break;
      }
      if (p.ts_ns < q_.from_ns || p.ts_ns > q_.to_ns || !matches(p)) continue;
      pos_ = static_cast<std::size_t>(p.data.data() + p.data.size() - block_.data());
      return true;
    }
  }
  return false;
}

bool history_reader::matches(const logged_packet& p) const {
  if (!q_.device && !q_.bssid) return true;
  frame_addresses fa;
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(p.data.data()), p.data.size());
  if (!read_frame_addresses(p.dlt, bytes, fa)) return false;
  if (q_.bssid && !(fa.has_bssid && fa.bssid == *q_.bssid)) return false;
  if (q_.device) {
    bool any = false;
    for (int i = 0; i < fa.count; ++i) any = any || fa.addr[i] == *q_.device;
    if (!any) return false;
  }
  return true;
}

namespace {

class history_stream final : public body_stream {
 public:
  history_stream(const store& db, const source_registry& sources, history_query q)
      : sources_(sources), q_(std::move(q)), reader_(db, q_) {
    pcapng::section_header(pending_, std::string("hopwire-collector ") + kVersion);
  }

  std::size_t memory_bound() const override { return 1 << 20; }

  bool pull(std::string& out, std::size_t max, std::function<void()>) override {
    while (pending_.size() - head_ < max && !done_) fill();
    const std::size_t n = std::min(max, pending_.size() - head_);
    out.append(pending_, head_, n);
    head_ += n;
    if (head_ == pending_.size()) {
      pending_.clear();
      head_ = 0;
    }
    return n > 0 || !done_;
  }
  void delivered(std::size_t) override {}
  void close() override { done_ = true; }

 private:
  // Adds the next selected packet to pending_.
  void fill() {
    logged_packet p;
    if (!reader_.next(p)) {
      done_ = true;
      return;
    }
    emit(p.source, p);
    if (q_.limit && ++sent_ >= q_.limit) done_ = true;
  }

  void emit(const uuid& src, const logged_packet& p) {
    const std::string key = src.str() + "/" + std::to_string(p.dlt);
    std::size_t idx = 0;
    while (idx < ifaces_.size() && ifaces_[idx] != key) ++idx;
    if (idx == ifaces_.size()) {
      std::string name;
      if (auto s = sources_.find(src.str())) {
        std::lock_guard lock(s->mu);
        name = s->rec.name;
      }
      pcapng::interface_description(pending_, static_cast<std::uint16_t>(p.dlt), name, "hopwire source " + src.str());
      ifaces_.push_back(key);
    }
    const std::string comment = pcapng::metadata_comment(p.dlt, p.freq_khz, p.flags & protocol::kFlagSignal, p.signal,
                                                         p.flags & protocol::kFlagGps, p.lat, p.lon, p.alt);
    pcapng::enhanced_packet(pending_, static_cast<std::uint32_t>(idx), p.ts_ns, p.data, p.orig_len, comment);
  }

  const source_registry& sources_;
  history_query q_;
  history_reader reader_;
  std::string pending_;
  std::size_t head_ = 0;
  std::vector<std::string> ifaces_;
  std::uint64_t sent_ = 0;
  bool done_ = false;
};

}  // namespace

std::shared_ptr<body_stream> open_history(const store& db, const source_registry& sources, history_query q) {
  return std::make_shared<history_stream>(db, sources, std::move(q));
}

}  // namespace hopwire::collector

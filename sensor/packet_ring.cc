#include "packet_ring.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace hopwire::sensor {

namespace {
constexpr std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t(7); }
constexpr std::size_t kMaxRecord =
    align8(sizeof(ring_record) + sizeof(wire::GpsFix) + protocol::kMaxPacketBytes);
}  // namespace

packet_ring::packet_ring(std::size_t bytes, std::size_t max_inflight_batches)
    : cap_(align8(bytes)), inflight_(max_inflight_batches) {
  if (cap_ < 4 * kMaxRecord)
    throw std::invalid_argument("ring of " + std::to_string(bytes) + " bytes is too small; at least " +
                                std::to_string(4 * kMaxRecord) + " bytes are needed");
  if (max_inflight_batches == 0) throw std::invalid_argument("ring needs room for in-flight batches");
  mem_.reset(new std::uint8_t[cap_]);
  // Touch every page now: the sensor's memory is fixed from the first
  // second, and a router without the memory finds out at start, not later.
  std::memset(mem_.get(), 0, cap_);
  evicted_.reserve(max_inflight_batches);
  c_.bytes_total = cap_;
}

void packet_ring::set_data_ready_callback(std::function<void()> cb) {
  std::lock_guard lock(mu_);
  data_ready_ = std::move(cb);
}

std::size_t packet_ring::record_size(const packet_meta& meta, std::size_t cap_len) const {
  return align8(sizeof(ring_record) + ((meta.flags & protocol::kFlagGps) ? sizeof(wire::GpsFix) : 0) +
                cap_len);
}

const ring_record* packet_ring::record_at(std::uint64_t& off) const {
  for (;;) {
    const std::size_t p = phys(off);
    if (cap_ - p >= sizeof(ring_record)) {
      const auto* r = reinterpret_cast<const ring_record*>(mem_.get() + p);
      if (r->size != 0) return r;
    }
    off += cap_ - p;  // wrap marker or no room for a header: next record is at 0
  }
}

bool packet_ring::evict_oldest_locked() {
  if (inflight_count_ > 0) {
    batch_ref& b = inflight_[inflight_first_];
    if (b.end > reading_begin_) return false;  // the link is copying it right now
    if (resend_index_ > 0) {
      // Sent on this connection: an ack will tell whether it arrived.
      evicted_.push_back({b.seq, b.count});
      --resend_index_;
    } else if (connected_) {
      // Sent on an earlier connection, and the Welcome of this one said it
      // did not arrive: lost for sure.
      c_.dropped_ring += b.count;
    } else {
      evicted_.push_back({b.seq, b.count});  // the next Welcome decides
    }
    tail_ = b.end;
    inflight_first_ = (inflight_first_ + 1) % inflight_.size();
    --inflight_count_;
    return true;
  }
  if (tail_ == head_) return false;
  // No batch in flight: the oldest record is unsent; drop it.
  std::uint64_t off = tail_;
  const ring_record* r = record_at(off);
  tail_ = off + r->size;
  send_ = tail_;
  ++c_.dropped_ring;
  return true;
}

bool packet_ring::make_room(std::size_t need, std::unique_lock<std::mutex>& lock, overflow mode) {
  for (;;) {
    if (stopped_) return false;
    const std::size_t p = phys(head_);
    const std::size_t waste = (cap_ - p < need) ? cap_ - p : 0;
    if (cap_ - (head_ - tail_) >= need + waste) {
      if (waste) {
        if (waste >= sizeof(std::uint32_t)) std::memset(mem_.get() + p, 0, sizeof(std::uint32_t));
        head_ += waste;
      }
      return true;
    }
    if (mode == overflow::wait) {
      space_cv_.wait(lock);
      continue;
    }
    if (!evict_oldest_locked()) return false;
  }
}

bool packet_ring::push(const packet_meta& meta, std::span<const std::uint8_t> data, overflow mode) {
  if (data.size() > protocol::kMaxPacketBytes) {
    std::lock_guard lock(mu_);
    ++c_.dropped_ring;
    return false;
  }
  const std::size_t need = record_size(meta, data.size());
  std::function<void()>* wake = nullptr;
  {
    std::unique_lock lock(mu_);
    if (!make_room(need, lock, mode)) {
      if (!stopped_) ++c_.dropped_ring;
      return false;
    }
    std::uint8_t* dst = mem_.get() + phys(head_);
    ring_record r;
    r.size = static_cast<std::uint32_t>(need);
    r.cap_len = static_cast<std::uint32_t>(data.size());
    r.ts_ns = meta.ts_ns;
    r.orig_len = meta.orig_len;
    r.freq_khz = meta.freq_khz;
    r.dlt = meta.dlt;
    r.signal_dbm = meta.signal_dbm;
    r.flags = meta.flags;
    std::memcpy(dst, &r, sizeof r);
    dst += sizeof r;
    if (meta.flags & protocol::kFlagGps) {
      std::memcpy(dst, &meta.gps, sizeof meta.gps);
      dst += sizeof meta.gps;
    }
    std::memcpy(dst, data.data(), data.size());
    head_ += need;
    ++c_.captured;
    if (consumer_waiting_ && data_ready_) {
      consumer_waiting_ = false;
      wake = &data_ready_;
    }
  }
  // The callback only posts to the link's executor; it outlives the ring's users.
  if (wake) (*wake)();
  return true;
}

void packet_ring::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  space_cv_.notify_all();
}

bool packet_ring::next_batch(batch_ref& out, std::size_t max_packets, std::size_t max_data_bytes) {
  std::lock_guard lock(mu_);
  if (resend_index_ < inflight_count_) {
    out = inflight_[(inflight_first_ + resend_index_) % inflight_.size()];
    ++resend_index_;
    reading_begin_ = out.begin;
    return true;
  }
  if (send_ == head_ || inflight_count_ == inflight_.size()) {
    consumer_waiting_ = send_ == head_;
    return false;
  }
  batch_ref b;
  b.begin = send_;
  std::uint64_t off = send_;
  while (off < head_ && b.count < max_packets) {
    std::uint64_t probe = off;
    const ring_record* r = record_at(probe);
    if (probe >= head_) break;
    if (b.count > 0 && b.data_bytes + r->cap_len > max_data_bytes) break;
    b.data_bytes += r->cap_len;
    if (r->flags & protocol::kFlagGps) ++b.gps_count;
    ++b.count;
    off = probe + r->size;
  }
  if (b.count == 0) {
    // Only wrap padding was left: consume it.
    send_ = head_;
    consumer_waiting_ = true;
    return false;
  }
  b.end = off;
  b.seq = next_seq_++;
  send_ = off;
  inflight_[(inflight_first_ + inflight_count_) % inflight_.size()] = b;
  ++inflight_count_;
  ++resend_index_;
  c_.sent += b.count;
  reading_begin_ = b.begin;
  out = b;
  return true;
}

void packet_ring::free_acked_locked(std::uint64_t seq, bool on_this_connection) {
  while (inflight_count_ > 0) {
    batch_ref& b = inflight_[inflight_first_];
    if (b.seq > seq) break;
    tail_ = b.end;
    c_.acked += b.count;
    inflight_first_ = (inflight_first_ + 1) % inflight_.size();
    --inflight_count_;
    if (on_this_connection && resend_index_ > 0) --resend_index_;
  }
  if (inflight_count_ == 0 && send_ == head_) {
    // Everything stored is acknowledged.
    tail_ = head_;
  }
  std::size_t keep = 0;
  for (const auto& e : evicted_) {
    if (e.seq <= seq) {
      c_.acked += e.count;  // it arrived before we let go of it
    } else {
      evicted_[keep++] = e;
    }
  }
  evicted_.resize(keep);
}

void packet_ring::ack(std::uint64_t seq) {
  {
    std::lock_guard lock(mu_);
    free_acked_locked(seq, true);
  }
  space_cv_.notify_all();
}

void packet_ring::on_disconnect() {
  std::lock_guard lock(mu_);
  connected_ = false;
  resend_index_ = 0;
}

void packet_ring::on_welcome(std::uint64_t acked_seq) {
  {
    std::lock_guard lock(mu_);
    resend_index_ = 0;
    free_acked_locked(acked_seq, false);
    // Whatever was evicted and is not covered by the collector's ack is lost.
    for (const auto& e : evicted_) c_.dropped_ring += e.count;
    evicted_.clear();
    connected_ = true;
  }
  space_cv_.notify_all();
}

ring_counters packet_ring::counters() const {
  std::lock_guard lock(mu_);
  ring_counters c = c_;
  c.bytes_used = head_ - tail_;
  c.inflight_batches = inflight_count_;
  std::uint64_t unresolved = 0;
  for (const auto& e : evicted_) unresolved += e.count;
  c.unresolved_evicted = unresolved;
  return c;
}

bool packet_ring::drained() const {
  std::lock_guard lock(mu_);
  return inflight_count_ == 0 && send_ == head_ && evicted_.empty();
}

}  // namespace hopwire::sensor

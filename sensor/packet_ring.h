#pragma once
// The sensor's store-and-forward buffer: one byte ring, allocated once, that
// holds captured packets until the collector acknowledges them.
//
// Offsets only grow; a record never wraps (a marker sends the reader back to
// the start). The ring is split into three regions, oldest first:
//   [tail, send)  in flight: sent in batches, waiting for an Ack
//   [send, head)  captured, not yet sent
// When the ring is full, the oldest records make room (drop_oldest) or the
// producer waits for acks (wait, used by as-fast-as-possible file replays).
// A batch evicted while its fate is unknown is remembered by sequence number
// until the collector says whether it arrived, so counts stay exact:
// every captured record ends up either acknowledged or counted as dropped.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "common/protocol.h"

namespace hopwire::sensor {

struct packet_meta {
  std::uint64_t ts_ns = 0;
  std::uint32_t orig_len = 0;
  std::uint32_t dlt = 0;
  std::uint32_t freq_khz = 0;
  std::int16_t signal_dbm = 0;
  std::uint16_t flags = 0;  // protocol::kFlagSignal | kFlagGps
  wire::GpsFix gps{};       // used when flags & kFlagGps
};

// A record as stored in the ring; packet bytes follow, padded to 8.
struct ring_record {
  std::uint32_t size;  // whole record incl. padding; 0 marks a wrap
  std::uint32_t cap_len;
  std::uint64_t ts_ns;
  std::uint32_t orig_len;
  std::uint32_t freq_khz;
  std::uint32_t dlt;
  std::int16_t signal_dbm;
  std::uint16_t flags;
  // followed by wire::GpsFix when flags & kFlagGps, then cap_len bytes
};
static_assert(sizeof(ring_record) == 32);

struct ring_counters {
  std::uint64_t captured = 0;      // records accepted into the ring
  std::uint64_t sent = 0;          // records sent at least once
  std::uint64_t acked = 0;         // records the collector acknowledged
  std::uint64_t dropped_ring = 0;  // records known lost because the ring was full
  std::uint64_t bytes_used = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t inflight_batches = 0;
  std::uint64_t unresolved_evicted = 0;  // records evicted in flight, fate unknown yet
};

class packet_ring {
 public:
  enum class overflow { drop_oldest, wait };

  struct batch_ref {
    std::uint64_t seq = 0;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::uint32_t count = 0;
    std::uint32_t data_bytes = 0;
    std::uint32_t gps_count = 0;
  };

  // Throws std::invalid_argument if `bytes` is too small for a maximal packet.
  explicit packet_ring(std::size_t bytes, std::size_t max_inflight_batches = 512);

  // Producer (capture thread). Returns false when the record was not stored:
  // it can never fit, or the ring was stopped while waiting.
  bool push(const packet_meta& meta, std::span<const std::uint8_t> data, overflow mode);
  // Wakes a waiting producer for good; push returns false from then on.
  void stop();

  // Called (from the producer's thread) when records arrive while the
  // consumer said it was waiting for them.
  void set_data_ready_callback(std::function<void()> cb);

  // Consumer (link thread). The next batch to send: in-flight batches not yet
  // resent on this connection first, then new records. Returns false when
  // there is nothing to send, and arms the data-ready callback.
  bool next_batch(batch_ref& out, std::size_t max_packets, std::size_t max_data_bytes);
  // Copies the records of `b` out; `fn(const ring_record&, const wire::GpsFix*, span)`.
  // Safe without holding the lock: a batch being read is never evicted.
  template <class Fn>
  void read_batch(const batch_ref& b, Fn&& fn);

  void ack(std::uint64_t seq);
  void on_disconnect();
  void on_welcome(std::uint64_t acked_seq);

  ring_counters counters() const;
  // Nothing unsent, nothing unacknowledged, nothing unresolved.
  bool drained() const;

 private:
  std::size_t record_size(const packet_meta& meta, std::size_t cap_len) const;
  // With the lock held: make `need` contiguous bytes free at head, evicting
  // if allowed. Returns false when it cannot.
  bool make_room(std::size_t need, std::unique_lock<std::mutex>& lock, overflow mode);
  bool evict_oldest_locked();
  void free_acked_locked(std::uint64_t seq, bool count_as_delivered);
  std::size_t phys(std::uint64_t off) const { return static_cast<std::size_t>(off % cap_); }
  const ring_record* record_at(std::uint64_t& off) const;  // skips wraps

  std::unique_ptr<std::uint8_t[]> mem_;
  const std::size_t cap_;

  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  bool stopped_ = false;
  std::uint64_t tail_ = 0, send_ = 0, head_ = 0;

  // In-flight batches, oldest first, in a fixed circular array.
  std::vector<batch_ref> inflight_;
  std::size_t inflight_first_ = 0, inflight_count_ = 0;
  std::size_t resend_index_ = 0;  // in-flight batches already sent on this connection
  bool connected_ = false;
  std::uint64_t reading_begin_ = UINT64_MAX;  // batch being copied by read_batch

  struct evicted { std::uint64_t seq; std::uint32_t count; };
  std::vector<evicted> evicted_;

  std::uint64_t next_seq_ = 1;
  ring_counters c_;

  bool consumer_waiting_ = false;
  std::function<void()> data_ready_;
};

template <class Fn>
void packet_ring::read_batch(const batch_ref& b, Fn&& fn) {
  std::uint64_t off = b.begin;
  while (off < b.end) {
    const ring_record* r = record_at(off);
    if (off >= b.end) break;
    const std::uint8_t* p = reinterpret_cast<const std::uint8_t*>(r) + sizeof(ring_record);
    const wire::GpsFix* gps = nullptr;
    if (r->flags & protocol::kFlagGps) {
      gps = reinterpret_cast<const wire::GpsFix*>(p);
      p += sizeof(wire::GpsFix);
    }
    fn(*r, gps, std::span<const std::uint8_t>(p, r->cap_len));
    off += r->size;
  }
  std::lock_guard lock(mu_);
  reading_begin_ = UINT64_MAX;
}

}  // namespace hopwire::sensor

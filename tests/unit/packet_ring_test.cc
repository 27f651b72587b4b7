// packet_ring's exact accounting: focused tests of each rule, then a
// model-based test that drives the real ring and a reference model of its
// contract with the same long random sequence of operations.
//
// The contract (packet_ring.h, docs/protocol.md "Acks, duplicates and gaps",
// "Reconnect and resend"):
//  - records are sent in capture order, in batches numbered 1, 2, 3, ...;
//  - an Ack is cumulative: it frees every in-flight batch up to its seq;
//  - after a reconnect the in-flight batches are resent first, unchanged,
//    with their seq; a Welcome frees those the collector already stored;
//  - a full ring evicts the oldest in-flight batch first, and only when
//    nothing is in flight the oldest unsent record (or waits, in wait mode);
//  - a batch evicted while its fate is unknown (sent on this link, or the
//    link is down) is settled later: acked if an Ack or the next Welcome
//    covers it, dropped otherwise; one evicted when the Welcome already said
//    it is not stored is dropped at once;
//  - a batch being read is never evicted;
//  - every captured record ends up exactly once acknowledged or dropped.

#include "sensor/packet_ring.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace hopwire::sensor {
namespace {

constexpr std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t(7); }

// Bytes a record takes in the ring: header, GPS fix if any, data, padded to 8.
std::size_t record_bytes(bool gps, std::size_t len) {
  return align8(sizeof(ring_record) + (gps ? sizeof(wire::GpsFix) : 0) + len);
}

const std::size_t kMaxRecord = record_bytes(true, protocol::kMaxPacketBytes);
const std::size_t kSmallestRing = 4 * kMaxRecord;

// Packet bytes are a window into one fixed pattern: making and checking them
// costs one memcpy / memcmp, however many there are.
const std::uint8_t* pattern() {
  static const std::vector<std::uint8_t> p = [] {
    std::vector<std::uint8_t> v(protocol::kMaxPacketBytes + 1 + 256);
    std::uint32_t x = 0x9e3779b9;
    for (auto& b : v) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      b = static_cast<std::uint8_t>(x);
    }
    return v;
  }();
  return p.data();
}

// One captured packet, everything about it derived from its id.
struct packet {
  std::uint64_t id = 0;
  std::uint32_t len = 0;
  bool gps = false;
  bool signal = false;

  std::span<const std::uint8_t> bytes() const { return {pattern() + id % 256, len}; }
  packet_meta meta() const {
    packet_meta m;
    m.ts_ns = 1'700'000'000'000'000'000ull + id;
    m.orig_len = len + static_cast<std::uint32_t>(id % 5);
    m.dlt = id % 3 ? 127 : 105;
    m.freq_khz = 2'412'000 + static_cast<std::uint32_t>(id % 13) * 5000;
    m.signal_dbm = static_cast<std::int16_t>(-20 - static_cast<int>(id % 70));
    m.flags = static_cast<std::uint16_t>((signal ? protocol::kFlagSignal : 0) | (gps ? protocol::kFlagGps : 0));
    if (gps) m.gps = wire::GpsFix(50.0 + static_cast<double>(id) * 1e-6, 8.0 - static_cast<double>(id) * 1e-6, 100.0);
    return m;
  }
};

// Empty string when the ring's record is exactly packet `p`; else what differs.
std::string differs(const packet& p, const ring_record& r, const wire::GpsFix* gps, std::span<const std::uint8_t> data) {
  const packet_meta m = p.meta();
  std::ostringstream out;
  if (r.ts_ns != m.ts_ns) out << "ts_ns " << r.ts_ns << " (want " << m.ts_ns << ") ";
  if (r.cap_len != p.len || data.size() != p.len) out << "cap_len " << r.cap_len << " (want " << p.len << ") ";
  if (r.orig_len != m.orig_len) out << "orig_len ";
  if (r.dlt != m.dlt) out << "dlt ";
  if (r.freq_khz != m.freq_khz) out << "freq_khz ";
  if (r.signal_dbm != m.signal_dbm) out << "signal_dbm ";
  if (r.flags != m.flags) out << "flags ";
  if (r.size != record_bytes(p.gps, p.len)) out << "record size " << r.size << " ";
  if ((gps != nullptr) != p.gps) out << "gps presence ";
  if (gps && p.gps && std::memcmp(gps, &m.gps, sizeof m.gps) != 0) out << "gps fix ";
  if (data.size() == p.len && std::memcmp(data.data(), p.bytes().data(), p.len) != 0) out << "packet bytes ";
  const std::string s = out.str();
  return s.empty() ? s : "record " + std::to_string(p.id) + ": " + s;
}

// The records of one batch, read back.
std::vector<std::uint64_t> ids_in(packet_ring& ring, const packet_ring::batch_ref& b) {
  std::vector<std::uint64_t> ids;
  ring.read_batch(b, [&](const ring_record& r, const wire::GpsFix*, std::span<const std::uint8_t>) {
    ids.push_back(r.ts_ns - 1'700'000'000'000'000'000ull);
  });
  return ids;
}

// ---------------------------------------------------------------------------
// Focused tests: one rule each, with numbers small enough to follow by hand.

// A ring that holds exactly `n` records of `len` bytes (no GPS), no more.
struct small_ring {
  static constexpr std::uint32_t kLen = 32 * 1024 - sizeof(ring_record);  // 32 KiB records
  packet_ring ring{kSmallestRing, 8};
  std::uint64_t next_id = 0;
  std::size_t capacity() const { return kSmallestRing / record_bytes(false, kLen); }
  bool push(packet_ring::overflow mode = packet_ring::overflow::drop_oldest) {
    packet p{next_id++, kLen};
    return ring.push(p.meta(), p.bytes(), mode);
  }
  packet_ring::batch_ref send(std::size_t max_packets) {
    packet_ring::batch_ref b;
    EXPECT_TRUE(ring.next_batch(b, max_packets, SIZE_MAX));
    ring.read_batch(b, [](auto&&...) {});
    return b;
  }
};

TEST(packet_ring, records_come_back_in_capture_order_with_their_metadata_and_bytes) {
  packet_ring ring(kSmallestRing);
  std::vector<packet> pushed;
  for (std::uint64_t id = 0; id < 20; ++id) {
    pushed.push_back({id, static_cast<std::uint32_t>(id * 97 % 1500), id % 2 == 0, id % 3 == 0});
    ASSERT_TRUE(ring.push(pushed.back().meta(), pushed.back().bytes(), packet_ring::overflow::drop_oldest));
  }
  packet_ring::batch_ref b;
  ASSERT_TRUE(ring.next_batch(b, 100, SIZE_MAX));
  EXPECT_EQ(b.seq, 1u);
  EXPECT_EQ(b.count, 20u);
  EXPECT_EQ(b.gps_count, 10u);
  std::size_t i = 0;
  ring.read_batch(b, [&](const ring_record& r, const wire::GpsFix* gps, std::span<const std::uint8_t> data) {
    ASSERT_LT(i, pushed.size());
    EXPECT_EQ(differs(pushed[i++], r, gps, data), "");
  });
  EXPECT_EQ(i, 20u);
}

TEST(packet_ring, batch_stops_at_the_packet_limit_and_the_byte_limit_but_holds_at_least_one) {
  // The byte limit may be filled exactly (2 x 1000 of 2000), not passed.
  packet_ring ring(kSmallestRing);
  for (std::uint64_t id = 0; id < 10; ++id) {
    const packet p{id, 1000};
    ASSERT_TRUE(ring.push(p.meta(), p.bytes(), packet_ring::overflow::drop_oldest));
  }
  packet_ring::batch_ref b;
  ASSERT_TRUE(ring.next_batch(b, 3, SIZE_MAX));
  EXPECT_EQ(b.count, 3u);
  ring.read_batch(b, [](auto&&...) {});
  ASSERT_TRUE(ring.next_batch(b, 100, 2000));
  EXPECT_EQ(b.count, 2u);
  EXPECT_EQ(b.data_bytes, 2000u);
  ring.read_batch(b, [](auto&&...) {});
  ASSERT_TRUE(ring.next_batch(b, 100, 10));
  EXPECT_EQ(b.count, 1u);
  EXPECT_EQ(ids_in(ring, b), std::vector<std::uint64_t>{5});
}

TEST(packet_ring, cumulative_ack_frees_every_batch_up_to_its_seq) {
  small_ring r;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(r.push());
  for (int i = 0; i < 3; ++i) r.send(2);  // batches 1, 2, 3
  r.ring.ack(2);
  const auto c = r.ring.counters();
  EXPECT_EQ(c.acked, 4u);
  EXPECT_EQ(c.inflight_batches, 1u);
  EXPECT_EQ(c.bytes_used, 2 * record_bytes(false, small_ring::kLen));
}

TEST(packet_ring, ring_drops_the_oldest_unsent_record_when_full_and_nothing_is_in_flight) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push());
  EXPECT_EQ(r.ring.counters().dropped_ring, 0u);
  ASSERT_TRUE(r.push());
  EXPECT_EQ(r.ring.counters().dropped_ring, 1u);
  packet_ring::batch_ref b;
  ASSERT_TRUE(r.ring.next_batch(b, 1, SIZE_MAX));
  EXPECT_EQ(ids_in(r.ring, b), std::vector<std::uint64_t>{1});  // record 0 made room
}

TEST(packet_ring, ring_evicts_the_oldest_in_flight_batch_before_any_unsent_record) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push());
  const auto first = r.send(2);  // records 0, 1 in flight; the rest unsent
  ASSERT_TRUE(r.push());         // evicts batch 1 whole, though one record would do
  const auto c = r.ring.counters();
  EXPECT_EQ(c.inflight_batches, 0u);
  EXPECT_EQ(c.unresolved_evicted, 2u);  // sent on this link: an Ack will tell
  EXPECT_EQ(c.dropped_ring, 0u);
  packet_ring::batch_ref b;
  ASSERT_TRUE(r.ring.next_batch(b, 1, SIZE_MAX));
  EXPECT_EQ(b.seq, first.seq + 1);
  EXPECT_EQ(ids_in(r.ring, b), std::vector<std::uint64_t>{2});
}

TEST(packet_ring, batch_evicted_after_it_was_sent_is_acked_by_a_later_cumulative_ack) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push());
  r.send(2);  // batch 1
  r.send(2);  // batch 2
  ASSERT_TRUE(r.push());  // evicts batch 1
  r.ring.ack(2);
  const auto c = r.ring.counters();
  EXPECT_EQ(c.unresolved_evicted, 0u);
  EXPECT_EQ(c.acked, 4u);
  EXPECT_EQ(c.dropped_ring, 0u);
}

TEST(packet_ring, unacked_batches_are_resent_after_a_reconnect_with_the_same_seq_and_records) {
  small_ring r;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.push());
  r.ring.on_welcome(0);
  const auto b1 = r.send(2), b2 = r.send(2), b3 = r.send(2);
  r.ring.on_disconnect();
  r.ring.on_welcome(b1.seq);  // the collector stored batch 1 only
  EXPECT_EQ(r.ring.counters().acked, 2u);
  packet_ring::batch_ref again;
  ASSERT_TRUE(r.ring.next_batch(again, 100, SIZE_MAX));
  EXPECT_EQ(again.seq, b2.seq);
  EXPECT_EQ(ids_in(r.ring, again), (std::vector<std::uint64_t>{2, 3}));
  ASSERT_TRUE(r.ring.next_batch(again, 100, SIZE_MAX));
  EXPECT_EQ(again.seq, b3.seq);
  EXPECT_EQ(ids_in(r.ring, again), std::vector<std::uint64_t>{4});
  EXPECT_FALSE(r.ring.next_batch(again, 100, SIZE_MAX));
  EXPECT_EQ(r.ring.counters().sent, 5u);  // resends are not counted again
}

TEST(packet_ring, welcome_beyond_every_batch_in_flight_frees_them_all) {
  small_ring r;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(r.push());
  r.send(2);
  r.send(2);
  r.ring.on_disconnect();  // the Acks were lost with the link; the batches were stored
  r.ring.on_welcome(2);
  const auto c = r.ring.counters();
  EXPECT_EQ(c.acked, 4u);
  EXPECT_EQ(c.bytes_used, 0u);
  EXPECT_TRUE(r.ring.drained());
}

TEST(packet_ring, batch_evicted_while_the_link_is_down_counts_as_acked_when_the_welcome_covers_it) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push());
  const auto b1 = r.send(2);
  r.ring.on_disconnect();
  ASSERT_TRUE(r.push());  // evicts batch 1, fate unknown
  EXPECT_EQ(r.ring.counters().unresolved_evicted, 2u);
  r.ring.on_welcome(b1.seq);
  const auto c = r.ring.counters();
  EXPECT_EQ(c.unresolved_evicted, 0u);
  EXPECT_EQ(c.acked, 2u);
  EXPECT_EQ(c.dropped_ring, 0u);
}

TEST(packet_ring, batch_evicted_while_the_link_is_down_counts_as_dropped_when_the_welcome_does_not_cover_it) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push());
  r.send(2);
  r.ring.on_disconnect();
  ASSERT_TRUE(r.push());
  r.ring.on_welcome(0);
  const auto c = r.ring.counters();
  EXPECT_EQ(c.unresolved_evicted, 0u);
  EXPECT_EQ(c.acked, 0u);
  EXPECT_EQ(c.dropped_ring, 2u);
}

TEST(packet_ring, batch_evicted_before_its_resend_is_dropped_at_once) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push());
  r.send(2);
  r.ring.on_disconnect();
  r.ring.on_welcome(0);  // not stored; it waits for its resend
  ASSERT_TRUE(r.push());
  const auto c = r.ring.counters();
  EXPECT_EQ(c.unresolved_evicted, 0u);
  EXPECT_EQ(c.dropped_ring, 2u);
}

TEST(packet_ring, batch_being_read_is_never_evicted) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push());
  packet_ring::batch_ref b;
  ASSERT_TRUE(r.ring.next_batch(b, 1, SIZE_MAX));
  bool pushed = true;
  std::vector<std::uint64_t> read;
  r.ring.read_batch(b, [&](const ring_record& rec, const wire::GpsFix*, std::span<const std::uint8_t> data) {
    pushed = r.push();  // the capture thread, while the link copies the batch
    read.push_back(rec.ts_ns - 1'700'000'000'000'000'000ull);
    EXPECT_EQ(std::memcmp(data.data(), packet{0, small_ring::kLen}.bytes().data(), data.size()), 0);
  });
  EXPECT_FALSE(pushed);
  EXPECT_EQ(read, std::vector<std::uint64_t>{0});
  const auto c = r.ring.counters();
  EXPECT_EQ(c.inflight_batches, 1u);
  EXPECT_EQ(c.dropped_ring, 1u);  // the refused record, which was never captured
  EXPECT_EQ(c.captured, r.capacity());
}

TEST(packet_ring, packet_larger_than_the_protocol_allows_is_refused_and_counted) {
  packet_ring ring(kSmallestRing);
  const packet p{0, protocol::kMaxPacketBytes + 1};
  EXPECT_FALSE(ring.push(p.meta(), p.bytes(), packet_ring::overflow::drop_oldest));
  const auto c = ring.counters();
  EXPECT_EQ(c.captured, 0u);
  EXPECT_EQ(c.dropped_ring, 1u);
  EXPECT_EQ(c.bytes_used, 0u);
}

TEST(packet_ring, next_batch_holds_back_new_records_while_the_in_flight_limit_is_reached) {
  packet_ring ring(kSmallestRing, 2);
  for (std::uint64_t id = 0; id < 3; ++id) {
    const packet p{id, 10};
    ASSERT_TRUE(ring.push(p.meta(), p.bytes(), packet_ring::overflow::drop_oldest));
  }
  packet_ring::batch_ref b;
  ASSERT_TRUE(ring.next_batch(b, 1, SIZE_MAX));
  ring.read_batch(b, [](auto&&...) {});
  ASSERT_TRUE(ring.next_batch(b, 1, SIZE_MAX));
  ring.read_batch(b, [](auto&&...) {});
  EXPECT_FALSE(ring.next_batch(b, 1, SIZE_MAX));
  ring.ack(1);
  ASSERT_TRUE(ring.next_batch(b, 1, SIZE_MAX));
  EXPECT_EQ(b.seq, 3u);
}

TEST(packet_ring, data_ready_callback_runs_once_on_the_first_record_after_next_batch_found_nothing) {
  packet_ring ring(kSmallestRing);
  int calls = 0;
  ring.set_data_ready_callback([&] { ++calls; });
  const packet p{0, 10};
  ASSERT_TRUE(ring.push(p.meta(), p.bytes(), packet_ring::overflow::drop_oldest));
  EXPECT_EQ(calls, 0);  // nobody was waiting
  packet_ring::batch_ref b;
  ASSERT_TRUE(ring.next_batch(b, 10, SIZE_MAX));
  ring.read_batch(b, [](auto&&...) {});
  EXPECT_FALSE(ring.next_batch(b, 10, SIZE_MAX));
  ASSERT_TRUE(ring.push(p.meta(), p.bytes(), packet_ring::overflow::drop_oldest));
  ASSERT_TRUE(ring.push(p.meta(), p.bytes(), packet_ring::overflow::drop_oldest));
  EXPECT_EQ(calls, 1);
}

TEST(packet_ring, wait_mode_blocks_until_an_ack_makes_room) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push(packet_ring::overflow::wait));
  const auto b = r.send(1);
  std::atomic<bool> done{false};
  bool ok = false;
  std::thread producer([&] {
    ok = r.push(packet_ring::overflow::wait);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(done.load());
  r.ring.ack(b.seq);
  producer.join();
  EXPECT_TRUE(ok);
  const auto c = r.ring.counters();
  EXPECT_EQ(c.dropped_ring, 0u);
  EXPECT_EQ(c.captured, r.capacity() + 1);
}

TEST(packet_ring, stop_wakes_a_waiting_producer_and_nothing_is_counted) {
  small_ring r;
  for (std::size_t i = 0; i < r.capacity(); ++i) ASSERT_TRUE(r.push(packet_ring::overflow::wait));
  bool ok = true;
  std::thread producer([&] { ok = r.push(packet_ring::overflow::wait); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  r.ring.stop();
  producer.join();
  EXPECT_FALSE(ok);
  const auto c = r.ring.counters();
  EXPECT_EQ(c.captured, r.capacity());
  EXPECT_EQ(c.dropped_ring, 0u);
  EXPECT_FALSE(r.push(packet_ring::overflow::drop_oldest));  // stopped for good
}

// ---------------------------------------------------------------------------
// The model-based test.

// The contract above, said as plainly as possible: a queue of the records the
// ring holds, each unsent or in flight in batch N; the batches evicted while
// their fate was unknown; and each record's fate. It knows the ring's byte
// layout only as far as the header documents it (records padded to 8, never
// split at the end: the tail of the buffer is skipped instead), which is what
// decides when the ring is full.
//
// It also plays the link and the collector (docs/protocol.md), so every Ack
// and Welcome the ring gets is one a real collector could send, and the
// ring's verdicts are checked against the truth: a record counted acked was
// stored by the collector, and one counted dropped never is.
class reference_model {
 public:
  enum class fate : std::uint8_t { none, refused, held, acked, dropped };

  // How often the subtle cases came up: a run that never reaches them proves little.
  struct case_counts {
    std::uint64_t unsent_dropped = 0;         // full, nothing in flight
    std::uint64_t evicted_known_lost = 0;     // evicted before its resend
    std::uint64_t evicted_unresolved = 0;     // evicted, fate unknown
    std::uint64_t unresolved_acked_by_ack = 0;
    std::uint64_t unresolved_acked_by_welcome = 0;
    std::uint64_t unresolved_dropped_by_welcome = 0;
    std::uint64_t welcome_beyond_inflight = 0;  // acked_seq covers every batch in flight
    std::uint64_t welcome_resends = 0;          // batches left to resend after a Welcome
    std::uint64_t resends = 0;
    std::uint64_t refused_while_reading = 0;
    std::uint64_t refused_oversize = 0;
  };

  reference_model(std::size_t bytes, std::size_t max_inflight) : cap_(align8(bytes)), max_inflight_(max_inflight) {}

  // --- the ring's side ---------------------------------------------------

  bool fits(const packet& p) const {
    const std::size_t need = record_bytes(p.gps, p.len);
    const std::size_t at = head_ % cap_;
    const std::size_t waste = cap_ - at < need ? cap_ - at : 0;
    return cap_ - (head_ - tail_) >= need + waste;
  }

  // push(drop_oldest): the value push must return.
  bool push_dropping(const packet& p) {
    if (p.len > protocol::kMaxPacketBytes) return ++cases_.refused_oversize, refuse(p);
    while (!fits(p)) {
      if (!inflight_.empty()) {
        if (inflight_.front().seq == reading_) return ++cases_.refused_while_reading, refuse(p);
        evict_oldest_batch();
      } else if (!held_.empty()) {
        ++cases_.unsent_dropped;
        settle_front(1, fate::dropped);
      } else {
        return failed("an empty ring cannot hold record " + std::to_string(p.id));
      }
    }
    store(p);
    return true;
  }

  // push(wait) when fits(p): stored as it is.
  void push_waiting(const packet& p) { store(p); }

  struct batch_view {
    std::uint64_t seq = 0;
    std::vector<packet> records;
    std::uint32_t data_bytes = 0, gps_count = 0;
  };

  // next_batch(): the batch it must return, or false.
  bool next_batch(std::size_t max_packets, std::size_t max_bytes, batch_view& out) {
    out = {};
    std::size_t first = 0;
    for (auto& b : inflight_) {
      if (!b.sent_on_link) {
        b.sent_on_link = true;
        ++cases_.resends;
        return view(b, first, out);
      }
      first += b.count;
    }
    const std::size_t unsent = held_.size() - first;
    if (unsent == 0 || inflight_.size() == max_inflight_) {
      consumer_waiting_ = unsent == 0;
      return false;
    }
    batch b;
    b.seq = next_seq_++;
    b.sent_on_link = true;
    std::uint64_t bytes = 0;
    while (b.count < unsent && b.count < max_packets) {
      const packet& p = held_[first + b.count].p;
      if (b.count > 0 && bytes + p.len > max_bytes) break;
      bytes += p.len;
      ++b.count;
    }
    b.end = held_[first + b.count - 1].end;
    sent_ += b.count;
    inflight_.push_back(b);
    return view(inflight_.back(), first, out);
  }

  void reading(std::uint64_t seq) { reading_ = seq; }

  void ack(std::uint64_t seq) { settle_up_to(seq, cases_.unresolved_acked_by_ack); }

  void on_disconnect() {
    connected_ = false;
    for (auto& b : inflight_) b.sent_on_link = false;
  }

  void on_welcome(std::uint64_t acked_seq) {
    if (!inflight_.empty() && inflight_.back().seq <= acked_seq) ++cases_.welcome_beyond_inflight;
    settle_up_to(acked_seq, cases_.unresolved_acked_by_welcome);
    for (const auto& e : unresolved_) settle(e.ids, fate::dropped);
    cases_.unresolved_dropped_by_welcome += unresolved_.size();
    unresolved_.clear();
    connected_ = true;
    for (auto& b : inflight_) b.sent_on_link = false;
    cases_.welcome_resends += inflight_.size();
  }

 private:
  void settle_up_to(std::uint64_t seq, std::uint64_t& unresolved_acked) {
    while (!inflight_.empty() && inflight_.front().seq <= seq) {
      tail_ = inflight_.front().end;
      settle_front(inflight_.front().count, fate::acked);
      inflight_.pop_front();
    }
    std::erase_if(unresolved_, [&](const evicted& e) {
      if (e.seq > seq) return false;
      settle(e.ids, fate::acked);
      ++unresolved_acked;
      return true;
    });
  }

 public:

  // Whether the next push calls the data-ready callback.
  bool take_wake() {
    const bool w = consumer_waiting_;
    consumer_waiting_ = false;
    return w;
  }

  // --- the collector's side ---------------------------------------------

  // The collector stores a batch that reached it (docs/protocol.md: a seq at
  // or below last_seq is a duplicate, not stored again).
  void collector_receives(std::uint64_t seq, const std::vector<std::uint64_t>& ids) {
    if (seq <= last_seq_) return;
    for (std::uint64_t id : ids) {
      if (fates_[id] == fate::dropped) failed("record " + std::to_string(id) + " was counted dropped, yet arrived");
      if (stored_[id]) failed("record " + std::to_string(id) + " stored twice");
      stored_[id] = true;
      ++stored_count_;
    }
    last_seq_ = seq;
  }
  std::uint64_t last_seq() const { return last_seq_; }

  // --- checks -------------------------------------------------------------

  void note_id(std::uint64_t id) {
    if (fates_.size() <= id) fates_.resize(id + 1, fate::none), stored_.resize(id + 1, false);
  }

  ::testing::AssertionResult agrees_with(const packet_ring& ring) const {
    if (!error_.empty()) return ::testing::AssertionFailure() << "model: " << error_;
    const ring_counters c = ring.counters();
    std::ostringstream bad;
    auto expect = [&](const char* what, std::uint64_t got, std::uint64_t want) {
      if (got != want) bad << what << " is " << got << ", the model says " << want << "; ";
    };
    expect("captured", c.captured, captured_);
    expect("sent", c.sent, sent_);
    expect("acked", c.acked, acked_);
    expect("dropped_ring", c.dropped_ring, dropped_ + refused_);
    expect("bytes_used", c.bytes_used, head_ - tail_);
    expect("bytes_total", c.bytes_total, cap_);
    expect("inflight_batches", c.inflight_batches, inflight_.size());
    expect("unresolved_evicted", c.unresolved_evicted, unresolved_records_);
    // Exact accounting on the ring's own numbers: captured = acked + dropped
    // + still held, where dropped_ring also counts the refused pushes (the
    // records that never got in).
    const std::uint64_t held = held_.size() + unresolved_records_;
    expect("captured - (acked + dropped of captured + held)", c.captured,
           c.acked + (c.dropped_ring - refused_) + held);
    expect("drained()", ring.drained(), held == 0);
    if (bad.str().empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << bad.str();
  }

  // At the end, with the ring drained: every captured record was settled
  // exactly once, acked ones are exactly the ones the collector stored.
  ::testing::AssertionResult settled_exactly_once() const {
    std::uint64_t acked = 0, dropped = 0, captured = 0;
    for (std::size_t id = 0; id < fates_.size(); ++id) {
      switch (fates_[id]) {
        case fate::held:
        case fate::none:
          return ::testing::AssertionFailure() << "record " << id << " never settled";
        case fate::acked:
          ++acked, ++captured;
          if (!stored_[id]) return ::testing::AssertionFailure() << "record " << id << " acked, never stored";
          break;
        case fate::dropped:
          ++dropped, ++captured;
          if (stored_[id]) return ::testing::AssertionFailure() << "record " << id << " dropped, but stored";
          break;
        case fate::refused:
          if (stored_[id]) return ::testing::AssertionFailure() << "refused record " << id << " stored";
          break;
      }
    }
    if (acked != acked_ || dropped != dropped_ || captured != captured_ || acked != stored_count_)
      return ::testing::AssertionFailure() << "acked " << acked << " dropped " << dropped << " captured " << captured
                                           << " stored " << stored_count_;
    return ::testing::AssertionSuccess();
  }

  bool connected() const { return connected_; }
  std::uint64_t captured() const { return captured_; }
  std::uint64_t refused() const { return refused_; }
  const case_counts& cases() const { return cases_; }

 private:
  struct record {
    packet p;
    std::uint64_t end = 0;  // ring offset just past it
  };
  struct batch {
    std::uint64_t seq = 0;
    std::size_t count = 0;
    std::uint64_t end = 0;
    bool sent_on_link = false;  // sent since the last on_disconnect / on_welcome
  };
  struct evicted {
    std::uint64_t seq;
    std::vector<std::uint64_t> ids;
  };

  bool refuse(const packet& p) {
    fates_[p.id] = fate::refused;
    ++refused_;
    return false;
  }

  bool failed(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  void store(const packet& p) {
    const std::size_t need = record_bytes(p.gps, p.len);
    const std::size_t at = head_ % cap_;
    if (cap_ - at < need) head_ += cap_ - at;  // the tail of the buffer is skipped
    head_ += need;
    held_.push_back({p, head_});
    fates_[p.id] = fate::held;
    ++captured_;
  }

  void evict_oldest_batch() {
    const batch b = inflight_.front();
    inflight_.pop_front();
    tail_ = b.end;
    // Known lost: the Welcome of this link said the collector does not have
    // it, and it was not sent again since.
    if (connected_ && !b.sent_on_link) return ++cases_.evicted_known_lost, settle_front(b.count, fate::dropped);
    ++cases_.evicted_unresolved;
    evicted e{b.seq, {}};
    for (std::size_t i = 0; i < b.count; ++i) e.ids.push_back(held_[i].p.id);
    held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(b.count));
    unresolved_records_ += b.count;
    unresolved_.push_back(std::move(e));
  }

  // The oldest `n` held records leave the ring with fate `f`.
  void settle_front(std::size_t n, fate f) {
    for (std::size_t i = 0; i < n; ++i) {
      set_fate(held_.front().p.id, f);
      tail_ = held_.front().end;
      held_.pop_front();
    }
  }

  void settle(const std::vector<std::uint64_t>& ids, fate f) {
    unresolved_records_ -= ids.size();
    for (std::uint64_t id : ids) set_fate(id, f);
  }

  void set_fate(std::uint64_t id, fate f) {
    if (fates_[id] != fate::held) failed("record " + std::to_string(id) + " settled twice");
    if (f == fate::acked && !stored_[id]) failed("record " + std::to_string(id) + " acked but never stored");
    if (f == fate::dropped && stored_[id]) failed("record " + std::to_string(id) + " dropped but stored");
    fates_[id] = f;
    (f == fate::acked ? acked_ : dropped_) += 1;
  }

  bool view(const batch& b, std::size_t first, batch_view& out) const {
    out.seq = b.seq;
    for (std::size_t i = 0; i < b.count; ++i) {
      const packet& p = held_[first + i].p;
      out.records.push_back(p);
      out.data_bytes += p.len;
      out.gps_count += p.gps;
    }
    return true;
  }

  const std::size_t cap_;
  const std::size_t max_inflight_;
  std::uint64_t head_ = 0, tail_ = 0;
  std::deque<record> held_;     // oldest first: in-flight batches' records, then unsent
  std::deque<batch> inflight_;  // oldest first
  std::vector<evicted> unresolved_;
  std::uint64_t unresolved_records_ = 0;
  std::uint64_t next_seq_ = 1;
  std::uint64_t reading_ = 0;
  bool connected_ = false;
  bool consumer_waiting_ = false;
  std::uint64_t captured_ = 0, sent_ = 0, acked_ = 0, dropped_ = 0, refused_ = 0;
  case_counts cases_;
  std::vector<fate> fates_;

  std::uint64_t last_seq_ = 0;
  std::vector<bool> stored_;
  std::uint64_t stored_count_ = 0;

  std::string error_;
};

// Drives one ring and one model with the same random operations.
class model_run {
 public:
  explicit model_run(std::uint64_t seed) : rng_(seed) {
    const std::size_t bytes = kSmallestRing + pick(0, 16) * 4093;  // not always a multiple of 8
    const std::size_t inflight = std::array<std::size_t, 5>{1, 2, 4, 16, 512}[pick(0, 4)];
    ring_ = std::make_unique<packet_ring>(bytes, inflight);
    model_ = std::make_unique<reference_model>(bytes, inflight);
    ring_->set_data_ready_callback([this] { ++wakes_; });
    trace("ring of " + std::to_string(bytes) + " bytes, " + std::to_string(inflight) + " batches in flight");
  }

  void run(int steps) {
    for (int step = 0; step < steps; ++step) {
      if (step % 1500 == 0) change_regime();
      one_step();
      if (::testing::Test::HasFailure()) return;
      const auto ok = model_->agrees_with(*ring_);
      ASSERT_TRUE(ok) << "after step " << step << "\n" << history();
      ASSERT_EQ(wakes_, expected_wakes_) << "data-ready callbacks after step " << step << "\n" << history();
    }
    drain();
  }

  const reference_model& model() const { return *model_; }
  std::uint64_t sends() const { return sends_; }
  std::uint64_t blocked_waits() const { return blocked_waits_; }

 private:
  enum class regime { healthy, slow_collector, link_down, flapping };

  std::size_t pick(std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  void trace(std::string what) {
    history_.push_back(std::move(what));
    if (history_.size() > 40) history_.pop_front();
  }
  std::string history() const {
    std::string s = "last operations:\n";
    for (const auto& h : history_) s += "  " + h + "\n";
    return s;
  }

  void change_regime() {
    regime_ = static_cast<regime>(pick(0, 3));
    const bool was_withholding = withholding_;
    withholding_ = regime_ == regime::slow_collector && chance(0.5);
    if (was_withholding && !withholding_) collector_acks_withheld();
    if (regime_ == regime::link_down && model_->connected()) disconnect();
    if (regime_ != regime::link_down && !model_->connected()) connect();
    trace("regime " + std::to_string(static_cast<int>(regime_)));
  }

  void one_step() {
    const bool up = model_->connected();
    // Per mille: push, send, collector reads, ack arrives, link lost, link
    // back (the last two only count in the state they change).
    static constexpr std::array<std::array<int, 6>, 4> kWeights{{
        {400, 250, 160, 160, 10, 20},  // healthy
        {600, 200, 80, 60, 10, 50},    // slow collector: the ring fills
        {900, 40, 20, 20, 15, 5},      // link mostly down: store and forward
        {400, 200, 120, 120, 80, 80},  // flapping
    }};
    const auto& w = kWeights[static_cast<int>(regime_)];
    int r = static_cast<int>(pick(0, 999));
    int op = 0;
    while (op < 5 && r >= w[op]) r -= w[op++];
    switch (op) {
      case 0:
        return push_random();
      case 1:
        if (up) send(chance(0.1) ? pick(1, 32) : 0);
        return;
      case 2:
        if (up) collector_reads(pick(1, 4));
        return;
      case 3:
        if (up) acks_arrive(pick(1, 3));
        return;
      case 4:
        if (up) disconnect();
        return;
      default:
        if (!up) connect();
        return;
    }
  }

  packet random_packet() {
    packet p;
    p.id = next_id_++;
    model_->note_id(p.id);
    const std::size_t kind = pick(0, 999);
    if (kind < 700) p.len = static_cast<std::uint32_t>(pick(0, 300));
    else if (kind < 960) p.len = static_cast<std::uint32_t>(pick(301, 4000));
    else if (kind < 995) p.len = static_cast<std::uint32_t>(pick(4001, protocol::kMaxPacketBytes));
    else if (kind < 999) p.len = protocol::kMaxPacketBytes;
    else p.len = protocol::kMaxPacketBytes + 1;  // refused: longer than the protocol allows
    p.gps = chance(0.2);
    p.signal = chance(0.8);
    return p;
  }

  void push_random() {
    const packet p = random_packet();
    if (chance(0.9)) return push_dropping(p);
    if (p.len > protocol::kMaxPacketBytes) return push_dropping(p);  // wait mode would refuse it just the same
    if (model_->fits(p)) {
      trace("push(wait) " + describe(p));
      ASSERT_TRUE(ring_->push(p.meta(), p.bytes(), packet_ring::overflow::wait));
      model_->push_waiting(p);
      wake_on_push();
      return;
    }
    if (chance(0.3)) return push_waiting_for_room(p);
    push_dropping(p);
  }

  void push_dropping(const packet& p) {
    trace("push " + describe(p));
    const bool want = model_->push_dropping(p);
    ASSERT_EQ(ring_->push(p.meta(), p.bytes(), packet_ring::overflow::drop_oldest), want) << history();
    if (want) wake_on_push();
  }

  void wake_on_push() {
    if (model_->take_wake()) ++expected_wakes_;
  }

  // push(wait) with no room: on a thread of its own, as a file replay's
  // producer, while this thread plays the link until an Ack or a Welcome
  // makes room.
  void push_waiting_for_room(const packet& p) {
    trace("push(wait), blocks: " + describe(p));
    ++blocked_waits_;
    std::atomic<bool> returned{false};
    bool ok = false;
    std::thread producer([&] {
      ok = ring_->push(p.meta(), p.bytes(), packet_ring::overflow::wait);
      returned = true;
    });
    struct joiner {
      packet_ring& ring;
      std::thread& t;
      ~joiner() {
        if (t.joinable()) {
          ring.stop();  // only on a failed assertion: let the producer go
          t.join();
        }
      }
    } guard{*ring_, producer};
    for (int guard_steps = 0; !model_->fits(p); ++guard_steps) {
      ASSERT_FALSE(returned.load()) << "push(wait) returned while the ring was full\n" << history();
      ASSERT_LT(guard_steps, 100000) << "no way to make room\n" << history();
      if (!model_->connected()) {
        connect(false);
      } else if (!acks_.empty()) {
        acks_arrive(1);
      } else if (!to_collector_.empty()) {
        collector_reads(1);
      } else if (withholding_) {
        withholding_ = false;  // the collector's store recovers and acks the latest
        collector_acks_withheld();
      } else {
        ASSERT_TRUE(send(0)) << "full ring, nothing to send\n" << history();
      }
    }
    // Now it must go through: wait for it, but not forever.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!returned.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    ASSERT_TRUE(returned.load()) << "push(wait) still blocked with room in the ring\n" << history();
    producer.join();
    ASSERT_TRUE(ok);
    model_->push_waiting(p);
    wake_on_push();
  }

  // next_batch + read_batch, as the link does; `pushes_while_reading`
  // records arrive from the capture thread while the batch is copied.
  bool send(std::size_t pushes_while_reading) {
    static constexpr std::array<std::size_t, 6> kPackets{1, 2, 5, 64, 2048, 100000};
    static constexpr std::array<std::size_t, 5> kBytes{0, 100, 5000, 256 * 1024, SIZE_MAX};
    const std::size_t max_packets = kPackets[pick(0, kPackets.size() - 1)];
    const std::size_t max_bytes = kBytes[pick(0, kBytes.size() - 1)];
    reference_model::batch_view want;
    const bool has = model_->next_batch(max_packets, max_bytes, want);
    packet_ring::batch_ref b;
    const bool got = ring_->next_batch(b, max_packets, max_bytes);
    trace("next_batch(" + std::to_string(max_packets) + ", " + std::to_string(max_bytes) + ") -> " +
          (got ? "seq " + std::to_string(b.seq) + " of " + std::to_string(b.count) : std::string("nothing")));
    EXPECT_EQ(got, has) << history();
    if (!got || !has) return false;
    EXPECT_EQ(b.seq, want.seq) << history();
    EXPECT_EQ(b.count, want.records.size()) << history();
    EXPECT_EQ(b.data_bytes, want.data_bytes) << history();
    EXPECT_EQ(b.gps_count, want.gps_count) << history();
    model_->reading(b.seq);
    std::size_t i = 0;
    std::string wrong;
    ring_->read_batch(b, [&](const ring_record& r, const wire::GpsFix* gps, std::span<const std::uint8_t> data) {
      if (i == 0)
        for (std::size_t k = 0; k < pushes_while_reading; ++k) push_dropping(random_packet());
      if (i < want.records.size() && wrong.empty()) wrong = differs(want.records[i], r, gps, data);
      ++i;
    });
    model_->reading(0);
    EXPECT_EQ(wrong, "") << history();
    EXPECT_EQ(i, want.records.size()) << history();
    std::vector<std::uint64_t> ids;
    for (const auto& p : want.records) ids.push_back(p.id);
    to_collector_.push_back({b.seq, std::move(ids)});
    ++sends_;
    return true;
  }

  // The collector takes batches off the link; it acks each (cumulatively)
  // unless its store is failing, then acks the latest once it recovers.
  void collector_reads(std::size_t n) {
    for (; n > 0 && !to_collector_.empty(); --n) {
      const auto& [seq, ids] = to_collector_.front();
      model_->collector_receives(seq, ids);
      trace("collector stores seq " + std::to_string(seq) + (withholding_ ? ", no ack" : ""));
      to_collector_.pop_front();
      if (!withholding_) acks_.push_back(model_->last_seq());
    }
  }

  void collector_acks_withheld() {
    if (model_->connected() && model_->last_seq() > 0) acks_.push_back(model_->last_seq());
  }

  void acks_arrive(std::size_t n) {
    for (; n > 0 && !acks_.empty(); --n) {
      trace("ack " + std::to_string(acks_.front()));
      ring_->ack(acks_.front());
      model_->ack(acks_.front());
      acks_.pop_front();
    }
  }

  // The link breaks: the collector may still have read some of what was on
  // the way (stored, but the Acks are lost); the rest is gone.
  void disconnect() {
    collector_reads(pick(0, to_collector_.size()));
    trace("link lost; " + std::to_string(to_collector_.size()) + " batches and " + std::to_string(acks_.size()) +
          " acks lost with it");
    to_collector_.clear();
    acks_.clear();
    ring_->on_disconnect();
    model_->on_disconnect();
  }

  void connect(bool burst_may_follow = true) {
    const std::uint64_t acked = model_->last_seq();
    trace("welcome, acked_seq " + std::to_string(acked));
    ring_->on_welcome(acked);
    model_->on_welcome(acked);
    // Sometimes a burst arrives before the link resends anything: batches
    // the Welcome did not cover get evicted before their resend.
    if (burst_may_follow && chance(0.3))
      for (std::size_t n = pick(20, 200); n > 0 && !::testing::Test::HasFailure(); --n) push_dropping(random_packet());
  }

  // Link healthy until everything captured is settled.
  void drain() {
    if (!model_->connected()) connect();
    if (withholding_) {
      withholding_ = false;
      collector_acks_withheld();
    }
    for (int guard = 0; !ring_->drained(); ++guard) {
      ASSERT_LT(guard, 1000000) << "the ring does not drain\n" << history();
      if (!acks_.empty()) acks_arrive(acks_.size());
      else if (!to_collector_.empty()) collector_reads(to_collector_.size());
      else ASSERT_TRUE(send(0)) << "not drained, nothing to send\n" << history();
      ASSERT_TRUE(model_->agrees_with(*ring_)) << history();
    }
    ASSERT_TRUE(model_->agrees_with(*ring_)) << history();
    ASSERT_TRUE(model_->settled_exactly_once()) << history();
  }

  static std::string describe(const packet& p) {
    return "#" + std::to_string(p.id) + " " + std::to_string(p.len) + " B" + (p.gps ? " gps" : "");
  }

  std::mt19937_64 rng_;
  std::unique_ptr<packet_ring> ring_;
  std::unique_ptr<reference_model> model_;
  std::uint64_t next_id_ = 0;
  regime regime_ = regime::healthy;
  bool withholding_ = false;

  struct on_the_wire {
    std::uint64_t seq;
    std::vector<std::uint64_t> ids;
  };
  std::deque<on_the_wire> to_collector_;
  std::deque<std::uint64_t> acks_;

  std::atomic<std::uint64_t> wakes_{0};
  std::uint64_t expected_wakes_ = 0;
  std::uint64_t sends_ = 0, blocked_waits_ = 0;
  std::deque<std::string> history_;
};

class packet_ring_model : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(packet_ring_model, random_operations_keep_the_ring_and_the_reference_model_in_agreement) {
  model_run run(GetParam());
  run.run(60'000);
  if (HasFailure()) return;
  // The run must have reached the subtle cases, or it proves little.
  const auto& k = run.model().cases();
  const std::pair<const char*, std::uint64_t> seen[] = {
      {"unsent_dropped", k.unsent_dropped},
      {"evicted_known_lost", k.evicted_known_lost},
      {"evicted_unresolved", k.evicted_unresolved},
      {"unresolved_acked_by_ack", k.unresolved_acked_by_ack},
      {"unresolved_acked_by_welcome", k.unresolved_acked_by_welcome},
      {"unresolved_dropped_by_welcome", k.unresolved_dropped_by_welcome},
      {"welcome_beyond_inflight", k.welcome_beyond_inflight},
      {"welcome_resends", k.welcome_resends},
      {"resends", k.resends},
      {"refused_while_reading", k.refused_while_reading},
      {"refused_oversize", k.refused_oversize},
      {"blocked_waits", run.blocked_waits()},
      {"batches_sent", run.sends()},
      {"captured", run.model().captured()},
  };
  for (const auto& [name, n] : seen) {
    RecordProperty(name, std::to_string(n));
    EXPECT_GT(n, 0u) << name << " never happened with this seed";
  }
}

INSTANTIATE_TEST_SUITE_P(seeds, packet_ring_model, ::testing::Values(1, 2, 3, 42, 2026, 0xdecafbad));

}  // namespace
}  // namespace hopwire::sensor

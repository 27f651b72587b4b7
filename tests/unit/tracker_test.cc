// The device tracker's own rules: the MAC index, eviction at the device
// limit, "changed since" returning exactly the changed devices, and a device
// list streamed from it in bounded memory.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "collector/api/device_list.h"
#include "collector/track/device_tracker.h"
#include "collector/track/mac_index.h"

using namespace hopwire;
using namespace hopwire::collector;

TEST(mac_index, agrees_with_std_map_under_random_inserts_erases_and_moves) {
  // Kept as the shard keeps it: keys in a vector, the index pointing into
  // it, an erased key's place filled by the last one.
  mac_index idx;
  std::vector<std::uint64_t> keys;
  std::map<std::uint64_t, std::uint32_t> ref;
  const auto key_of = [&](std::uint32_t p) { return keys[p]; };
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t k = (rng() % 2500) | ((rng() % 2) << 40);
    const auto it = ref.find(k);
    if (rng() % 3 == 0) {
      if (it == ref.end()) continue;
      const std::uint32_t pos = it->second, last = static_cast<std::uint32_t>(keys.size() - 1);
      idx.erase(k, pos);
      ref.erase(it);
      if (pos != last) {
        keys[pos] = keys[last];
        idx.move(keys[pos], last, pos);
        ref[keys[pos]] = pos;
      }
      keys.pop_back();
    } else if (it == ref.end()) {
      keys.push_back(k);
      idx.insert(k, static_cast<std::uint32_t>(keys.size() - 1));
      ref[k] = static_cast<std::uint32_t>(keys.size() - 1);
    }
  }
  EXPECT_EQ(idx.size(), ref.size());
  EXPECT_GT(ref.size(), 1000u);
  for (std::uint64_t k = 0; k < 2500; ++k)
    for (const std::uint64_t hi : {std::uint64_t{0}, std::uint64_t{1} << 40}) {
      auto it = ref.find(k | hi);
      EXPECT_EQ(idx.find(k | hi, key_of), it == ref.end() ? mac_index::npos : it->second) << (k | hi);
    }
}

TEST(mac_index, keys_whose_hashes_collide_stay_apart) {
  // Two MACs with the same 32-bit hash, found by a birthday search.
  std::unordered_map<std::uint32_t, std::uint64_t> seen;
  std::uint64_t a = 0, b = 0;
  for (std::uint64_t k = 0x020000000000ULL;; ++k) {
    const auto [it, fresh] = seen.emplace(mac_index::hash(k), k);
    if (!fresh) {
      a = it->second, b = k;
      break;
    }
  }
  std::vector<std::uint64_t> keys = {a, b};
  const auto key_of = [&](std::uint32_t p) { return keys[p]; };
  mac_index idx;
  idx.insert(a, 0);
  idx.insert(b, 1);
  EXPECT_EQ(idx.find(a, key_of), 0u);
  EXPECT_EQ(idx.find(b, key_of), 1u);
  idx.erase(a, 0);
  keys[0] = b;
  idx.move(b, 1, 0);
  keys.pop_back();
  EXPECT_EQ(idx.find(a, key_of), mac_index::npos);
  EXPECT_EQ(idx.find(b, key_of), 0u);
  EXPECT_EQ(idx.size(), 1u);
}

namespace {

std::vector<std::uint8_t> probe_from(std::uint64_t mac) {
  std::vector<std::uint8_t> f = {0x40, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  for (int i = 5; i >= 0; --i) f.push_back(static_cast<std::uint8_t>(mac >> (8 * i)));
  f.insert(f.end(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0});
  return f;
}

void feed(device_tracker& t, std::uint32_t src, std::uint64_t mac, std::uint64_t now, std::uint32_t freq_mhz = 0) {
  const auto f = probe_from(mac);
  decoded_packet p;
  p.dlt = 105;
  p.sensor_freq_khz = freq_mhz * 1000;
  p.bytes = f;
  p.ts_ns = now;
  anomaly_counters an;
  decode_packet(p, an);
  EXPECT_FALSE(p.error());
  t.track(src, p, now);
}

}  // namespace

TEST(tracker, device_limit_evicts_the_longest_idle) {
  oui_table ouis;
  source_table sources;
  device_tracker t({64, 1}, ouis, sources);
  const auto src = sources.index_of("u", "n");
  const std::uint64_t base = 0x020000000000ULL;
  for (std::uint64_t i = 0; i < 64; ++i) feed(t, src, base + i, (i + 1) * 1'000'000'000ULL);
  // Device 0 heard again: now device 1 is the longest idle.
  feed(t, src, base, 100'000'000'000ULL);
  feed(t, src, base + 1000, 101'000'000'000ULL);
  EXPECT_EQ(t.device_count(), 64u);
  EXPECT_EQ(t.evicted(), 1u);
  EXPECT_TRUE(t.visit(mac_addr{base}, [](const device&) {}));
  EXPECT_FALSE(t.visit(mac_addr{base + 1}, [](const device&) {}));
  EXPECT_TRUE(t.visit(mac_addr{base + 1000}, [](const device&) {}));
}

TEST(tracker, changed_since_returns_exactly_the_changed_devices) {
  oui_table ouis;
  source_table sources;
  device_tracker t({0, 8}, ouis, sources);
  const auto src = sources.index_of("u", "n");
  const std::uint64_t base = 0x020000000000ULL;
  for (std::uint64_t i = 0; i < 1000; ++i) feed(t, src, base + i, 1'000'000'000ULL + i);
  const std::uint64_t mark = 50'000'000'000ULL;
  std::set<std::uint64_t> touched;
  for (std::uint64_t i = 0; i < 1000; i += 37) {
    feed(t, src, base + i, mark + i);
    touched.insert(base + i);
  }
  std::set<std::uint64_t> got;
  t.for_each_changed_since(mark, [&](const device& d) { got.insert(d.mac.v); });
  EXPECT_EQ(got, touched);
  std::size_t all = 0;
  t.for_each([&](const device&) { ++all; });
  EXPECT_EQ(all, 1000u);
}

TEST(tracker, devices_per_channel_counts_those_changed_in_the_window_whichever_way_the_shard_is_walked) {
  // While the shard keeps old devices it is read along its recency list;
  // once all of it is recent, through its device vector. Both must give the
  // same rule: changed at or after the mark, by the frequency heard last.
  oui_table ouis;
  source_table sources;
  device_tracker t({0, 1}, ouis, sources);
  const auto src = sources.index_of("u", "n");
  const std::uint64_t base = 0x020000000000ULL;
  const std::uint32_t freqs[] = {2412, 2437, 5180};
  const std::uint64_t mark = 50'000'000'000ULL;
  for (std::uint64_t i = 0; i < 3000; ++i) feed(t, src, base + i, 1'000'000'000ULL + i, freqs[i % 3]);
  std::map<std::uint32_t, std::uint64_t> want;
  std::vector<std::uint32_t> freq_of(3000);
  for (std::uint64_t i = 0; i < 3000; ++i) freq_of[i] = freqs[i % 3];
  const auto again = [&](std::uint64_t i, std::uint64_t when) {
    freq_of[i] = i % 5 == 0 ? 5745 : freqs[i % 3];  // some heard on another channel now
    feed(t, src, base + i, when, freq_of[i]);
  };
  for (std::uint64_t i = 0; i < 3000; i += 7) {
    again(i, mark + i);
    ++want[freq_of[i]];
  }
  std::map<std::uint32_t, std::uint64_t> got;
  t.count_changed_by_freq(mark, got);
  EXPECT_EQ(got, want);

  for (std::uint64_t i = 0; i < 3000; ++i)
    if (i % 7) again(i, mark + 10'000'000'000ULL + i);
  want.clear();
  for (const auto f : freq_of) ++want[f];
  got.clear();
  t.count_changed_by_freq(mark, got);
  EXPECT_EQ(got, want);
  EXPECT_EQ(want[5745], 600u);
  // Later than every change: none.
  got.clear();
  t.count_changed_by_freq(mark + 20'000'000'000ULL, got);
  EXPECT_TRUE(got.empty());
}

TEST(device_list_stream, memory_stays_at_a_chunk_however_long_the_list) {
  oui_table ouis;
  source_table sources;
  device_tracker t({0, 8}, ouis, sources);
  const auto src = sources.index_of("u", "n");
  const std::uint64_t base = 0x020000000000ULL;
  constexpr std::size_t kDevices = 20000;
  for (std::uint64_t i = 0; i < kDevices; ++i) feed(t, src, base + i, 1'000'000'000ULL + i);
  device_list_stream s(out_format::json, list_request{}, t.read_all(), t, {}, list_wrap::none, 0);
  constexpr std::size_t kChunk = 64 * 1024;
  std::string body, chunk;
  std::size_t most = 0;
  while (true) {
    chunk.clear();
    const bool more = s.pull(chunk, kChunk, [] {});
    EXPECT_LE(chunk.size(), kChunk);
    body += chunk;
    most = std::max(most, s.buffered());
    if (!more) break;
  }
  // Every device is in the answer, which is far longer than what was held.
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  ASSERT_FALSE(d.HasParseError());
  ASSERT_TRUE(d.IsArray());
  EXPECT_EQ(d.Size(), kDevices);
  EXPECT_GT(body.size(), 100 * kChunk);
  EXPECT_LE(most, s.memory_bound()) << "answer of " << body.size() << " bytes";
}

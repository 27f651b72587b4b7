// The device tracker's own rules: the MAC index, eviction at the device
// limit, "changed since" returning exactly the changed devices, and a device
// list streamed from it in bounded memory.

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <regex>
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

// ---- A device heard through several collectors (cluster fleet list) ----

#include "collector/persist/device_codec.h"
#include "collector/track/device_fields.h"
#include "collector/track/device_merge.h"
#include "sensor/capture_file.h"

namespace {

// Every stored field of a device as "path=value" lines, sources by UUID,
// for comparing two devices field by field.
struct flattener {
  const source_table& sources;
  std::vector<std::string> lines;
  std::string at;
  template <typename T>
  void num(const char* n, const T& v) {
    if constexpr (std::is_floating_point_v<T>) lines.push_back(at + n + "=" + std::to_string(v));
    else lines.push_back(at + n + "=" + std::to_string(+v));
  }
  void flag(const char* n, const bool& v) { num(n, static_cast<int>(v)); }
  void mac(const char* n, const mac_addr& m) { num(n, m.v); }
  void str(const char* n, const std::string& s) { lines.push_back(at + n + "=" + s); }
  void signal(const char* n, const signal_stats& s) {
    const std::string base = at;
    at += std::string(n) + ".";
    num("last", s.last), num("min", s.min), num("max", s.max), flag("valid", s.valid);
    at = base;
  }
  void source(const char* n, const std::uint32_t& idx) { lines.push_back(at + n + "=" + sources.get(idx).uuid); }
  template <typename T, std::size_t N, typename Fn>
  void list(const char* n, const compact_vec<T, N>& v, std::size_t, Fn&& fn) {
    const std::string base = at;
    for (std::size_t i = 0; i < v.size(); ++i) {
      // Seen-by entries by source: the fold may list them in another order
      // only when two sources first heard the device in the same frame.
      if constexpr (std::is_same_v<T, seenby_entry>) at = base + n + "[" + sources.get(v[i].source).uuid + "].";
      else at = base + n + "[" + std::to_string(i) + "].";
      fn(*this, v[i]);
    }
    at = base;
    lines.push_back(at + n + ".size=" + std::to_string(v.size()));
  }
  template <typename T, typename Fn>
  void optional(const char* n, const detail_ptr<T>& p, Fn&& fn) {
    const std::string base = at;
    at += std::string(n) + ".";
    if (p) fn(*this, *p);
    at = base;
  }
};

// path -> value
std::map<std::string, std::string> flatten(const device& d, const source_table& sources) {
  flattener f{sources, {}, {}};
  visit_device(f, d);
  std::map<std::string, std::string> out;
  for (const auto& l : f.lines) {
    const auto eq = l.find('=');
    out[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return out;
}

}  // namespace

namespace {

// Which source hears packet `n` of capture `c`, and on which collector
// (0: A, 1: B); -1: that source does not hear it.
using split_fn = std::function<void(std::size_t c, std::size_t n, std::vector<std::uint32_t>& sources)>;

struct split_result {
  std::size_t checked = 0, folded = 0, lone_packets = 0, fleet_packets = 0, devices = 0, equal = 0;
  std::vector<std::string> problems;
  struct diff {
    std::string mac, path, lone, fleet;
  };
  std::vector<diff> diffs;  // every field that differs, of every device
};

// Replays `captures` in turn; `split` says which of sources 0..3 hear
// each packet (0, 1: collector A; 2, 3: collector B). A lone tracker hears
// them all. A's and B's devices go through the stored record (as they
// cross NATS) and are folded; each folded device is compared with the
// lone tracker's, field by field but for mod_ns (each collector's clock).
split_result fold_and_compare(const std::vector<const char*>& captures, const split_fn& split) {
  split_result r;
  oui_table ouis;
  source_table lone_src, a_src, b_src, fleet_src;
  device_tracker lone({}, ouis, lone_src), a({}, ouis, a_src), b({}, ouis, b_src);
  std::uint32_t lone_idx[4], own_idx[4];
  for (std::uint32_t s = 0; s < 4; ++s) {
    const std::string uuid = "source-" + std::to_string(s);
    lone_idx[s] = lone_src.index_of(uuid, uuid);
    own_idx[s] = (s < 2 ? a_src : b_src).index_of(uuid, uuid);
  }
  std::vector<std::uint32_t> hearing;
  for (std::size_t c = 0; c < captures.size(); ++c) {
    sensor::capture_file file;
    file.open(std::string(HOPWIRE_TEST_DATA) + "/" + captures[c]);
    sensor::file_packet fp;
    for (std::size_t n = 0; file.next(fp) == sensor::capture_file::result::packet; ++n) {
      decoded_packet p;
      p.dlt = fp.dlt;
      p.bytes = fp.data;
      p.ts_ns = fp.ts_ns;
      anomaly_counters an;
      decode_packet(p, an);
      hearing.clear();
      split(c, n, hearing);
      for (const auto s : hearing) {
        lone.track(lone_idx[s], p, fp.ts_ns);
        (s < 2 ? a : b).track(own_idx[s], p, fp.ts_ns);
      }
    }
  }
  std::map<std::uint64_t, device> fleet;
  for (const auto* share : {&a, &b}) {
    const source_table& own = share == &a ? a_src : b_src;
    share->for_each([&](const device& d) {
      std::string rec;
      encode_device(d, [&](std::uint32_t i) { return own.get(i).uuid; }, rec);
      device got;
      if (!decode_device(rec, got, [&](const std::string& u) { return fleet_src.index_of(u, u); })) {
        r.problems.push_back("a record did not decode: " + d.mac.str());
        return;
      }
      auto [it, fresh] = fleet.try_emplace(d.mac.v);
      if (fresh) it->second = std::move(got);
      else merge_device(it->second, got), ++r.folded;
    });
  }
  r.devices = fleet.size();
  if (fleet.size() != lone.device_count())
    r.problems.push_back("fleet has " + std::to_string(fleet.size()) + " devices, one collector " +
                         std::to_string(lone.device_count()));
  for (const auto& [mac, d] : fleet) r.fleet_packets += d.packets;
  lone.for_each([&](const device& d) {
    r.lone_packets += d.packets;
    auto it = fleet.find(d.mac.v);
    if (it == fleet.end()) {
      r.problems.push_back(d.mac.str() + " is missing from the fleet");
      return;
    }
    ++r.checked;
    device want = d, got = it->second;
    want.mod_ns = got.mod_ns = 0;
    const auto w = flatten(want, lone_src), g = flatten(got, fleet_src);
    if (w == g) {
      ++r.equal;
      return;
    }
    std::set<std::string> paths;
    for (const auto& [k, v] : w) paths.insert(k);
    for (const auto& [k, v] : g) paths.insert(k);
    for (const auto& k : paths) {
      const auto wi = w.find(k), gi = g.find(k);
      const std::string wv = wi == w.end() ? "(none)" : wi->second, gv = gi == g.end() ? "(none)" : gi->second;
      if (wv != gv) r.diffs.push_back({d.mac.str(), k, wv, gv});
    }
  });
  return r;
}

const std::vector<const char*> kMergeCaptures = {
    "wifite2_handshake_not_exists.cap", "aircrack_n-02.cap", "aircrack_capture_wds-01.cap", "aircrack_test1.pcap",
    "fragattacks_ping_I_E_R_E-fromclient.pcapng", "aircrack_wep.shared.key.authentication.cap"};

}  // namespace

TEST(device_merge, overlapping_sensors_on_two_collectors_fold_into_what_one_collector_tracks) {
  // How sensors overlap in the field: two sensors hear the same air, one
  // on each collector, and each collector also has sensors of its own
  // elsewhere. Capture 0, 2, 4 are heard by source 0 (A) and source 2 (B)
  // alike; 1 and 5 by source 1 (A) only; 3 by source 3 (B) only.
  const auto r = fold_and_compare(kMergeCaptures, [](std::size_t c, std::size_t, std::vector<std::uint32_t>& s) {
    if (c % 2 == 0) s = {0, 2};
    else if (c == 3) s = {3};
    else s = {1};
  });
  for (const auto& p : r.problems) ADD_FAILURE() << p;
  for (const auto& d : r.diffs) ADD_FAILURE() << d.mac << " " << d.path << ": one collector " << d.lone << ", fleet " << d.fleet;
  EXPECT_EQ(r.equal, r.checked);
  EXPECT_GT(r.checked, 50u);
  EXPECT_GT(r.folded, 20u);  // devices both collectors heard
  EXPECT_EQ(r.fleet_packets, r.lone_packets);
}

TEST(device_merge, frames_that_count_only_on_a_known_device_count_where_it_is_known) {
  // Sources on two collectors hear one capture in turns (runs of three
  // frames). The tracker counts some frames only on a device it already
  // knows — a control frame's transmitter, an auth frame's BSSID, a beacon
  // cut short — so such a frame heard through collector B, when only A
  // knows the device, is not counted in the fleet, where one collector
  // that knows it would count it (docs/cluster.md, "What runs today").
  // Everything else must still agree: the same devices, none with more
  // packets than one collector gives it, and the most folded exactly.
  const auto r = fold_and_compare(kMergeCaptures, [](std::size_t, std::size_t n, std::vector<std::uint32_t>& s) {
    s = {static_cast<std::uint32_t>((n / 3) % 3)};
  });
  // A frame not counted leaves out what it adds to the device itself: its
  // counts, its time, its signal, its seen-by entry; and for an auth
  // frame, the BSSID's algorithm bit. Nothing in the lists of SSIDs,
  // peers or probes (those frames make their devices).
  static const std::regex explained(
      R"(^(packets|packets_tx|packets_mgmt|packets_crypt|packets_error|retries|bytes|first_ns|last_ns|)"
      R"(signal\.(last|min|max|valid)|seenby\.size|seenby\[source-[0-9]\]\.[a-z_.]+|wifi\.auth_algorithms)$)");
  std::size_t not_counts = 0;
  for (const auto& p : r.problems) ADD_FAILURE() << p, ++not_counts;
  for (const auto& d : r.diffs)
    if (!std::regex_match(d.path, explained))
      ADD_FAILURE() << d.mac << " " << d.path << ": one collector " << d.lone << ", fleet " << d.fleet, ++not_counts;
  EXPECT_EQ(r.devices, r.checked);
  EXPECT_LE(r.fleet_packets, r.lone_packets);
  EXPECT_GT(r.equal * 10, r.checked * 9) << r.equal << " of " << r.checked << " folded exactly";
  EXPECT_EQ(not_counts, 0u);
  std::printf("interleaved split: %zu of %zu devices folded exactly; fleet %zu packets, one collector %zu\n",
              r.equal, r.checked, r.fleet_packets, r.lone_packets);
}

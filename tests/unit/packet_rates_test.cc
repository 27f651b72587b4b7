// Kismet's minute/hour/day rings (core/rrd.h), the packet rates fed from the
// pipeline (core/packet_rates.h), and device names and tags with their stored
// form (track/device_annotations.h, persist/annotation_codec.h).
#include "collector/core/rrd.h"

#include <gtest/gtest.h>

#include "collector/core/packet_rates.h"
#include "collector/persist/annotation_codec.h"
#include "collector/track/device_annotations.h"

namespace hopwire::collector {
namespace {

constexpr std::uint64_t kT = 1700000000;  // second 20 of its minute

TEST(rrd, samples_of_one_second_add_up_in_its_slot) {
  rrd r;
  r.add(3, kT);
  r.add(4, kT);
  EXPECT_EQ(r.minute()[kT % 60], 7);
  EXPECT_EQ(r.last_value(), 7);
  EXPECT_EQ(r.last_time(), kT);
}

TEST(rrd, slots_are_indexed_by_absolute_time) {
  rrd r;
  r.add(1, kT);
  r.add(2, kT + 1);
  EXPECT_EQ(r.minute()[(kT + 1) % 60], 2);
  EXPECT_EQ(r.minute()[kT % 60], 1);
  EXPECT_EQ(r.last_value_n1(), 1);
}

TEST(rrd, a_gap_zeroes_the_seconds_it_skipped) {
  rrd r;
  for (std::uint64_t t = kT; t < kT + 60; ++t) r.add(5, t);
  r.add(9, kT + 70);  // 10 s later: 61..69 are zero, 70 holds 9
  for (std::uint64_t t = kT + 60; t < kT + 70; ++t) EXPECT_EQ(r.minute()[t % 60], 0) << t;
  EXPECT_EQ(r.minute()[(kT + 70) % 60], 9);
  EXPECT_EQ(r.minute()[(kT + 71) % 60], 5);  // still the last minute's
}

TEST(rrd, a_gap_of_over_a_day_starts_afresh) {
  rrd r;
  r.add(5, kT);
  r.advance(kT + 86401);
  for (double v : r.minute()) EXPECT_EQ(v, 0);
  for (double v : r.hour()) EXPECT_EQ(v, 0);
  for (double v : r.day()) EXPECT_EQ(v, 0);
}

TEST(rrd, a_minute_slot_is_the_mean_of_the_second_ring) {
  rrd r;
  // kT is second 20 of its minute: 30 seconds of 2 stay within it.
  for (std::uint64_t t = kT; t < kT + 30; ++t) r.add(2, t);
  EXPECT_DOUBLE_EQ(r.hour()[(kT / 60) % 60], 30 * 2 / 60.0);
}

TEST(rrd, a_full_minute_of_a_steady_rate_shows_that_rate_in_the_hour_ring) {
  rrd r;
  for (std::uint64_t t = kT; t < kT + 60; ++t) r.add(4, t);
  EXPECT_DOUBLE_EQ(r.hour()[((kT + 59) / 60) % 60], 4);
  EXPECT_GT(r.day()[((kT + 59) / 3600) % 24], 0);
}

TEST(rrd, peak_keeps_the_highest_second_in_the_minute_ring) {
  rrd r(rrd::combine::peak);
  r.add(1, kT);
  r.add(50, kT + 1);
  r.add(3, kT + 2);
  EXPECT_EQ(r.hour()[((kT + 2) / 60) % 60], 50);
}

TEST(rrd, extreme_keeps_the_highest_sample_of_a_second) {
  rrd r(rrd::combine::extreme);
  r.add(7, kT);
  r.add(3, kT);
  EXPECT_EQ(r.minute()[kT % 60], 7);
}

TEST(rrd, a_late_sample_within_a_minute_is_added_to_its_second) {
  rrd r;
  r.add(1, kT);
  r.add(1, kT + 10);
  r.add(5, kT + 1);
  EXPECT_EQ(r.minute()[(kT + 1) % 60], 5);
  EXPECT_EQ(r.last_time(), kT + 10);
  r.add(5, kT - 100);  // older than a minute: gone
  EXPECT_EQ(r.minute()[(kT - 100) % 60], 0);
}

TEST(rrd, absorbing_adds_slot_by_slot) {
  rrd a, b;
  a.add(2, kT);
  b.add(3, kT);
  a.absorb(b);
  EXPECT_EQ(a.minute()[kT % 60], 5);
}

TEST(packet_rates, a_tick_puts_the_pipeline_counts_since_the_last_into_the_rings) {
  meta_gps gps;
  ingest_pipeline pipeline(gps);
  source_table table;
  source_registry sources(table);
  packet_rates rates(pipeline, sources);
  rates.tick(kT * 1000000000ull);
  const auto c = rates.chain();
  EXPECT_EQ(c.packets.last_time(), kT);
  EXPECT_EQ(c.packets.last_value(), 0);
  EXPECT_EQ(c.dupes.last_value(), 0);
}

TEST(device_annotations, an_empty_name_clears_it_and_an_empty_value_removes_the_tag) {
  device_annotations a;
  const mac_addr m{0x001122334455};
  std::string why;
  EXPECT_TRUE(a.set_name(m, "roof ap", why));
  EXPECT_TRUE(a.set_tag(m, "floor", "3", why));
  EXPECT_TRUE(a.any());
  EXPECT_EQ(*a.get(m)->username, "roof ap");
  EXPECT_TRUE(a.set_name(m, "", why));
  EXPECT_FALSE(a.get(m)->username);
  const auto after = a.set_tag(m, "floor", "", why);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
  EXPECT_FALSE(a.get(m));
  EXPECT_FALSE(a.any());
}

TEST(device_annotations, a_device_holds_at_most_its_tag_limit) {
  device_annotations a;
  const mac_addr m{1};
  std::string why;
  for (std::size_t i = 0; i < device_annotations::kMaxTags; ++i)
    ASSERT_TRUE(a.set_tag(m, "t" + std::to_string(i), "v", why));
  EXPECT_FALSE(a.set_tag(m, "one-more", "v", why));
  EXPECT_NE(why.find("tags"), std::string::npos);
  EXPECT_TRUE(a.set_tag(m, "t0", "changed", why));  // an existing tag may change
}

TEST(annotation_codec, a_name_and_tags_survive_the_stored_form) {
  device_annotation in;
  in.username = "lobby \"AP\"";
  in.tags = {{"floor", "3"}, {"owner", "it"}};
  device_annotation out;
  ASSERT_TRUE(decode_annotation(encode_annotation(in), out));
  EXPECT_EQ(out.username, in.username);
  EXPECT_EQ(out.tags, in.tags);
  EXPECT_TRUE(encode_annotation(device_annotation{}).empty());
  EXPECT_FALSE(decode_annotation("{\"tags\": [1]}", out));
}

}  // namespace
}  // namespace hopwire::collector

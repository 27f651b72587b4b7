#include "collector/plan/channel_planner.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace hopwire::collector {
namespace {

std::vector<std::string> L(std::initializer_list<const char*> c) { return {c.begin(), c.end()}; }

TEST(channel_planner, split_is_disjoint_covering_and_balanced) {
  const auto all = L({"1", "6", "11", "36", "40", "44", "48"});
  for (std::size_t members = 1; members <= 5; ++members) {
    SCOPED_TRACE(members);
    std::vector<std::vector<std::string>> lists(members, all);
    std::vector<double> rates(members, 5.0);
    const auto plans = channel_planner::compute(lists, rates, "split");
    std::multiset<std::string> seen;
    std::size_t lo = all.size(), hi = 0;
    for (const auto& p : plans) {
      seen.insert(p.channels.begin(), p.channels.end());
      lo = std::min(lo, p.channels.size());
      hi = std::max(hi, p.channels.size());
      EXPECT_EQ(p.hop, p.channels.size() > 1);
    }
    EXPECT_EQ(seen.size(), all.size());  // no channel twice
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), std::set<std::string>(all.begin(), all.end()));
    EXPECT_LE(hi - lo, 1u);  // balanced
  }
}

TEST(channel_planner, split_gives_each_channel_to_a_member_that_can_tune_it) {
  // A 2.4 GHz-only radio and a dual-band one.
  const auto plans = channel_planner::compute({L({"1", "6", "11"}), L({"1", "6", "11", "36", "40"})}, {5, 5}, "split");
  for (const auto& c : plans[0].channels) EXPECT_TRUE(c == "1" || c == "6" || c == "11") << c;
  std::set<std::string> all;
  for (const auto& p : plans) all.insert(p.channels.begin(), p.channels.end());
  EXPECT_EQ(all.size(), 5u);
  EXPECT_EQ(plans[1].channels.size() + plans[0].channels.size(), 5u);
}

TEST(channel_planner, more_members_than_channels_leaves_none_idle) {
  const auto plans = channel_planner::compute({L({"1"}), L({"1"}), L({"1"})}, {5, 5, 5}, "split");
  for (const auto& p : plans) EXPECT_EQ(p.channels, L({"1"}));
}

TEST(channel_planner, offset_hops_everything_from_spread_start_points) {
  const auto all = L({"1", "6", "11", "36"});
  const auto plans = channel_planner::compute({all, all}, {5, 10}, "offset");
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].channels, all);
  EXPECT_EQ(plans[1].channels, all);
  EXPECT_EQ(plans[0].offset, 0u);
  EXPECT_EQ(plans[1].offset, 2u);
  EXPECT_EQ(plans[1].rate_per_sec, 10);
}

}  // namespace
}  // namespace hopwire::collector

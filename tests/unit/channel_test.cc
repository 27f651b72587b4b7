#include "common/channel.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace hopwire {
namespace {

struct case_row {
  const char* text;
  std::uint32_t control;
  std::uint32_t width;
  std::uint32_t center;
  const char* canonical;
};

// Every form of Kismet's channel syntax the issue names, with the numbers
// nl80211 needs (control frequency, width, centre of the whole channel).
TEST(channel, parses_kismet_syntax) {
  const case_row rows[] = {
      {"6", 2437, 20, 2437, "6"},
      {"2412", 2412, 20, 2412, "1"},
      {"6HT20", 2437, 20, 2437, "6HT20"},
      {"6HT40+", 2437, 40, 2447, "6HT40+"},
      {"6HT40-", 2437, 40, 2427, "6HT40-"},
      {"6ht40+", 2437, 40, 2447, "6HT40+"},
      {"36VHT80", 5180, 80, 5210, "36VHT80"},
      {"44VHT80", 5220, 80, 5210, "44VHT80"},
      {"149VHT80", 5745, 80, 5775, "149VHT80"},
      {"36VHT160", 5180, 160, 5250, "36VHT160"},
      {"100VHT160", 5500, 160, 5570, "100VHT160"},
      {"36VHT80-5210", 5180, 80, 5210, "36VHT80"},
      {"1W5", 2412, 5, 2412, "1W5"},
      {"6W10", 2437, 10, 2437, "6W10"},
      {"5W6e", 5975, 20, 5975, "5W6e"},
      {"1W6e", 5955, 20, 5955, "1W6e"},
      {"1W6eVHT80", 5955, 80, 5985, "1W6eVHT80"},
      {"37W6eVHT160", 6135, 160, 6185, "37W6eVHT160"},
      {"14", 2484, 20, 2484, "14"},
      {"5180", 5180, 20, 5180, "36"},
      {"165", 5825, 20, 5825, "165"},
      {" 11 ", 2462, 20, 2462, "11"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.text);
    const channel c = parse_channel(r.text);
    EXPECT_EQ(c.control_mhz, r.control);
    EXPECT_EQ(c.width_mhz(), r.width);
    EXPECT_EQ(c.center1_mhz, r.center);
    EXPECT_EQ(c.str(), r.canonical);
    // What str() writes parses back to the same channel.
    EXPECT_EQ(parse_channel(c.str()), c);
  }
}

TEST(channel, plain_number_is_no_ht_and_ht20_is_ht) {
  EXPECT_EQ(parse_channel("6").width, chan_width::w20_noht);
  EXPECT_EQ(parse_channel("6HT20").width, chan_width::w20);
}

TEST(channel, explicit_centre_off_the_default_block_is_kept) {
  const channel c = parse_channel("52VHT80-5290");
  EXPECT_EQ(c.center1_mhz, 5290u);
  EXPECT_EQ(c.str(), "52VHT80");
}

TEST(channel, rejects_what_no_radio_can_tune_with_a_reason) {
  const std::pair<const char*, const char*> rows[] = {
      {"", "empty"},
      {"HT40+", "must start with"},
      {"0", "not a 2.4 or 5 GHz channel"},
      {"15", "not a 2.4 or 5 GHz channel"},
      {"2413", "not a Wi-Fi channel frequency"},
      {"6HT80", "unknown suffix"},
      {"6VHT80", "only at 5 and 6 GHz"},
      {"13HT40+", "no 20 MHz channel"},
      {"1HT40-", "no 20 MHz channel"},
      {"36VHT80-5290", "not inside"},
      {"36VHT80-", "centre frequency"},
      {"144VHT160", "no 160 MHz block"},
      {"99", "not a 2.4 or 5 GHz channel"},
      {"6HT40+x", "unexpected 'x'"},
      {"300W6e", "not a 6 GHz channel"},
      {"5955W6e", "takes a channel number"},
  };
  for (const auto& [text, why] : rows) {
    SCOPED_TRACE(text);
    try {
      parse_channel(text);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(std::string("'") + text), std::string::npos) << e.what();
    }
  }
}

TEST(channel, frequency_and_number_agree_across_bands) {
  for (unsigned ch = 1; ch <= 13; ++ch) EXPECT_EQ(mhz_to_channel(channel_to_mhz(ch)), ch);
  for (unsigned ch = 36; ch <= 144; ch += 4) EXPECT_EQ(mhz_to_channel(channel_to_mhz(ch)), ch);
  for (unsigned ch = 149; ch <= 177; ch += 4) EXPECT_EQ(mhz_to_channel(channel_to_mhz(ch)), ch);
  for (unsigned ch = 1; ch <= 233; ch += 4) EXPECT_EQ(mhz_to_channel(channel_to_mhz(ch, true)), ch);
}

// The hop-order rule: one cycle visits every channel of the list exactly
// once, for every list length, shuffled or not.
TEST(hop_order, every_channel_exactly_once_for_every_length) {
  for (std::size_t n = 0; n <= 600; ++n) {
    for (bool shuffle : {false, true}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " shuffle=" << shuffle);
      auto order = hop_order(n, shuffle);
      ASSERT_EQ(order.size(), n);
      std::vector<bool> seen(n, false);
      for (auto i : order) {
        ASSERT_LT(i, n);
        ASSERT_FALSE(seen[i]) << "index " << i << " visited twice";
        seen[i] = true;
      }
    }
  }
}

TEST(hop_order, shuffle_spreads_neighbours_apart) {
  // US 2.4 GHz: 1..11. Consecutive dwells should not sit on adjacent channels.
  const auto order = hop_order(11, true);
  for (std::size_t i = 1; i < order.size(); ++i) {
    const auto a = order[i - 1], b = order[i];
    EXPECT_GE(a > b ? a - b : b - a, 2u) << "positions " << i - 1 << "," << i;
  }
  EXPECT_EQ(hop_order(5, false), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace hopwire

namespace hopwire {
namespace {

// IEEE 802.11-2020 Annex E: channel starting frequency + 5 MHz × number, per band.
TEST(channel_table, numbers_are_per_band_as_annex_e_gives_them) {
  struct row {
    unsigned chan;
    wifi_band band;
    std::uint32_t mhz;
  };
  const row rows[] = {
      {1, wifi_band::ghz2_4, 2412},  {6, wifi_band::ghz2_4, 2437},  {13, wifi_band::ghz2_4, 2472},
      {14, wifi_band::ghz2_4, 2484}, {184, wifi_band::ghz4_9, 4920}, {196, wifi_band::ghz4_9, 4980},
      {36, wifi_band::ghz5, 5180},   {64, wifi_band::ghz5, 5320},    {100, wifi_band::ghz5, 5500},
      {144, wifi_band::ghz5, 5720},  {149, wifi_band::ghz5, 5745},   {165, wifi_band::ghz5, 5825},
      {177, wifi_band::ghz5, 5885},  {1, wifi_band::ghz6, 5955},     {2, wifi_band::ghz6, 5935},
      {5, wifi_band::ghz6, 5975},    {37, wifi_band::ghz6, 6135},    {93, wifi_band::ghz6, 6415},
      {233, wifi_band::ghz6, 7115},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(channel_to_mhz(r.chan, r.band), r.mhz) << r.chan << " in " << band_name(r.band);
    EXPECT_EQ(mhz_to_channel(r.mhz), r.chan) << r.mhz;
    EXPECT_EQ(band_of_mhz(r.mhz), r.band) << r.mhz;
  }
}

TEST(channel_table, the_same_number_is_a_different_frequency_in_another_band) {
  EXPECT_EQ(channel_to_mhz(37, wifi_band::ghz6), 6135u);
  EXPECT_EQ(channel_to_mhz(36, wifi_band::ghz5), 5180u);
  EXPECT_EQ(channel_to_mhz(1, wifi_band::ghz6), 5955u);
  EXPECT_EQ(channel_to_mhz(1, wifi_band::ghz2_4), 2412u);
  // A number a band does not have.
  EXPECT_EQ(channel_to_mhz(37, wifi_band::ghz5), 0u);
  EXPECT_EQ(channel_to_mhz(15, wifi_band::ghz2_4), 0u);
  EXPECT_EQ(channel_to_mhz(3, wifi_band::ghz6), 0u);  // a 40 MHz centre, not a 20 MHz channel
  EXPECT_EQ(mhz_to_channel(5965), 0u);
  EXPECT_EQ(mhz_to_channel(2400), 0u);
}

TEST(channel_table, runtime_parsing_returns_the_reason_instead_of_throwing) {
  std::string why;
  EXPECT_FALSE(try_parse_channel("6VHT80", why));
  EXPECT_NE(why.find("only at 5 and 6 GHz"), std::string::npos) << why;
  const auto c = try_parse_channel("37W6e", why);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->control_mhz, 6135u);
}

}  // namespace
}  // namespace hopwire

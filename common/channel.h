#pragma once
// Wi-Fi channels in Kismet's syntax, and the order a radio hops through them.
//
//   6  2412  6HT20  6HT40+  6HT40-  36VHT80  36VHT160  36VHT80-5210
//   1W5  6W10  5W6e
//
// A number below 1000 is a channel (1-14: 2.4 GHz, else 5 GHz; with W6e:
// 6 GHz); 1000 and above is a frequency in MHz. VHT80/VHT160 take the centre
// of the 80/160 MHz block the channel sits in, or the one given after '-'.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hopwire {

enum class chan_width : std::uint8_t { w20_noht, w20, w40, w80, w160, w5, w10 };

struct channel {
  std::uint32_t control_mhz = 0;
  chan_width width = chan_width::w20_noht;
  std::uint32_t center1_mhz = 0;  // equals control_mhz for 5/10/20 MHz

  // Kismet's spelling: "6", "6HT40+", "36VHT80", "5W6e", "6W10".
  std::string str() const;
  std::uint32_t width_mhz() const;
  bool operator==(const channel&) const = default;
};

// For configuration: throws std::invalid_argument saying what is wrong.
channel parse_channel(std::string_view text);
// For the running collector: empty, with the reason in `why`.
std::optional<channel> try_parse_channel(std::string_view text, std::string& why);

// The one channel table (IEEE 802.11 Annex E). Channel numbers are per band:
// 2.4 GHz 1-14, 4.9 GHz 182-196 (Japan), 5 GHz 32-177, 6 GHz 1-233 (and 2);
// the same number names different frequencies in different bands (6 GHz
// channel 37 is 6135 MHz, 5 GHz channel 36 is 5180 MHz).
enum class wifi_band : std::uint8_t { unknown, ghz2_4, ghz4_9, ghz5, ghz6 };
// 0 when the band has no such channel.
std::uint32_t channel_to_mhz(unsigned chan, wifi_band band);
// 2.4, 4.9 and 5 GHz share a numbering without overlaps; `six_ghz` picks 6 GHz.
std::uint32_t channel_to_mhz(unsigned chan, bool six_ghz = false);
// The channel number of a frequency, in whatever band it lies (0 if none).
unsigned mhz_to_channel(std::uint32_t mhz);
wifi_band band_of_mhz(std::uint32_t mhz);
const char* band_name(wifi_band b);  // "2.4", "4.9", "5", "6"; "" when unknown
bool is_2ghz(std::uint32_t mhz);
bool is_5ghz(std::uint32_t mhz);  // 4.9 and 5 GHz
bool is_6ghz(std::uint32_t mhz);

// Every frequency a channel occupies is within [low, high] MHz.
std::uint32_t channel_low_mhz(const channel& c);
std::uint32_t channel_high_mhz(const channel& c);

// The order a radio visits `n` channels in one cycle: every index exactly
// once. Shuffled, neighbours in the list are spread apart (adjacent Wi-Fi
// channels overlap, so consecutive dwells on them waste time); the stride
// is coprime with n, so no channel is ever skipped or visited twice.
std::vector<std::size_t> hop_order(std::size_t n, bool shuffle);

// The slowest hop rate that still respects the minimum dwell.
inline constexpr double kMaxHopRatePerSec = 20.0;  // 50 ms dwell
inline constexpr double kDefaultHopRatePerSec = 5.0;

// A channel plan as sent by the collector and followed by a sensor.
struct hop_plan {
  std::vector<std::string> channels;  // Kismet syntax, in list order
  bool hop = true;                    // false: stay on channels[0]
  double rate_per_sec = kDefaultHopRatePerSec;
  bool shuffle = true;
  std::uint32_t offset = 0;           // start position in the hop order
  bool operator==(const hop_plan&) const = default;
};

}  // namespace hopwire

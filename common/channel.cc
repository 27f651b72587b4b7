#include "channel.h"

#include <cctype>
#include <charconv>
#include <numeric>
#include <stdexcept>

namespace hopwire {

namespace {

bool iequal_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// Takes `prefix` off the front of `s` if it is there (any case).
bool eat(std::string_view& s, std::string_view prefix) {
  if (!iequal_prefix(s, prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool eat_number(std::string_view& s, unsigned& out) {
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, out);
  if (ec != std::errc() || p == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
}

// Centre channel of the 80/160 MHz block holding a 5 or 6 GHz channel; 0
// when no block holds it.
unsigned block_center(unsigned chan, bool six_ghz, unsigned width) {
  if (six_ghz) {
    if (chan < 1 || chan > 233 || (chan - 1) % 4 != 0) return 0;
    const unsigned span = width / 5;  // 16 channels per 80 MHz
    return (chan - 1) / span * span + span / 2 - 1;
  }
  static constexpr unsigned k80[] = {36, 52, 100, 116, 132, 149, 165};
  static constexpr unsigned k160[] = {36, 100, 149};
  const unsigned span = width / 5 - 4;  // last channel of a block, from its first
  if (width == 80) {
    for (unsigned s : k80)
      if (chan >= s && chan <= s + span && (chan - s) % 4 == 0) return s + 6;
  } else {
    for (unsigned s : k160)
      if (chan >= s && chan <= s + span && (chan - s) % 4 == 0) return s + 14;
  }
  return 0;
}

// Frequency of a block's centre channel number (centres such as 42 or 155
// are not channels one tunes to on their own).
std::uint32_t center_mhz(unsigned center_chan, bool six_ghz) {
  return (six_ghz ? 5950 : 5000) + 5 * center_chan;
}

}  // namespace

std::uint32_t channel_to_mhz(unsigned chan, wifi_band band) {
  switch (band) {
    case wifi_band::ghz2_4:
      if (chan == 14) return 2484;
      if (chan >= 1 && chan <= 13) return 2407 + 5 * chan;
      return 0;
    case wifi_band::ghz4_9:
      if (chan >= 182 && chan <= 196) return 4000 + 5 * chan;
      return 0;
    case wifi_band::ghz5:
      // 32-144 in steps of 4, 149-177 in steps of 4.
      if (chan >= 32 && chan <= 144 && chan % 4 == 0) return 5000 + 5 * chan;
      if (chan >= 149 && chan <= 177 && chan % 4 == 1) return 5000 + 5 * chan;
      return 0;
    case wifi_band::ghz6:
      if (chan == 2) return 5935;
      if (chan >= 1 && chan <= 233 && chan % 4 == 1) return 5950 + 5 * chan;
      return 0;
    case wifi_band::unknown: return 0;
  }
  return 0;
}

std::uint32_t channel_to_mhz(unsigned chan, bool six_ghz) {
  if (six_ghz) return channel_to_mhz(chan, wifi_band::ghz6);
  for (const auto b : {wifi_band::ghz2_4, wifi_band::ghz4_9, wifi_band::ghz5})
    if (const auto mhz = channel_to_mhz(chan, b)) return mhz;
  return 0;
}

wifi_band band_of_mhz(std::uint32_t mhz) {
  if (mhz >= 2400 && mhz <= 2500) return wifi_band::ghz2_4;
  if (mhz >= 4900 && mhz < 5000) return wifi_band::ghz4_9;
  if (mhz >= 5000 && mhz < 5930) return wifi_band::ghz5;
  if (mhz >= 5930 && mhz <= 7125) return wifi_band::ghz6;
  return wifi_band::unknown;
}

const char* band_name(wifi_band b) {
  switch (b) {
    case wifi_band::ghz2_4: return "2.4";
    case wifi_band::ghz4_9: return "4.9";
    case wifi_band::ghz5: return "5";
    case wifi_band::ghz6: return "6";
    case wifi_band::unknown: return "";
  }
  return "";
}

bool is_2ghz(std::uint32_t mhz) { return mhz >= 2400 && mhz <= 2500; }
bool is_5ghz(std::uint32_t mhz) { return mhz >= 4900 && mhz < 5930; }
bool is_6ghz(std::uint32_t mhz) { return mhz >= 5930 && mhz <= 7125; }

unsigned mhz_to_channel(std::uint32_t mhz) {
  if (mhz == 2484) return 14;
  if (mhz >= 2412 && mhz <= 2472 && (mhz - 2407) % 5 == 0) return (mhz - 2407) / 5;
  if (mhz == 5935) return 2;
  if (mhz >= 5955 && mhz <= 7115 && mhz % 5 == 0 && (mhz - 5950) / 5 % 4 == 1) return (mhz - 5950) / 5;
  if (mhz >= 4910 && mhz <= 4980 && mhz % 5 == 0) return (mhz - 4000) / 5;
  // Only the numbers the table itself gives back a frequency for.
  if (mhz >= 5160 && mhz <= 5905 && mhz % 5 == 0 && channel_to_mhz((mhz - 5000) / 5, wifi_band::ghz5) == mhz)
    return (mhz - 5000) / 5;
  return 0;
}

std::uint32_t channel::width_mhz() const {
  switch (width) {
    case chan_width::w5: return 5;
    case chan_width::w10: return 10;
    case chan_width::w40: return 40;
    case chan_width::w80: return 80;
    case chan_width::w160: return 160;
    default: return 20;
  }
}

std::uint32_t channel_low_mhz(const channel& c) { return c.center1_mhz - c.width_mhz() / 2; }
std::uint32_t channel_high_mhz(const channel& c) { return c.center1_mhz + c.width_mhz() / 2; }

std::string channel::str() const {
  const unsigned n = mhz_to_channel(control_mhz);
  const bool six = is_6ghz(control_mhz);
  std::string s = n ? std::to_string(n) : std::to_string(control_mhz);
  if (six && n) s += "W6e";
  switch (width) {
    case chan_width::w20_noht: break;
    case chan_width::w20: s += "HT20"; break;
    case chan_width::w40: s += center1_mhz > control_mhz ? "HT40+" : "HT40-"; break;
    case chan_width::w80:
    case chan_width::w160: {
      const unsigned w = width_mhz();
      s += w == 80 ? "VHT80" : "VHT160";
      const unsigned def = n ? block_center(n, six, w) : 0;
      if (!def || center_mhz(def, six) != center1_mhz) {
        s += '-';
        s += std::to_string(center1_mhz);
      }
      break;
    }
    case chan_width::w5: s += "W5"; break;
    case chan_width::w10: s += "W10"; break;
  }
  return s;
}

std::optional<channel> try_parse_channel(std::string_view text, std::string& why) {
  auto bad = [&](std::string_view t, const std::string& reason) {
    why = "channel '" + std::string(t) + "': " + reason;
    return std::nullopt;
  };
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty()) return bad(text, "empty");
  unsigned num = 0;
  if (!eat_number(s, num)) return bad(text, "must start with a channel number or a frequency in MHz");
  const bool six = eat(s, "W6e") || eat(s, "-W6e");

  channel c;
  unsigned chan = 0;
  if (num >= 1000) {
    if (six) return bad(text, "W6e takes a channel number, not a frequency");
    c.control_mhz = num;
    chan = mhz_to_channel(num);
    if (!chan) return bad(text, std::to_string(num) + " MHz is not a Wi-Fi channel frequency");
  } else {
    chan = num;
    c.control_mhz = channel_to_mhz(num, six);
    if (!c.control_mhz)
      return bad(text, std::to_string(num) + " is not a " + (six ? "6 GHz" : "2.4 or 5 GHz") + " channel number");
  }
  const bool six_band = is_6ghz(c.control_mhz);
  c.center1_mhz = c.control_mhz;

  auto want_secondary = [&](int delta) -> bool {
    const std::uint32_t sec = c.control_mhz + delta;
    if (!mhz_to_channel(sec) || is_2ghz(sec) != is_2ghz(c.control_mhz)) {
      bad(text, "no 20 MHz channel at " + std::to_string(sec) + " MHz to pair with");
      return false;
    }
    c.center1_mhz = c.control_mhz + delta / 2;
    return true;
  };

  if (s.empty()) {
    c.width = chan_width::w20_noht;
  } else if (eat(s, "HT20")) {
    c.width = chan_width::w20;
  } else if (eat(s, "HT40+")) {
    c.width = chan_width::w40;
    if (!want_secondary(20)) return std::nullopt;
  } else if (eat(s, "HT40-")) {
    c.width = chan_width::w40;
    if (!want_secondary(-20)) return std::nullopt;
  } else if (eat(s, "VHT80")) {
    c.width = chan_width::w80;
  } else if (eat(s, "VHT160")) {
    c.width = chan_width::w160;
  } else if (eat(s, "W5")) {
    c.width = chan_width::w5;
  } else if (eat(s, "W10")) {
    c.width = chan_width::w10;
  } else {
    return bad(text, "unknown suffix '" + std::string(s) +
                  "' (expected HT20, HT40+, HT40-, VHT80, VHT160, W5, W10 or W6e)");
  }

  if (c.width == chan_width::w80 || c.width == chan_width::w160) {
    const unsigned w = c.width_mhz();
    if (is_2ghz(c.control_mhz)) return bad(text, std::to_string(w) + " MHz channels exist only at 5 and 6 GHz");
    if (eat(s, "-")) {
      unsigned center = 0;
      if (!eat_number(s, center)) return bad(text, "expected the centre frequency in MHz after '-'");
      const int off = int(c.control_mhz) - int(center);
      const int reach = int(w) / 2 - 10;
      if (off < -reach || off > reach || (off + reach) % 20 != 0)
        return bad(text, "control channel " + std::to_string(c.control_mhz) + " MHz is not inside a " +
                      std::to_string(w) + " MHz channel centred on " + std::to_string(center) + " MHz");
      c.center1_mhz = center;
    } else {
      const unsigned cc = block_center(chan, six_band, w);
      if (!cc) return bad(text, "no " + std::to_string(w) + " MHz block holds channel " + std::to_string(chan));
      c.center1_mhz = center_mhz(cc, six_band);
    }
  }
  if (!s.empty()) return bad(text, "unexpected '" + std::string(s) + "' at the end");
  return c;
}

channel parse_channel(std::string_view text) {
  std::string why;
  auto c = try_parse_channel(text, why);
  if (!c) throw std::invalid_argument(why);
  return *c;
}

std::vector<std::size_t> hop_order(std::size_t n, bool shuffle) {
  std::vector<std::size_t> order(n);
  std::size_t stride = 1;
  if (shuffle && n > 3) {
    // About two fifths of the list apart, the nearest stride coprime with n.
    stride = std::max<std::size_t>(2, (n * 2 + 2) / 5);
    while (std::gcd(stride, n) != 1) ++stride;
  }
  for (std::size_t i = 0; i < n; ++i) order[i] = (i * stride) % n;
  return order;
}

}  // namespace hopwire

#include "collector/config/alerts_config.h"

#include <cctype>

namespace hopwire::collector {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "AA:BB:CC", "AA:BB:CC:DD:EE:FF" (':' or '-'): the octets read, or 0.
int read_octets(std::string_view s, std::uint64_t& v) {
  v = 0;
  int n = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 >= s.size()) return 0;
    const int a = hex_digit(s[i]), b = hex_digit(s[i + 1]);
    if (a < 0 || b < 0 || n == 6) return 0;
    v = v << 8 | static_cast<std::uint64_t>(a << 4 | b);
    ++n;
    i += 2;
    if (i < s.size()) {
      if (s[i] != ':' && s[i] != '-') return 0;
      ++i;
      if (i == s.size()) return 0;
    }
  }
  return n;
}

}  // namespace

std::uint64_t unit_seconds(alert_time_unit u) {
  switch (u) {
    case alert_time_unit::second: return 1;
    case alert_time_unit::minute: return 60;
    case alert_time_unit::hour: return 3600;
    case alert_time_unit::day: return 86400;
  }
  return 60;
}

const char* unit_name(alert_time_unit u) {
  switch (u) {
    case alert_time_unit::second: return "sec";
    case alert_time_unit::minute: return "min";
    case alert_time_unit::hour: return "hr";
    case alert_time_unit::day: return "day";
  }
  return "min";
}

std::optional<alert_rate> try_parse_alert_rate(std::string_view text, std::string& why) {
  const std::string_view all = trim(text);
  std::string_view num = all, unit;
  if (const auto slash = all.find('/'); slash != std::string_view::npos) {
    num = trim(all.substr(0, slash));
    unit = trim(all.substr(slash + 1));
  }
  if (num.empty()) {
    why = "rate '" + std::string(text) + "': expected a count such as 10/min or 1/sec";
    return std::nullopt;
  }
  std::uint64_t n = 0;
  for (char c : num) {
    if (c < '0' || c > '9') {
      why = "rate '" + std::string(text) + "': the count must be a whole number, as in 10/min";
      return std::nullopt;
    }
    n = n * 10 + static_cast<unsigned>(c - '0');
    if (n > 1'000'000) {
      why = "rate '" + std::string(text) + "': at most 1000000 per unit";
      return std::nullopt;
    }
  }
  alert_rate r;
  r.count = static_cast<std::uint32_t>(n);
  if (all.find('/') == std::string_view::npos) r.unit = alert_time_unit::minute;
  else if (iequals(unit, "sec") || iequals(unit, "second")) r.unit = alert_time_unit::second;
  else if (iequals(unit, "min") || iequals(unit, "minute")) r.unit = alert_time_unit::minute;
  else if (iequals(unit, "hr") || iequals(unit, "hour")) r.unit = alert_time_unit::hour;
  else if (iequals(unit, "day")) r.unit = alert_time_unit::day;
  else {
    why = "rate '" + std::string(text) + "': unknown unit '" + std::string(unit) + "' (use sec, min, hr or day)";
    return std::nullopt;
  }
  return r;
}

std::string format_alert_rate(const alert_rate& r) { return std::to_string(r.count) + "/" + unit_name(r.unit); }

std::optional<alert_limits> try_parse_alert_limits(std::string_view rate, std::string_view burst, std::string& why) {
  const auto r = try_parse_alert_rate(rate, why);
  if (!r) return std::nullopt;
  const auto b = try_parse_alert_rate(burst, why);
  if (!b) return std::nullopt;
  if (static_cast<int>(b->unit) > static_cast<int>(r->unit)) {
    why = "burst '" + std::string(burst) + "': its time unit may not be longer than the rate's ('" +
          std::string(rate) + "')";
    return std::nullopt;
  }
  return alert_limits{*r, *b};
}

std::string mac_mask::str() const {
  std::string s = mac.str(true);
  if (bits == 48) return s;
  return s + "/" + mac_addr{mask()}.str(true);
}

std::optional<mac_mask> try_parse_mac_mask(std::string_view text, std::string& why) {
  const std::string_view t = trim(text);
  std::string_view addr = t, mask;
  const auto slash = t.find('/');
  if (slash != std::string_view::npos) {
    addr = trim(t.substr(0, slash));
    mask = trim(t.substr(slash + 1));
  }
  auto fail = [&](const char* what) {
    why = "MAC '" + std::string(text) + "': " + what;
    return std::nullopt;
  };
  std::uint64_t v = 0;
  const int octets = read_octets(addr, v);
  mac_mask m;
  if (octets == 3 && slash == std::string_view::npos) {
    m.bits = 24;
    v <<= 24;
  } else if (octets != 6) {
    if (auto plain = mac_addr::parse(addr); plain && slash == std::string_view::npos) return mac_mask{*plain, 48};
    return fail("expected AA:BB:CC:DD:EE:FF, optionally /FF:FF:FF:00:00:00 or /24, or an OUI AA:BB:CC");
  }
  if (slash != std::string_view::npos) {
    std::uint64_t mv = 0;
    const int mask_octets = read_octets(mask, mv);
    if (mask_octets == 6) {
      int ones = 0;
      while (ones < 48 && (mv >> (47 - ones) & 1)) ++ones;
      if (((0xffffffffffffull << (48 - ones)) & 0xffffffffffffull) != mv && ones != 0)
        return fail("the mask must be leading ones (FF:FF:FF:00:00:00), not a pattern");
      if (ones == 0 && mv != 0) return fail("the mask must be leading ones (FF:FF:FF:00:00:00), not a pattern");
      m.bits = static_cast<std::uint8_t>(ones);
    } else {
      int bits = 0;
      if (mask.empty() || mask.size() > 2) return fail("the mask must be a MAC-like mask or a bit count 1-48");
      for (char c : mask) {
        if (c < '0' || c > '9') return fail("the mask must be a MAC-like mask or a bit count 1-48");
        bits = bits * 10 + (c - '0');
      }
      if (bits < 1 || bits > 48) return fail("the bit count must be 1 to 48");
      m.bits = static_cast<std::uint8_t>(bits);
    }
    if (m.bits == 0) return fail("a mask of no bits would match every device");
  }
  m.mac = mac_addr{v & m.mask()};
  return m;
}

std::uint8_t known_encryption_bit(std::string_view name) {
  if (iequals(name, "open")) return kNetOpen;
  if (iequals(name, "wep")) return kNetWep;
  if (iequals(name, "wpa")) return kNetWpa;
  if (iequals(name, "wpa2")) return kNetWpa2;
  if (iequals(name, "wpa3")) return kNetWpa3;
  if (iequals(name, "owe")) return kNetOwe;
  return 0;
}

}  // namespace hopwire::collector

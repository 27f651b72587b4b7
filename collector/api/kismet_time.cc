#include "collector/api/kismet_time.h"

#include <charconv>

namespace hopwire::collector {

std::optional<std::uint64_t> parse_kismet_time(std::string_view t, std::uint64_t now_ns) {
  bool negative = false;
  if (!t.empty() && t.front() == '-') {
    negative = true;
    t.remove_prefix(1);
  }
  const auto dot = t.find('.');
  const std::string_view whole = t.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : t.substr(dot + 1);
  if (whole.empty() || whole.size() > 12 || frac.size() > 9) return std::nullopt;
  std::uint64_t s = 0, f = 0;
  if (auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), s);
      ec != std::errc() || p != whole.data() + whole.size())
    return std::nullopt;
  if (!frac.empty()) {
    if (auto [p, ec] = std::from_chars(frac.data(), frac.data() + frac.size(), f);
        ec != std::errc() || p != frac.data() + frac.size())
      return std::nullopt;
    for (std::size_t n = frac.size(); n < 9; ++n) f *= 10;
  } else if (dot != std::string_view::npos) {
    return std::nullopt;  // "12." is not a time
  }
  const std::uint64_t ns = s * 1000000000ull + f;
  if (!negative) return ns;
  return ns >= now_ns ? 0 : now_ns - ns;
}

}  // namespace hopwire::collector

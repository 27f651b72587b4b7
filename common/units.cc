#include "units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace hopwire {

namespace {

// Splits "12.5MiB" into 12.5 and "MiB"; throws on a missing number.
// The number at the front of `text` and what follows it; empty with the
// reason in `why` when there is no number.
std::optional<std::pair<double, std::string_view>> split_number(std::string_view text, const char* what,
                                                                std::string& why) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) {
    why = std::string(what) + " '" + std::string(text) + "': expected a number";
    return std::nullopt;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc() || ptr != text.data() + i || !std::isfinite(value)) {
    why = std::string(what) + " '" + std::string(text) + "': bad number";
    return std::nullopt;
  }
  auto suffix = text.substr(i);
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  return std::pair{value, suffix};
}

std::pair<double, std::string_view> number_and_suffix(std::string_view text, const char* what) {
  std::string why;
  auto r = split_number(text, what, why);
  if (!r) throw std::invalid_argument(why);
  return *r;
}

}  // namespace

std::uint64_t parse_size(std::string_view text) {
  auto [value, suffix] = number_and_suffix(text, "size");
  double mult = 0;
  if (suffix.empty() || suffix == "B" || suffix == "b") mult = 1;
  else if (suffix == "k" || suffix == "K" || suffix == "KiB" || suffix == "kiB") mult = 1024.0;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB") mult = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") mult = 1024.0 * 1024 * 1024;
  else if (suffix == "T" || suffix == "TiB") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (suffix == "KB" || suffix == "kB") mult = 1000.0;
  else if (suffix == "MB") mult = 1e6;
  else if (suffix == "GB") mult = 1e9;
  else if (suffix == "TB") mult = 1e12;
  else
    throw std::invalid_argument("size '" + std::string(text) +
                                "': unknown unit (use B, KiB, MiB, GiB, TiB, KB, MB, GB)");
  const double bytes = value * mult;
  if (bytes > 1.8e19) throw std::invalid_argument("size '" + std::string(text) + "' is too large");
  return static_cast<std::uint64_t>(bytes);
}

std::optional<std::chrono::milliseconds> try_parse_duration(std::string_view text, std::string& why) {
  const auto r = split_number(text, "duration", why);
  if (!r) return std::nullopt;
  const auto [value, suffix] = *r;
  double ms = 0;
  if (suffix == "ms") ms = value;
  else if (suffix.empty() || suffix == "s" || suffix == "sec") ms = value * 1e3;
  else if (suffix == "m" || suffix == "min") ms = value * 60e3;
  else if (suffix == "h") ms = value * 3600e3;
  else if (suffix == "d") ms = value * 86400e3;
  else if (suffix == "w") ms = value * 7 * 86400e3;
  else {
    why = "duration '" + std::string(text) + "': unknown unit (use ms, s, m, h, d, w)";
    return std::nullopt;
  }
  if (ms > 1e15) {
    why = "duration '" + std::string(text) + "' is too large";
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::chrono::milliseconds parse_duration(std::string_view text) {
  std::string why;
  if (const auto d = try_parse_duration(text, why)) return *d;
  throw std::invalid_argument(why);
}

std::optional<double> try_parse_rate(std::string_view text) {
  std::string why;
  const auto r = split_number(text, "rate", why);
  if (!r) return std::nullopt;
  const auto [value, suffix] = *r;
  if (suffix.empty() || suffix == "/sec" || suffix == "/s") return value;
  if (suffix == "/min" || suffix == "/m") return value / 60.0;
  return std::nullopt;
}

double parse_rate(std::string_view text) {
  if (const auto r = try_parse_rate(text)) return *r;
  number_and_suffix(text, "rate");  // throws its own reason when there is no number
  throw std::invalid_argument("rate '" + std::string(text) + "': expected N/sec or N/min");
}

std::string format_size(std::uint64_t bytes) {
  char buf[32];
  if (bytes >= 1024ull * 1024 * 1024 && bytes % (1024ull * 1024 * 1024) == 0)
    std::snprintf(buf, sizeof buf, "%lluGiB", static_cast<unsigned long long>(bytes >> 30));
  else if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
    std::snprintf(buf, sizeof buf, "%lluMiB", static_cast<unsigned long long>(bytes >> 20));
  else if (bytes >= 1024 && bytes % 1024 == 0)
    std::snprintf(buf, sizeof buf, "%lluKiB", static_cast<unsigned long long>(bytes >> 10));
  else
    std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace hopwire

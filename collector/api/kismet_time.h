#pragma once
// Times in Kismet's REST paths: Unix seconds, with or without a fraction
// ("1700000000", "1700000000.123456"); a negative value means that many
// seconds ago (also "-30.5"). Exact to the microsecond, no floating point.

#include <cstdint>
#include <optional>
#include <string_view>

namespace hopwire::collector {

// Nanoseconds since the epoch; empty when `text` is not such a time.
std::optional<std::uint64_t> parse_kismet_time(std::string_view text, std::uint64_t now_ns);

}  // namespace hopwire::collector

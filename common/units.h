#pragma once
// Parsing of human-written sizes, durations and rates used on command lines
// and in config files: "4MiB", "512k", "7d", "250ms", "5/sec", "30/min".

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hopwire {

// Bytes. Suffixes k/K/KiB, M/MiB, G/GiB (powers of 1024), KB/MB/GB (powers
// of 1000), B or none. Throws std::invalid_argument naming the input.
std::uint64_t parse_size(std::string_view text);

// Suffixes ms, s, m/min, h, d, w; a bare number is seconds.
std::chrono::milliseconds parse_duration(std::string_view text);
std::optional<std::chrono::milliseconds> try_parse_duration(std::string_view text, std::string& why);

// Events per second from "N", "N/sec", "N/s", "N/min", "N/m".
double parse_rate(std::string_view text);
// The same without throwing: empty when `text` is not a rate.
std::optional<double> try_parse_rate(std::string_view text);

std::string format_size(std::uint64_t bytes);

}  // namespace hopwire

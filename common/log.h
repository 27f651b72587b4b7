#pragma once
// Logging for both binaries: spdlog to stderr, one line per event. Secrets
// never go through here.

#include <string_view>

#include <spdlog/spdlog.h>

namespace hopwire {

// level: "trace", "debug", "info", "warn", "error", "off".
void init_logging(std::string_view level);

}  // namespace hopwire

#pragma once
// "host:port" and "[v6-address]:port", as given on command lines.

#include <cstdint>
#include <string>
#include <string_view>

namespace hopwire {

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

// Throws std::invalid_argument naming `what` (the option) on bad input.
host_port parse_host_port(std::string_view text, std::string_view what);

}  // namespace hopwire

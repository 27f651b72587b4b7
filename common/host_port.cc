#include "host_port.h"

#include <charconv>
#include <stdexcept>

namespace hopwire {

host_port parse_host_port(std::string_view s, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument(std::string(what) + " " + std::string(s) + ": " + why);
  };
  host_port out;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      throw bad("expected [ADDRESS]:PORT");
    out.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || s.find(':') != colon)
      throw bad("expected HOST:PORT (IPv6: [ADDRESS]:PORT)");
    out.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535)
    throw bad("bad port '" + std::string(port) + "'");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace hopwire

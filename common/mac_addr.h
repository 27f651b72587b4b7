#pragma once
// A 48-bit IEEE MAC address held in the low bits of a 64-bit integer, first
// octet most significant, so that ordering and hashing are cheap.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hopwire {

struct mac_addr {
  std::uint64_t v = 0;

  static mac_addr from_bytes(const std::uint8_t* p) {
    return {(std::uint64_t{p[0]} << 40) | (std::uint64_t{p[1]} << 32) | (std::uint64_t{p[2]} << 24) |
            (std::uint64_t{p[3]} << 16) | (std::uint64_t{p[4]} << 8) | std::uint64_t{p[5]}};
  }
  // Accepts aa:bb:cc:dd:ee:ff, aa-bb-..., or 12 hex digits; any case.
  static std::optional<mac_addr> parse(std::string_view s) {
    std::uint64_t v = 0;
    int digits = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      int h;
      if (c >= '0' && c <= '9') h = c - '0';
      else if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
      else if ((c == ':' || c == '-') && digits % 2 == 0 && digits > 0 && digits < 12) continue;
      else return std::nullopt;
      v = v << 4 | static_cast<std::uint64_t>(h);
      if (++digits > 12) return std::nullopt;
    }
    if (digits != 12) return std::nullopt;
    return mac_addr{v};
  }

  std::uint8_t octet(int i) const { return static_cast<std::uint8_t>(v >> (40 - 8 * i)); }
  bool is_group() const { return octet(0) & 0x01; }
  bool is_broadcast() const { return v == 0xffffffffffffULL; }
  bool is_local() const { return octet(0) & 0x02; }  // locally administered: often randomised
  std::uint32_t oui() const { return static_cast<std::uint32_t>(v >> 24); }

  std::string str(bool upper = false) const {
    static constexpr char lo[] = "0123456789abcdef";
    static constexpr char up[] = "0123456789ABCDEF";
    const char* hex = upper ? up : lo;
    std::string s(17, ':');
    for (int i = 0; i < 6; ++i) {
      s[i * 3] = hex[octet(i) >> 4];
      s[i * 3 + 1] = hex[octet(i) & 15];
    }
    return s;
  }

  friend bool operator==(mac_addr a, mac_addr b) { return a.v == b.v; }
  friend bool operator!=(mac_addr a, mac_addr b) { return a.v != b.v; }
  friend bool operator<(mac_addr a, mac_addr b) { return a.v < b.v; }
};

}  // namespace hopwire

#pragma once
// 128-bit identifiers for capture sources, in the usual 8-4-4-4-12 text form.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hopwire {

struct uuid {
  std::array<std::uint8_t, 16> bytes{};

  // Accepts 8-4-4-4-12 hex, either case. Returns nullopt on anything else.
  static std::optional<uuid> parse(std::string_view text);
  // A random (version 4) UUID.
  static uuid random();
  // A name-based (version 5, SHA-1) UUID: the same name always gives the
  // same UUID, so a source keeps its identity across restarts.
  static uuid from_name(std::string_view name);

  std::string str() const;  // lower-case canonical form
  bool is_nil() const;
  friend bool operator==(const uuid&, const uuid&) = default;
};

}  // namespace hopwire

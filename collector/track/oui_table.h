#pragma once
// Manufacturer names by OUI, read once at start from Debian's ieee-data
// list (/usr/share/ieee-data/oui.csv). Lookups are a binary search over a
// sorted vector; names are stored once.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/mac_addr.h"

namespace hopwire::collector {

inline constexpr std::string_view kDefaultOuiPath = "/usr/share/ieee-data/oui.csv";

class oui_table {
 public:
  // Loads the CSV; returns false (table stays empty) when the file cannot
  // be read, with the reason in `why`.
  bool load(const std::string& path, std::string& why);
  void add(std::uint32_t oui, std::string_view name);  // for tests; keep sorted by calling finish()
  void finish();

  // "Unknown" when not listed; locally administered addresses have no OUI.
  std::string_view manufacturer(mac_addr mac) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct entry {
    std::uint32_t oui;
    std::uint32_t offset, length;  // into names_
  };
  std::vector<entry> entries_;
  std::string names_;
};

}  // namespace hopwire::collector

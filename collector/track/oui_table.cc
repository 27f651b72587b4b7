#include "collector/track/oui_table.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace hopwire::collector {

namespace {

// Splits one CSV line into fields, honouring double quotes ("" inside quotes
// is a quote).
std::vector<std::string> split_csv(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back().push_back(c);
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool oui_table::load(const std::string& path, std::string& why) {
  std::ifstream in(path);
  if (!in) {
    why = path + ": " + std::strerror(errno);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto f = split_csv(line);
    if (f.size() < 3 || f[0] != "MA-L" || f[1].size() != 6) continue;
    std::uint32_t oui = 0;
    bool ok = true;
    for (char c : f[1]) {
      const int h = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (h < 0) ok = false;
      oui = oui << 4 | static_cast<std::uint32_t>(h & 15);
    }
    if (ok) add(oui, trim(f[2]));
  }
  finish();
  if (entries_.empty()) {
    why = path + ": no MA-L entries found";
    return false;
  }
  return true;
}

void oui_table::add(std::uint32_t oui, std::string_view name) {
  entries_.push_back({oui, static_cast<std::uint32_t>(names_.size()), static_cast<std::uint32_t>(name.size())});
  names_.append(name);
}

void oui_table::finish() {
  std::stable_sort(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) { return a.oui < b.oui; });
  entries_.shrink_to_fit();
  names_.shrink_to_fit();
}

std::string_view oui_table::manufacturer(mac_addr mac) const {
  if (mac.is_local() || mac.is_group()) return "Unknown";
  const auto oui = mac.oui();
  auto it = std::lower_bound(entries_.begin(), entries_.end(), oui,
                             [](const entry& e, std::uint32_t o) { return e.oui < o; });
  if (it == entries_.end() || it->oui != oui) return "Unknown";
  return std::string_view(names_).substr(it->offset, it->length);
}

}  // namespace hopwire::collector

#include "source_definition.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace hopwire {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits on commas outside double quotes; strips one level of quotes.
// Empty when a quote is left open.
std::optional<std::vector<std::string>> split_quoted(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  bool any = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (c == ',' && !quoted) {
      out.push_back(std::move(cur));
      cur.clear();
      any = false;
    } else {
      cur.push_back(c);
      any = true;
    }
  }
  if (quoted) return std::nullopt;
  if (any || !out.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  const auto items = split_quoted(text);
  if (!items) throw std::invalid_argument("list: unbalanced double quote");
  for (auto& item : *items) {
    auto t = trim(item);
    if (!t.empty()) out.emplace_back(t);
  }
  return out;
}

std::optional<source_definition> source_definition::try_parse(std::string_view text, std::string& why) {
  source_definition def;
  def.text_ = std::string(text);
  const auto colon = text.find(':');
  def.interface_ = std::string(trim(text.substr(0, colon)));
  if (def.interface_.empty()) {
    why = "source definition '" + def.text_ + "' has no interface or file before the ':'";
    return std::nullopt;
  }
  if (colon == std::string_view::npos) return def;

  const auto items = split_quoted(text.substr(colon + 1));
  if (!items) {
    why = "source options: unbalanced double quote";
    return std::nullopt;
  }
  for (auto& item : *items) {
    auto t = trim(item);
    if (t.empty()) continue;
    const auto eq = t.find('=');
    if (eq == std::string_view::npos) {
      why = "source option '" + std::string(t) + "' is not of the form key=value";
      return std::nullopt;
    }
    auto key = lower(trim(t.substr(0, eq)));
    if (key.empty()) {
      why = "source option '" + std::string(t) + "' has no key";
      return std::nullopt;
    }
    // Keys are names: a comma or quote in one could not be written back.
    if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
      why = "source option key '" + key + "' may hold only letters, digits, '_' and '-'";
      return std::nullopt;
    }
    def.options_.emplace_back(std::move(key), std::string(trim(t.substr(eq + 1))));
  }
  return def;
}

source_definition source_definition::parse(std::string_view text) {
  std::string why;
  auto def = try_parse(text, why);
  if (!def) throw std::invalid_argument(why);
  return std::move(*def);
}

std::optional<std::string> source_definition::get(std::string_view key) const {
  const auto k = lower(key);
  // The last occurrence wins, as when options are appended to override.
  for (auto it = options_.rbegin(); it != options_.rend(); ++it)
    if (it->first == k) return it->second;
  return std::nullopt;
}

std::optional<bool> source_definition::bool_option(std::string_view key, bool fallback) const {
  auto v = get(key);
  if (!v) return fallback;
  const auto l = lower(*v);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

bool source_definition::get_bool(std::string_view key, bool fallback) const {
  if (const auto b = bool_option(key, fallback)) return *b;
  throw std::invalid_argument("source option " + std::string(key) + "=" + *get(key) + ": expected true or false");
}

std::string source_definition::redacted() const {
  std::string out = interface_;
  char sep = ':';
  for (const auto& [k, v] : options_) {
    out.push_back(sep);
    sep = ',';
    out += k;
    out.push_back('=');
    const bool secret = k.find("pass") != std::string::npos || k.find("key") != std::string::npos ||
                        k.find("token") != std::string::npos;
    if (secret) {
      out += "***";
    } else if (v.find(',') != std::string::npos) {
      out += '"' + v + '"';
    } else {
      out += v;
    }
  }
  return out;
}

}  // namespace hopwire

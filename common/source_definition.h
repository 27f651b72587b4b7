#pragma once
// A capture source definition in Kismet's syntax:
//   INTERFACE_OR_PATH[:key=value,key="a,b",...]
// Keys are case-insensitive; values may be double-quoted to hold commas.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hopwire {

class source_definition {
 public:
  // For start-up: throws std::invalid_argument with a message naming the problem.
  static source_definition parse(std::string_view text);
  // For the running collector: empty, with the reason in `why`.
  static std::optional<source_definition> try_parse(std::string_view text, std::string& why);

  const std::string& interface() const { return interface_; }
  const std::string& text() const { return text_; }
  const std::vector<std::pair<std::string, std::string>>& options() const { return options_; }

  std::optional<std::string> get(std::string_view key) const;
  // Throws std::invalid_argument when present but not a boolean.
  bool get_bool(std::string_view key, bool fallback) const;
  // `fallback` when absent; empty when present but not a boolean.
  std::optional<bool> bool_option(std::string_view key, bool fallback) const;
  bool has(std::string_view key) const { return get(key).has_value(); }

  // The definition as given, with any secret-looking option values replaced,
  // fit to send to the collector and show in its API.
  std::string redacted() const;

 private:
  std::string text_;
  std::string interface_;
  std::vector<std::pair<std::string, std::string>> options_;
};

// Splits a comma-separated list, honouring double quotes ("1,6,11" -> 3 items).
std::vector<std::string> split_list(std::string_view text);

}  // namespace hopwire

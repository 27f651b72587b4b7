#pragma once
// The command dictionary of Kismet's device list POSTs — fields, regex,
// start, length, devices — read from untrusted JSON with limits, and the
// two ways a request looks into a device's JSON: a field path, and a regex
// over every string a path reaches. Separate from the handlers so the
// fuzzer (tests/fuzz/rest_fuzz.cc) reaches it without a socket.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <re2/re2.h>

#include "common/mac_addr.h"

namespace hopwire::collector {

// One requested field: a '/'-separated path and the name it is output as.
struct field_spec {
  std::vector<std::string> path;
  std::string name;
};

// User patterns run on RE2: linear in the text, whatever the pattern, so no
// request can make the collector backtrack for ever.
struct regex_term {
  std::vector<std::string> path;
  std::shared_ptr<const re2::RE2> re;
};

inline constexpr std::size_t kMaxFields = 256;
inline constexpr std::size_t kMaxRegexTerms = 16;
inline constexpr std::size_t kMaxPatternBytes = 1024;
inline constexpr std::int64_t kRe2MemoryBytes = 1 << 20;  // per compiled pattern

// The command dictionary of a POST, as Kismet takes it.
struct list_request {
  std::vector<field_spec> fields;
  std::vector<regex_term> regex;
  std::size_t start = 0;
  std::optional<std::size_t> length;
  std::vector<mac_addr> macs;  // multimac
};


std::vector<std::string> split_path(std::string_view s);

// Fills `req` from a parsed command object. False, with the key named in
// `why`, on anything it cannot use.
bool read_list_request(const rapidjson::Document& doc, list_request& req, std::string& why);

// True when `path` from `i` leads somewhere in `v` (through arrays: in any
// element).
bool reachable(const rapidjson::Value& v, const std::vector<std::string>& path, std::size_t i);

// Writes what `path` names in `v` to `h`: the value itself, or, where the
// path goes through an array, an array of what it names in each element
// that has it ("kismet.device.base.seenby/kismet.common.seenby.uuid" is the
// list of the UUIDs). False, writing nothing, when the path leads nowhere.
template <typename H>
bool emit_path(H& h, const rapidjson::Value& v, const std::vector<std::string>& path, std::size_t i) {
  if (i == path.size()) {
    v.Accept(h);
    return true;
  }
  if (v.IsArray()) {
    if (!reachable(v, path, i)) return false;
    h.StartArray();
    for (const auto& e : v.GetArray())
      if (reachable(e, path, i)) emit_path(h, e, path, i);
    h.EndArray();
    return true;
  }
  if (!v.IsObject()) return false;
  auto it = v.FindMember(rapidjson::StringRef(path[i].data(), static_cast<rapidjson::SizeType>(path[i].size())));
  return it != v.MemberEnd() && emit_path(h, it->value, path, i + 1);
}

// A value with the fields simplification: the value itself when `fields` is
// empty, else an object of the named fields (0 for a missing one, as
// Kismet answers).
template <typename H>
void write_simplified(H& h, const rapidjson::Value& v, const std::vector<field_spec>& fields) {
  if (fields.empty()) {
    v.Accept(h);
    return;
  }
  h.StartObject();
  for (const auto& f : fields) {
    h.Key(f.name.data(), static_cast<rapidjson::SizeType>(f.name.size()));
    if (!emit_path(h, v, f.path, 0)) h.Uint(0);
  }
  h.EndObject();
}

// Like resolve(), but an array or object in the middle of the path is
// searched element by element: regex on "dot11.device/
// dot11.device.advertised_ssid_map/dot11.advertisedssid.ssid" matches any
// SSID of the device.
bool any_match(const rapidjson::Value& v, const std::vector<std::string>& path, std::size_t i, const re2::RE2& re);

// Kismet's regex filter: true when there are no terms or any term matches.
bool passes_regex(const rapidjson::Value& doc, const std::vector<regex_term>& terms);

}  // namespace hopwire::collector

#include "collector/api/list_request.h"

namespace hopwire::collector {

std::vector<std::string> split_path(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    const auto slash = s.find('/');
    out.emplace_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return out;
}

bool read_list_request(const rapidjson::Document& doc, list_request& req, std::string& why) {
  if (auto it = doc.FindMember("fields"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) {
      why = "fields: expected an array of field names or [field, alias] pairs";
      return false;
    }
    if (it->value.Size() > kMaxFields) {
      why = "fields: " + std::to_string(it->value.Size()) + " entries exceed the limit of " +
            std::to_string(kMaxFields);
      return false;
    }
    for (const auto& f : it->value.GetArray()) {
      field_spec spec;
      if (f.IsString()) {
        spec.path = split_path(f.GetString());
        spec.name = spec.path.back();
      } else if (f.IsArray() && f.Size() == 2 && f[0].IsString() && f[1].IsString()) {
        spec.path = split_path(f[0].GetString());
        spec.name = f[1].GetString();
      } else {
        why = "fields: each entry must be a field name or a [field, alias] pair";
        return false;
      }
      req.fields.push_back(std::move(spec));
    }
  }
  if (auto it = doc.FindMember("regex"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) {
      why = "regex: expected an array of [field, pattern] pairs";
      return false;
    }
    if (it->value.Size() > kMaxRegexTerms) {
      why = "regex: " + std::to_string(it->value.Size()) + " terms exceed the limit of " +
            std::to_string(kMaxRegexTerms);
      return false;
    }
    for (const auto& r : it->value.GetArray()) {
      if (!r.IsArray() || r.Size() != 2 || !r[0].IsString() || !r[1].IsString()) {
        why = "regex: each entry must be a [field, pattern] pair of strings";
        return false;
      }
      const std::string_view pattern(r[1].GetString(), r[1].GetStringLength());
      if (pattern.size() > kMaxPatternBytes) {
        why = "regex: pattern of " + std::to_string(pattern.size()) + " bytes exceeds the limit of " +
              std::to_string(kMaxPatternBytes) + " bytes";
        return false;
      }
      re2::RE2::Options o;
      o.set_log_errors(false);
      o.set_max_mem(kRe2MemoryBytes);
      auto re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
      if (!re->ok()) {
        why = "regex: bad pattern '" + std::string(pattern.substr(0, 64)) + (pattern.size() > 64 ? "...'" : "'") +
              ": " + re->error() +
              " (patterns use RE2 syntax: no backreferences or lookaround; see docs/devices.md)";
        return false;
      }
      req.regex.push_back({split_path(r[0].GetString()), std::move(re)});
    }
  }
  auto read_size = [&](const char* name, std::size_t& out) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd()) return true;
    if (it->value.IsUint64()) {
      out = static_cast<std::size_t>(it->value.GetUint64());
      return true;
    }
    // Kismet's clients send numbers as strings too: digits only (std::stoull
    // would take "-1" and wrap it).
    if (it->value.IsString()) {
      const std::string_view s(it->value.GetString(), it->value.GetStringLength());
      std::uint64_t v = 0;
      bool ok = !s.empty() && s.size() <= 18;
      for (const char c : s) {
        if (c < '0' || c > '9') ok = false;
        else v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (ok) {
        out = static_cast<std::size_t>(v);
        return true;
      }
    }
    why = std::string(name) + ": expected a non-negative integer";
    return false;
  };
  if (!read_size("start", req.start)) return false;
  if (doc.HasMember("length")) {
    std::size_t n = 0;
    if (!read_size("length", n)) return false;
    req.length = n;
  }
  if (auto it = doc.FindMember("devices"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) {
      why = "devices: expected an array of MAC addresses";
      return false;
    }
    for (const auto& m : it->value.GetArray()) {
      auto mac = m.IsString() ? mac_addr::parse(m.GetString()) : std::nullopt;
      if (!mac) {
        why = "devices: each entry must be a MAC address like AA:BB:CC:DD:EE:FF";
        return false;
      }
      req.macs.push_back(*mac);
    }
  }
  return true;
}

bool reachable(const rapidjson::Value& v, const std::vector<std::string>& path, std::size_t i) {
  if (i == path.size()) return true;
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (reachable(e, path, i)) return true;
    return false;
  }
  if (!v.IsObject()) return false;
  auto it = v.FindMember(rapidjson::StringRef(path[i].data(), static_cast<rapidjson::SizeType>(path[i].size())));
  return it != v.MemberEnd() && reachable(it->value, path, i + 1);
}

bool any_match(const rapidjson::Value& v, const std::vector<std::string>& path, std::size_t i, const re2::RE2& re) {
  if (i == path.size())
    return v.IsString() && re2::RE2::PartialMatch(re2::StringPiece(v.GetString(), v.GetStringLength()), re);
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (any_match(e, path, i, re)) return true;
    return false;
  }
  if (!v.IsObject()) return false;
  auto it = v.FindMember(rapidjson::StringRef(path[i].data(), path[i].size()));
  if (it != v.MemberEnd()) return any_match(it->value, path, i + 1, re);
  // A map keyed by MAC (client_map): look inside each value.
  for (const auto& m : v.GetObject())
    if (m.value.IsObject() && m.value.HasMember(rapidjson::StringRef(path[i].data(), path[i].size())) &&
        any_match(m.value, path, i, re))
      return true;
  return false;
}

bool passes_regex(const rapidjson::Value& doc, const std::vector<regex_term>& terms) {
  if (terms.empty()) return true;
  for (const auto& term : terms)
    if (any_match(doc, term.path, 0, *term.re)) return true;
  return false;
}

}  // namespace hopwire::collector

#pragma once
// The JSON object of a POST command (raw body or Kismet's json= form field),
// parsed, for the REST handlers that take one.

#include <optional>
#include <string>

#include <rapidjson/document.h>

#include "collector/api/json_limits.h"
#include "collector/api/api_context.h"

namespace hopwire::collector {

// False, with a 400 reply in `err`, when the command is not a JSON object.
inline bool parse_command(const request_ctx& ctx, rapidjson::Document& d, http_reply& err) {
  const auto text = command_text(ctx);
  if (!text) {
    err = text_reply(400, std::string(kNoJsonField));
    return false;
  }
  std::string why;
  if (!parse_untrusted_json(*text, d, why)) {
    err = text_reply(400, "expected a JSON object: " + why);
    return false;
  }
  if (!d.IsObject()) {
    err = text_reply(400, "expected a JSON object");
    return false;
  }
  return true;
}

inline std::optional<std::string> string_field(const rapidjson::Value& d, const char* key) {
  auto it = d.FindMember(key);
  if (it == d.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace hopwire::collector

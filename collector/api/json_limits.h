#pragma once
// Parsing JSON that arrives from the network: without recursion and with a
// nesting limit, so that no body can exhaust the stack ("[[[[..." of any
// depth is a clear error, not a crash).

#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace hopwire::collector {

inline constexpr unsigned kMaxJsonDepth = 32;

// Parses `text` into `doc`. False, with a sentence in `why`, when the text
// is not JSON ("not JSON: <reason> at offset N") or nests arrays/objects
// deeper than `max_depth` ("JSON nested deeper than N levels").
bool parse_untrusted_json(std::string_view text, rapidjson::Document& doc, std::string& why,
                          unsigned max_depth = kMaxJsonDepth);

}  // namespace hopwire::collector

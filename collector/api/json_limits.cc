#include "collector/api/json_limits.h"

#include <rapidjson/error/en.h>

namespace hopwire::collector {

namespace {

// Deepest nesting of arrays and objects outside strings, stopping as soon
// as it passes `limit`. A linear scan: cheaper than the parse that follows.
bool nesting_within(std::string_view text, unsigned limit) {
  unsigned depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > limit) return false;
        break;
      case ']':
      case '}':
        if (depth) --depth;
        break;
      default: break;
    }
  }
  return true;
}

}  // namespace

bool parse_untrusted_json(std::string_view text, rapidjson::Document& doc, std::string& why, unsigned max_depth) {
  if (!nesting_within(text, max_depth)) {
    why = "JSON nested deeper than " + std::to_string(max_depth) + " levels";
    return false;
  }
  // Iterative: the parser keeps its own stack on the heap. The document's
  // pool allocator frees without walking the tree, so destruction does not
  // recurse either.
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    why = std::string("not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
          std::to_string(doc.GetErrorOffset());
    return false;
  }
  return true;
}

}  // namespace hopwire::collector

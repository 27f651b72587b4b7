#pragma once
// Small answers built with rapidjson's Writer: key/value helpers and the
// reply around the buffer, for the REST handlers that write their own JSON.

#include <cstdint>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/net/http_types.h"

namespace hopwire::collector::jsonw {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void kv(writer& w, const char* key, std::string_view v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
inline void kv(writer& w, const char* key, const char* v) { kv(w, key, std::string_view(v)); }
inline void kv(writer& w, const char* key, std::uint64_t v) {
  w.Key(key);
  w.Uint64(v);
}
inline void kv_bool(writer& w, const char* key, bool v) {
  w.Key(key);
  w.Bool(v);
}

inline http_reply reply(const rapidjson::StringBuffer& buf) {
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

}  // namespace hopwire::collector::jsonw

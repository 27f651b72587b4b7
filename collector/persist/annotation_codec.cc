#include "collector/persist/annotation_codec.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/persist/store.h"
#include "common/log.h"

namespace hopwire::collector {

std::string encode_annotation(const device_annotation& a) {
  if (a.empty()) return {};
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  if (a.username) {
    w.Key("username");
    w.String(a.username->data(), static_cast<rapidjson::SizeType>(a.username->size()));
  }
  w.Key("tags");
  w.StartObject();
  for (const auto& [k, v] : a.tags) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

bool decode_annotation(std::string_view record, device_annotation& a) {
  rapidjson::Document d;
  d.Parse(record.data(), record.size());
  if (d.HasParseError() || !d.IsObject()) return false;
  if (auto it = d.FindMember("username"); it != d.MemberEnd()) {
    if (!it->value.IsString()) return false;
    a.username = std::string(it->value.GetString(), it->value.GetStringLength());
  }
  if (auto it = d.FindMember("tags"); it != d.MemberEnd()) {
    if (!it->value.IsObject()) return false;
    for (const auto& m : it->value.GetObject()) {
      if (!m.value.IsString()) return false;
      a.tags[std::string(m.name.GetString(), m.name.GetStringLength())] =
          std::string(m.value.GetString(), m.value.GetStringLength());
    }
  }
  return true;
}

bool save_annotation(store& db, mac_addr mac, const device_annotation& a) {
  return db.put_annotation(mac.v, encode_annotation(a));
}

std::size_t load_annotations(store& db, device_annotations& table) {
  std::size_t n = 0, damaged = 0;
  db.load_annotations([&](std::uint64_t mac, std::string_view rec) {
    device_annotation a;
    if (!decode_annotation(rec, a)) {
      if (++damaged <= 10) spdlog::error("database: the name and tags of {} are unreadable; skipping them", mac_addr{mac}.str());
      return;
    }
    table.restore(mac_addr{mac}, std::move(a));
    ++n;
  });
  return n;
}

}  // namespace hopwire::collector

#include "collector/alerts/alert_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace hopwire::collector {

std::string alert_device_key(const alert& a) {
  if (!a.has_device) return "00_0";
  // The 802.11 phy's key prefix and the MAC as 16 hex digits, as the
  // device JSON writes it (api/device_json.cc).
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string k = "4202770D00000000_";
  for (int i = 15; i >= 0; --i) k.push_back(digits[(a.device.v >> (i * 4)) & 15]);
  return k;
}

std::string alert_json(const alert& a) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  write_alert(w, a);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace hopwire::collector

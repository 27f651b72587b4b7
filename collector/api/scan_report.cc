#include "collector/api/scan_report.h"

#include <cmath>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "collector/decode/dot11_frame.h"
#include "collector/api/json_limits.h"
#include "common/channel.h"
#include "common/text.h"
#include "common/uuid.h"

namespace hopwire::collector {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Adds an AKM family to the security of `ap` for protocol `proto`.
void add_akm(observed_ap& ap, bool wpa1, std::string_view akm) {
  std::uint32_t bit = 0;
  if (akm == "PSK") bit = kAkmPsk;
  else if (akm == "EAP") bit = kAkmEap;
  else if (akm == "SAE") bit = kAkmSae;
  (wpa1 ? ap.wpa_akms : ap.akms) |= bit;
}

bool number(const rapidjson::Value& v, double& out) {
  if (!v.IsNumber()) return false;
  out = v.GetDouble();
  return std::isfinite(out);
}

}  // namespace

bool parse_encryption(std::string_view name, observed_ap& ap) {
  const std::string n = upper(name);
  const auto dash = n.find('-');
  const std::string proto = n.substr(0, dash);
  const std::string akm = dash == std::string::npos ? std::string() : n.substr(dash + 1);
  if (!akm.empty() && akm != "PSK" && akm != "EAP" && akm != "SAE") return false;
  ap.has_security = true;
  if (proto == "OPEN") {
    return akm.empty();
  } else if (proto == "WEP") {
    ap.security |= kSecPrivacy;
    return akm.empty();
  } else if (proto == "WPA" || proto == "WPA1") {
    ap.security |= kSecPrivacy | kSecWpa;
    add_akm(ap, true, akm.empty() ? "PSK" : akm);
  } else if (proto == "WPA2") {
    ap.security |= kSecPrivacy | kSecRsn;
    add_akm(ap, false, akm.empty() ? "PSK" : akm);
  } else if (proto == "WPA3") {
    ap.security |= kSecPrivacy | kSecRsn | kSecMfpc | kSecMfpr;
    if (akm == "EAP") ap.akms |= kAkmEapSuiteB192;
    else ap.akms |= kAkmSae;
  } else if (proto == "OWE") {
    ap.security |= kSecPrivacy | kSecRsn;
    ap.akms |= kAkmOwe;
    return akm.empty();
  } else {
    return false;
  }
  return true;
}

bool parse_capabilities(std::string_view caps, observed_ap& ap) {
  // Android ScanResult.capabilities: "[WPA2-PSK-CCMP][RSN-SAE-CCMP][ESS]".
  // Only [ESS] and the like: an open network.
  ap.has_security = true;
  while (!caps.empty()) {
    const auto open = caps.find('[');
    if (open == std::string_view::npos) break;
    const auto close = caps.find(']', open);
    if (close == std::string_view::npos) return false;
    const std::string t = upper(caps.substr(open + 1, close - open - 1));
    caps.remove_prefix(close + 1);
    if (t == "ESS" || t == "IBSS" || t == "WPS" || t == "BSS" || t == "MFPC" || t == "MFPR" || t.rfind("PASSPOINT", 0) == 0)
      continue;
    if (t == "WEP") {
      ap.security |= kSecPrivacy;
      continue;
    }
    const bool wpa1 = t.rfind("WPA-", 0) == 0;
    const bool rsn = t.rfind("WPA2-", 0) == 0 || t.rfind("RSN-", 0) == 0 || t.rfind("WPA3-", 0) == 0;
    if (t.rfind("OWE", 0) == 0 || t.find("-OWE") != std::string::npos) {
      ap.security |= kSecPrivacy | kSecRsn;
      ap.akms |= kAkmOwe;
      continue;
    }
    if (!wpa1 && !rsn) return false;
    ap.security |= kSecPrivacy | (wpa1 ? kSecWpa : kSecRsn);
    std::uint32_t& akms = wpa1 ? ap.wpa_akms : ap.akms;
    if (t.find("-SAE") != std::string::npos) akms |= kAkmSae;
    if (t.find("-PSK") != std::string::npos) akms |= kAkmPsk;
    if (t.find("-EAP") != std::string::npos) akms |= kAkmEap;
  }
  return true;
}

bool parse_scan_request(std::string_view json, std::uint64_t now_ns, scan_request& out,
                        std::vector<report_error>& errs) {
  constexpr auto kReq = static_cast<std::size_t>(-1);
  rapidjson::Document d;
  if (std::string why; !parse_untrusted_json(json, d, why)) {
    errs.push_back({kReq, "", "body is " + why});
    return false;
  }
  if (!d.IsObject()) {
    errs.push_back({kReq, "", "body must be a JSON object with source_name or source_uuid, and reports"});
    return false;
  }
  if (auto it = d.FindMember("source_name"); it != d.MemberEnd()) {
    if (!it->value.IsString() || it->value.GetStringLength() == 0 || it->value.GetStringLength() > 128)
      errs.push_back({kReq, "source_name", "expected a non-empty string of at most 128 bytes"});
    else out.source_name = ssid_text(std::string_view(it->value.GetString(), it->value.GetStringLength()));
  }
  if (auto it = d.FindMember("source_uuid"); it != d.MemberEnd()) {
    const auto u = it->value.IsString() ? uuid::parse(it->value.GetString()) : std::nullopt;
    if (!u) errs.push_back({kReq, "source_uuid", "expected a UUID like 8c9f1a2e-1111-4222-8333-444455556666"});
    else if (u->is_nil()) errs.push_back({kReq, "source_uuid", "the nil UUID names no source"});
    else out.source_uuid = u->str();
  }
  if (out.source_name.empty() && out.source_uuid.empty() && errs.empty())
    errs.push_back({kReq, "source_name", "one of source_name or source_uuid is required"});
  auto rit = d.FindMember("reports");
  if (rit == d.MemberEnd() || !rit->value.IsArray()) {
    errs.push_back({kReq, "reports", "expected an array of reports"});
  } else if (rit->value.Empty()) {
    errs.push_back({kReq, "reports", "expected at least one report"});
  } else if (rit->value.Size() > kMaxReports) {
    errs.push_back({kReq, "reports", "at most " + std::to_string(kMaxReports) + " reports per request, got " +
                                         std::to_string(rit->value.Size())});
  }
  if (!errs.empty()) return false;

  const auto& reports = rit->value;
  out.total = reports.Size();
  const double now_s = static_cast<double>(now_ns) / 1e9;
  for (rapidjson::SizeType i = 0; i < reports.Size(); ++i) {
    const auto& r = reports[i];
    auto reject = [&](const char* field, std::string message) {
      out.rejected.push_back({i, field, std::move(message)});
    };
    if (!r.IsObject()) {
      reject("", "expected a report object");
      continue;
    }
    observed_ap ap;
    auto bssid = r.FindMember("bssid");
    if (bssid == r.MemberEnd()) {
      reject("bssid", "required: the access point's MAC address");
      continue;
    }
    const auto mac = bssid->value.IsString() ? mac_addr::parse(bssid->value.GetString()) : std::nullopt;
    if (!mac) {
      reject("bssid", "expected a MAC address like aa:bb:cc:dd:ee:ff");
      continue;
    }
    if (mac->is_group() || mac->v == 0) {
      reject("bssid", "a BSSID is the address of one access point: not zero, broadcast or multicast");
      continue;
    }
    ap.bssid = *mac;
    auto sig = r.FindMember("signal");
    double v = 0;
    if (sig == r.MemberEnd()) {
      reject("signal", "required: signal strength in dBm");
      continue;
    }
    if (!number(sig->value, v) || v < -150 || v > 30) {
      reject("signal", "expected dBm between -150 and 30");
      continue;
    }
    ap.signal_dbm = static_cast<std::int16_t>(std::lround(v));
    bool bad = false;
    if (auto it = r.FindMember("ssid"); it != r.MemberEnd()) {
      if (!it->value.IsString()) {
        reject("ssid", "expected a string");
        continue;
      }
      if (it->value.GetStringLength() > 32) {
        reject("ssid", "at most 32 bytes, got " + std::to_string(it->value.GetStringLength()));
        continue;
      }
      ap.has_ssid = true;
      ap.ssid.assign(it->value.GetString(), it->value.GetStringLength());
    }
    if (auto it = r.FindMember("encryption"); it != r.MemberEnd()) {
      if (!it->value.IsArray()) {
        reject("encryption", "expected an array such as [\"WPA2-PSK\"]");
        continue;
      }
      for (const auto& e : it->value.GetArray()) {
        if (!e.IsString() || !parse_encryption(e.GetString(), ap)) {
          reject("encryption", std::string("unknown type '") + (e.IsString() ? e.GetString() : "?") +
                                   "': expected OPEN, WEP, WPA, WPA1, WPA2, WPA3 or OWE, optionally with -PSK, -EAP or -SAE");
          bad = true;
          break;
        }
      }
      if (bad) continue;
    } else if (auto caps = r.FindMember("capabilities"); caps != r.MemberEnd()) {
      if (!caps->value.IsString() || !parse_capabilities(caps->value.GetString(), ap)) {
        reject("capabilities", "expected an Android capabilities string such as [WPA2-PSK-CCMP][ESS]");
        continue;
      }
    }
    ap.ts_ns = now_ns;
    if (auto it = r.FindMember("timestamp"); it != r.MemberEnd()) {
      if (!number(it->value, v) || v < 946684800 || v > now_s + 86400) {
        reject("timestamp", "expected Unix seconds between 2000-01-01 and one day from now");
        continue;
      }
      ap.ts_ns = static_cast<std::uint64_t>(v * 1e9);
    }
    struct range {
      const char* name;
      double lo, hi;
      double* dst;
      const char* what;
    };
    double lat = 0, lon = 0, alt = 0, speed = 0;
    bool has_lat = false, has_lon = false;
    const range ranges[] = {{"lat", -90, 90, &lat, "degrees between -90 and 90"},
                            {"lon", -180, 180, &lon, "degrees between -180 and 180"},
                            {"alt", -1000, 100000, &alt, "metres between -1000 and 100000"},
                            {"speed", 0, 1000, &speed, "m/s between 0 and 1000"}};
    for (const auto& rg : ranges) {
      auto it = r.FindMember(rg.name);
      if (it == r.MemberEnd()) continue;
      if (!number(it->value, *rg.dst) || *rg.dst < rg.lo || *rg.dst > rg.hi) {
        reject(rg.name, std::string("expected ") + rg.what);
        bad = true;
        break;
      }
      if (rg.dst == &lat) has_lat = true;
      if (rg.dst == &lon) has_lon = true;
    }
    if (bad) continue;
    if (has_lat != has_lon) {
      reject(has_lat ? "lon" : "lat", "lat and lon come together");
      continue;
    }
    if (has_lat) {
      ap.has_location = true;
      ap.lat = lat;
      ap.lon = lon;
      ap.alt = r.HasMember("alt") ? alt : std::nan("");
    }
    if (auto it = r.FindMember("channel"); it != r.MemberEnd()) {
      if (!number(it->value, v) || v < 1 || v > 233) {
        reject("channel", "expected a channel number between 1 and 233");
        continue;
      }
      ap.channel = static_cast<std::uint8_t>(v);
    }
    if (auto it = r.FindMember("freqkhz"); it != r.MemberEnd()) {
      if (!number(it->value, v) || v < 2'400'000 || v > 7'200'000) {
        reject("freqkhz", "expected a frequency in kHz between 2400000 and 7200000");
        continue;
      }
      ap.freq_mhz = static_cast<std::uint32_t>(v / 1000);
      if (!ap.channel) ap.channel = static_cast<std::uint8_t>(mhz_to_channel(ap.freq_mhz));
    }
    out.accepted.push_back(std::move(ap));
  }
  return true;
}

}  // namespace hopwire::collector

#pragma once
// The kinds of source the collector knows, as Kismet describes a capture
// driver (kismet.datasource.driver.*): shown by /datasource/types and inside
// each source record (kismet.datasource.type_driver).

#include <string_view>

#include <rapidjson/rapidjson.h>

namespace hopwire::collector {

struct source_driver {
  const char* type;
  const char* description;
  bool remote, passive, tuning, hop;
};

inline constexpr source_driver kSourceDrivers[] = {
    {"linuxwifi",
     "A Linux Wi-Fi radio in monitor mode (nl80211), captured on a sensor by hopwire-sensor or Kismet's "
     "kismet_cap_linux_wifi and sent to the collector",
     true, false, true, true},
    {"pcapfile", "A capture file replayed by a sensor (hopwire-sensor or Kismet's kismet_cap_pcapfile)", true, false,
     false, false},
    {"scan",
     "Scan reports from phones and boards (POST /phy/phy80211/scan/scan_report.cmd): a virtual source, made on "
     "first use",
     false, true, false, false},
};

inline const source_driver* find_source_driver(std::string_view type) {
  for (const auto& d : kSourceDrivers)
    if (type == d.type) return &d;
  return nullptr;
}

// The driver object; a type the collector does not know (a Kismet tool's
// own) is named, with nothing it can do.
template <typename W>
void write_source_driver(W& w, std::string_view type) {
  const source_driver* d = find_source_driver(type);
  auto kv = [&](const char* k, std::string_view v) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto flag = [&](const char* k, bool v) {
    w.Key(k);
    w.Uint(v ? 1u : 0u);
  };
  w.StartObject();
  kv("kismet.datasource.driver.type", d ? std::string_view(d->type) : type);
  kv("kismet.datasource.driver.description", d ? d->description : "");
  // The collector probes, lists and opens nothing itself: sensors do.
  flag("kismet.datasource.driver.probe_capable", false);
  kv("kismet.datasource.driver.probe_ipc", "");
  flag("kismet.datasource.driver.list_capable", false);
  kv("kismet.datasource.driver.list_ipc", "");
  flag("kismet.datasource.driver.local_capable", false);
  kv("kismet.datasource.driver.local_ipc", "");
  flag("kismet.datasource.driver.remote_capable", d && d->remote);
  flag("kismet.datasource.driver.passive_capable", d && d->passive);
  flag("kismet.datasource.driver.tuning_capable", d && d->tuning);
  flag("kismet.datasource_driver.hop_capable", d && d->hop);
  w.EndObject();
}

}  // namespace hopwire::collector

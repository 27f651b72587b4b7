#pragma once
// The fleet part of the collector's YAML file: per sensor (matched by source
// UUID or name) its group, channels or bands, hop rate, fixed location,
// antenna notes and whether it may connect; per group the planning strategy,
// its channel list and hop rate. Applied when a sensor connects and again on
// reload (SIGHUP, /admin/reload.cmd), without the sensor reconnecting.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hopwire::collector {

struct fleet_location {
  double lat = 0, lon = 0, alt = 0;
  bool has_alt = false;
};

struct fleet_sensor {
  std::string uuid;  // canonical, or empty
  std::string name;  // or empty; one of the two is set
  std::string group;
  std::vector<std::string> channels;  // Kismet syntax, canonical; empty: what it can tune
  std::vector<std::string> bands;     // "2.4", "5", "6"; empty: all
  double hop_rate = 0;                // per second; 0: the group's or its own
  std::optional<fleet_location> location;
  std::map<std::string, std::string> antenna;  // type, gain, orientation, beamwidth: notes for people
  bool enabled = true;
};

struct fleet_group {
  std::string strategy = "split";     // split or offset
  std::vector<std::string> channels;  // empty: the union of the members' lists
  double hop_rate = 0;
};

struct fleet_config {
  std::map<std::string, fleet_group> groups;
  std::vector<fleet_sensor> sensors;

  // The entry for a source: by UUID first, then by name.
  const fleet_sensor* find(const std::string& uuid, const std::string& name) const {
    for (const auto& s : sensors)
      if (!s.uuid.empty() && s.uuid == uuid) return &s;
    for (const auto& s : sensors)
      if (s.uuid.empty() && !s.name.empty() && s.name == name) return &s;
    return nullptr;
  }
};

}  // namespace hopwire::collector

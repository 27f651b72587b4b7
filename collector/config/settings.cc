#include "collector/config/settings.h"

#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <map>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "collector/config/alerts_yaml.h"
#include "common/channel.h"
#include "common/host_port.h"
#include "common/units.h"
#include "common/uuid.h"

namespace hopwire::collector {

std::size_t default_max_devices() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const std::uint64_t ram = pages > 0 && page > 0 ? std::uint64_t(pages) * std::uint64_t(page) : 4ull << 30;
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(ram / 4 / 1024, 10'000, 20'000'000));
}

namespace {

std::string where(const std::filesystem::path& path, const YAML::Node& n) {
  const auto m = n.Mark();
  return path.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

template <class T>
T scalar(const std::filesystem::path& path, const std::string& key, const YAML::Node& n, const char* expected) {
  if (!n.IsScalar()) throw std::runtime_error(where(path, n) + ": " + key + ": expected " + expected);
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error(where(path, n) + ": " + key + ": expected " + expected + ", got '" + n.Scalar() + "'");
  }
}


std::vector<std::string> channel_list(const std::filesystem::path& path, const std::string& key, const YAML::Node& n) {
  if (!n.IsSequence()) throw std::runtime_error(where(path, n) + ": " + key + ": expected a list of channels, e.g. [1, 6, 11, \"36VHT80\"]");
  std::vector<std::string> out;
  for (const auto& c : n) {
    if (!c.IsScalar()) throw std::runtime_error(where(path, c) + ": " + key + ": expected a channel");
    try {
      out.push_back(parse_channel(c.Scalar()).str());
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where(path, c) + ": " + key + ": " + e.what());
    }
  }
  return out;
}

double hop_rate(const std::filesystem::path& path, const std::string& key, const YAML::Node& n) {
  const double r = parse_rate(scalar<std::string>(path, key, n, "a rate such as 5/sec or 30/min"));
  if (!(r > 0) || r > kMaxHopRatePerSec)
    throw std::runtime_error(where(path, n) + ": " + key + ": expected above 0 and at most 20/sec (50 ms dwell)");
  return r;
}

void parse_groups(const std::filesystem::path& path, const YAML::Node& v, fleet_config& fleet,
                  std::vector<std::string>& errors) {
  if (!v.IsMap()) throw std::runtime_error(where(path, v) + ": groups: expected a mapping of group names");
  for (const auto& g : v) {
    const std::string name = g.first.Scalar();
    fleet_group grp;
    if (!g.second.IsMap() && !g.second.IsNull()) {
      errors.push_back(where(path, g.second) + ": group '" + name + "': expected a mapping (strategy, channels, hop_rate)");
      continue;
    }
    for (const auto& kv : g.second) {
      const std::string key = kv.first.Scalar();
      try {
        if (key == "strategy") {
          grp.strategy = scalar<std::string>(path, key, kv.second, "split or offset");
          if (grp.strategy != "split" && grp.strategy != "offset")
            throw std::runtime_error(where(path, kv.second) + ": strategy: expected split or offset, got '" + grp.strategy + "'");
        } else if (key == "channels") {
          grp.channels = channel_list(path, key, kv.second);
        } else if (key == "hop_rate") {
          grp.hop_rate = hop_rate(path, key, kv.second);
        } else {
          throw std::runtime_error(where(path, kv.first) + ": group '" + name + "': unknown key '" + key +
                                   "' (known: strategy, channels, hop_rate)");
        }
      } catch (const std::exception& e) {
        errors.push_back(e.what());
      }
    }
    fleet.groups[name] = grp;
  }
}

void parse_sensors(const std::filesystem::path& path, const YAML::Node& v, fleet_config& fleet,
                   std::vector<std::string>& errors) {
  if (!v.IsSequence()) throw std::runtime_error(where(path, v) + ": sensors: expected a list of sensors (- name: ...)");
  std::map<std::string, std::string> seen;  // uuid or name -> where
  for (const auto& n : v) {
    if (!n.IsMap()) {
      errors.push_back(where(path, n) + ": sensors: expected a mapping (uuid or name, group, channels, ...)");
      continue;
    }
    fleet_sensor s;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& val = kv.second;
      try {
        if (key == "uuid") {
          const auto u = uuid::parse(scalar<std::string>(path, key, val, "a UUID"));
          if (!u) throw std::runtime_error(where(path, val) + ": uuid: expected 8-4-4-4-12 hex, got '" + val.Scalar() + "'");
          s.uuid = u->str();
        } else if (key == "name") {
          s.name = scalar<std::string>(path, key, val, "a source name");
        } else if (key == "group") {
          s.group = scalar<std::string>(path, key, val, "a group name");
        } else if (key == "channels") {
          s.channels = channel_list(path, key, val);
        } else if (key == "bands") {
          if (!val.IsSequence()) throw std::runtime_error(where(path, val) + ": bands: expected a list such as [2.4, 5]");
          for (const auto& b : val) {
            const std::string t = b.IsScalar() ? b.Scalar() : "";
            if (t != "2.4" && t != "5" && t != "6")
              throw std::runtime_error(where(path, b) + ": bands: expected 2.4, 5 or 6, got '" + t + "'");
            s.bands.push_back(t);
          }
        } else if (key == "hop_rate") {
          s.hop_rate = hop_rate(path, key, val);
        } else if (key == "location") {
          if (!val.IsMap()) throw std::runtime_error(where(path, val) + ": location: expected {lat: .., lon: .., alt: ..}");
          fleet_location loc;
          bool lat = false, lon = false;
          for (const auto& l : val) {
            const std::string k = l.first.Scalar();
            if (k == "lat") loc.lat = scalar<double>(path, k, l.second, "a latitude in degrees"), lat = true;
            else if (k == "lon") loc.lon = scalar<double>(path, k, l.second, "a longitude in degrees"), lon = true;
            else if (k == "alt") loc.alt = scalar<double>(path, k, l.second, "an altitude in metres"), loc.has_alt = true;
            else throw std::runtime_error(where(path, l.first) + ": location: unknown key '" + k + "' (known: lat, lon, alt)");
          }
          if (!lat || !lon || loc.lat < -90 || loc.lat > 90 || loc.lon < -180 || loc.lon > 180)
            throw std::runtime_error(where(path, val) + ": location: expected lat in [-90, 90] and lon in [-180, 180]");
          s.location = loc;
        } else if (key == "antenna") {
          if (!val.IsMap()) throw std::runtime_error(where(path, val) + ": antenna: expected {type: .., gain: .., ...}");
          for (const auto& a : val) {
            const std::string k = a.first.Scalar();
            if (k != "type" && k != "gain" && k != "orientation" && k != "beamwidth")
              throw std::runtime_error(where(path, a.first) + ": antenna: unknown key '" + k +
                                       "' (known: type, gain, orientation, beamwidth)");
            s.antenna[k] = scalar<std::string>(path, k, a.second, "a value");
          }
        } else if (key == "enabled") {
          s.enabled = scalar<bool>(path, key, val, "true or false");
        } else {
          throw std::runtime_error(where(path, kv.first) + ": sensor: unknown key '" + key +
                                   "' (known: uuid, name, group, channels, bands, hop_rate, location, antenna, enabled)");
        }
      } catch (const std::exception& e) {
        errors.push_back(e.what());
      }
    }
    if (s.uuid.empty() && s.name.empty()) {
      errors.push_back(where(path, n) + ": sensor: give a uuid or a name to match it by");
      continue;
    }
    const std::string id = s.uuid.empty() ? "name " + s.name : "uuid " + s.uuid;
    if (auto it = seen.find(id); it != seen.end()) {
      errors.push_back(where(path, n) + ": duplicate sensor " + id + " (first at " + it->second + ")");
      continue;
    }
    seen[id] = where(path, n);
    fleet.sensors.push_back(std::move(s));
  }
}

}  // namespace

std::vector<std::string> check_settings_yaml(const std::filesystem::path& path, settings& out) {
  std::vector<std::string> errors;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    return {"cannot read config file " + path.string()};
  } catch (const YAML::ParserException& e) {
    return {path.string() + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
            ": " + e.msg + " (check the indentation: nested keys need more spaces than their parent, no tabs)"};
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) return {where(path, root) + ": expected a mapping of settings"};
  for (const auto& kvp : root) {
    const std::string key = kvp.first.as<std::string>();
    const YAML::Node& v = kvp.second;
    try {
      if (key == "groups") {
        parse_groups(path, v, out.fleet, errors);
      } else if (key == "sensors") {
        parse_sensors(path, v, out.fleet, errors);
      } else if (key == "alerts") {
        parse_alerts_yaml(path, v, out.alerts, errors);
      } else if (key == "known_networks") {
        parse_known_networks_yaml(path, v, out.alerts, errors);
      } else if (key == "listen") {
        const auto hp = parse_host_port(scalar<std::string>(path, key, v, "HOST:PORT"), "listen");
        out.server.listen_address = hp.host;
        out.server.listen_port = hp.port;
      } else if (key == "state_dir") {
        out.state_dir = scalar<std::string>(path, key, v, "a directory path");
      } else if (key == "remote_capture_port") {
        out.server.tcp_port = scalar<std::uint16_t>(path, key, v, "a port number (0 disables)");
      } else if (key == "remote_capture_listen") {
        out.server.tcp_listen_address = scalar<std::string>(path, key, v, "an IP address");
      } else if (key == "tls_cert") {
        out.server.tls_cert = scalar<std::string>(path, key, v, "a PEM file path");
      } else if (key == "tls_key") {
        out.server.tls_key = scalar<std::string>(path, key, v, "a PEM file path");
      } else if (key == "allow_plain_http") {
        out.server.allow_plain_with_tls = scalar<bool>(path, key, v, "true or false");
      } else if (key == "threads") {
        out.threads = scalar<unsigned>(path, key, v, "a number of threads");
        if (out.threads == 0 || out.threads > 64) throw std::runtime_error(where(path, v) + ": threads: expected 1 to 64");
      } else if (key == "max_devices") {
        out.max_devices = scalar<std::size_t>(path, key, v, "a number of devices (0 = no limit)");
      } else if (key == "kismet_sensors") {
        out.kismet_sensors = scalar<bool>(path, key, v, "true or false");
      } else if (key == "storage_low_water") {
        out.storage_low_water = parse_size(scalar<std::string>(path, key, v, "a size such as 256MiB (0 = off)"));
      } else if (key == "answer_memory") {
        out.answer_memory = parse_size(scalar<std::string>(path, key, v, "a size such as 256MiB"));
        if (out.answer_memory < (4u << 20)) throw std::runtime_error(where(path, v) + ": answer_memory: expected at least 4MiB");
      } else if (key == "pcap_queue") {
        out.pcap_queue = parse_size(scalar<std::string>(path, key, v, "a size such as 4MiB"));
        if (out.pcap_queue < 64 * 1024) throw std::runtime_error(where(path, v) + ": pcap_queue: expected at least 64KiB");
      } else if (key == "packet_log_max") {
        out.packet_log_max = parse_size(scalar<std::string>(path, key, v, "a size such as 20GiB (0 = no packet log)"));
      } else if (key == "packet_retention") {
        out.packet_retention_seconds = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(
                parse_duration(scalar<std::string>(path, key, v, "a duration such as 7d"))).count());
      } else if (key == "uri_prefix") {
        out.server.uri_prefix = scalar<std::string>(path, key, v, "a path prefix such as /hopwire");
        if (out.server.uri_prefix.empty() || out.server.uri_prefix.front() != '/' || out.server.uri_prefix.back() == '/')
          throw std::runtime_error(where(path, v) + ": uri_prefix: expected a path such as /hopwire (leading '/', no trailing '/')");
      } else if (key == "oui_file") {
        out.oui_file = scalar<std::string>(path, key, v, "a path to ieee-data's oui.csv");
      } else if (key == "log_level") {
        out.log_level = scalar<std::string>(path, key, v, "trace, debug, info, warn, error or off");
      } else {
        throw std::runtime_error(where(path, kvp.first) + ": unknown setting '" + key +
                                 "' (known: listen, state_dir, remote_capture_port, remote_capture_listen, "
                                 "tls_cert, tls_key, allow_plain_http, threads, log_level, max_devices, oui_file, "
                                 "answer_memory, storage_low_water, kismet_sensors, pcap_queue, packet_log_max, packet_retention, uri_prefix, groups, sensors, alerts, known_networks)");
      }
    } catch (const std::invalid_argument& e) {
      errors.push_back(where(path, v) + ": " + e.what());
    } catch (const std::runtime_error& e) {
      errors.push_back(e.what());
    }
  }
  // Every group a sensor names must exist.
  for (const auto& s : out.fleet.sensors)
    if (!s.group.empty() && !out.fleet.groups.count(s.group))
      errors.push_back(path.string() + ": sensor '" + (s.name.empty() ? s.uuid : s.name) + "' names group '" +
                       s.group + "', which the groups section does not define");
  return errors;
}

void load_settings_yaml(const std::filesystem::path& path, settings& out) {
  const auto errors = check_settings_yaml(path, out);
  if (errors.empty()) return;
  std::string all;
  for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
  throw std::runtime_error(all);
}

}  // namespace hopwire::collector

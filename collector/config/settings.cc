#include "collector/config/settings.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

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

// A NATS URL's host, for the loopback rule: nats://[user@]HOST[:PORT].
std::string url_host(std::string_view url) {
  auto rest = url.substr(url.find("://") + 3);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return std::string(rest.substr(1, rest.find(']') - 1));
  return std::string(rest.substr(0, rest.find_first_of(":/")));
}

bool loopback_host(const std::string& h) {
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

void parse_cluster(const std::filesystem::path& path, const YAML::Node& v, cluster_config& c,
                   std::vector<std::string>& errors) {
  if (!v.IsMap()) throw std::runtime_error(where(path, v) + ": cluster: expected a mapping (docs/cluster.md)");
  c.enabled = true;
  auto str = [&](const std::string& key, const YAML::Node& n, const char* what) {
    return scalar<std::string>(path, "cluster." + key, n, what);
  };
  for (const auto& kvp : v) {
    const std::string key = kvp.first.as<std::string>();
    const YAML::Node& n = kvp.second;
    try {
      if (key == "node_id") {
        c.node_id = str(key, n, "a name of letters, digits, '-' and '_'");
        const bool ok = !c.node_id.empty() && c.node_id.size() <= 64 &&
                        std::all_of(c.node_id.begin(), c.node_id.end(), [](char ch) {
                          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
                        });
        if (!ok) throw std::runtime_error(where(path, n) + ": cluster.node_id: '" + c.node_id +
                                          "' must be 1 to 64 letters, digits, '-' or '_' (it names NATS subjects)");
      } else if (key == "advertise") {
        c.advertise = str(key, n, "this collector's URL, e.g. https://collector-a.example.net:2501");
        if ((c.advertise.rfind("https://", 0) != 0 && c.advertise.rfind("http://", 0) != 0) ||
            c.advertise.back() == '/')
          throw std::runtime_error(where(path, n) + ": cluster.advertise: '" + c.advertise +
                                   "' must be an http:// or https:// URL without a trailing '/'");
      } else if (key == "servers") {
        if (!n.IsSequence() || n.size() == 0)
          throw std::runtime_error(where(path, n) + ": cluster.servers: expected a list of NATS URLs, e.g. "
                                                    "[tls://nats-1:4222, tls://nats-2:4222]");
        for (const auto& u : n) {
          const auto url = str(key, u, "a NATS URL");
          const bool tls = url.rfind("tls://", 0) == 0, plain = url.rfind("nats://", 0) == 0;
          if (!tls && !plain)
            throw std::runtime_error(where(path, u) + ": cluster.servers: '" + url + "' must start with tls:// "
                                                      "(or nats:// for a server on loopback)");
          if (plain && !loopback_host(url_host(url)))
            throw std::runtime_error(where(path, u) + ": cluster.servers: '" + url +
                                     "' is not on loopback: NATS beyond this machine needs tls://");
          c.servers.push_back(url);
        }
      } else if (key == "user") {
        c.user = str(key, n, "a NATS user name");
      } else if (key == "password_file") {
        c.password_file = str(key, n, "a file holding the NATS password");
      } else if (key == "ca_file") {
        c.ca_file = str(key, n, "a PEM file path");
      } else if (key == "cert_file") {
        c.cert_file = str(key, n, "a PEM file path");
      } else if (key == "key_file") {
        c.key_file = str(key, n, "a PEM file path");
      } else if (key == "replicas") {
        c.replicas = scalar<int>(path, "cluster.replicas", n, "1 to 5");
        if (c.replicas < 1 || c.replicas > 5) throw std::runtime_error(where(path, n) + ": cluster.replicas: expected 1 to 5");
      } else if (key == "commit_timeout") {
        c.commit_timeout = parse_duration(str(key, n, "a duration such as 10s"));
      } else if (key == "release_timeout") {
        c.release_timeout = parse_duration(str(key, n, "a duration such as 1s"));
      } else {
        throw std::runtime_error(where(path, kvp.first) + ": unknown cluster setting '" + key +
                                 "' (known: node_id, advertise, servers, user, password_file, ca_file, cert_file, key_file, "
                                 "replicas, commit_timeout, release_timeout)");
      }
    } catch (const std::invalid_argument& e) {
      errors.push_back(where(path, n) + ": cluster." + key + ": " + e.what());
    } catch (const std::runtime_error& e) {
      errors.push_back(e.what());
    }
  }
  if (c.servers.empty()) errors.push_back(where(path, v) + ": cluster: servers: is required (the NATS URLs)");
  if (c.user.empty() || c.password_file.empty())
    errors.push_back(where(path, v) + ": cluster: user: and password_file: are required (NATS is never open)");
  if (c.cert_file.empty() != c.key_file.empty())
    errors.push_back(where(path, v) + ": cluster: cert_file: and key_file: go together");
  if (c.node_id.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) c.node_id = host;
    std::replace_if(c.node_id.begin(), c.node_id.end(),
                    [](char ch) { return !(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'); },
                    '-');
    if (c.node_id.empty()) errors.push_back(where(path, v) + ": cluster: node_id: is required (no host name)");
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
      } else if (key == "cluster") {
        parse_cluster(path, v, out.cluster, errors);
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
                                 "answer_memory, storage_low_water, kismet_sensors, pcap_queue, packet_log_max, packet_retention, uri_prefix, groups, sensors, alerts, known_networks, cluster)");
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

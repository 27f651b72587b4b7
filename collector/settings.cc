#include "settings.h"

#include <chrono>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "common/host_port.h"
#include "common/units.h"

namespace hopwire::collector {

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

}  // namespace

void load_settings_yaml(const std::filesystem::path& path, settings& out) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    throw std::runtime_error("cannot read config file " + path.string());
  } catch (const YAML::ParserException& e) {
    throw std::runtime_error(path.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                             std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw std::runtime_error(where(path, root) + ": expected a mapping of settings");
  for (const auto& kvp : root) {
    const std::string key = kvp.first.as<std::string>();
    const YAML::Node& v = kvp.second;
    try {
      if (key == "listen") {
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
                                 "tls_cert, tls_key, allow_plain_http, threads, log_level, max_devices, oui_file, pcap_queue, packet_log_max, packet_retention, uri_prefix)");
      }
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where(path, v) + ": " + e.what());
    }
  }
}

}  // namespace hopwire::collector

#pragma once
// Everything the collector is told at start, from its YAML config file
// and/or the command line (which wins).

#include <filesystem>
#include <string>

#include <vector>

#include "collector/fleet.h"
#include "collector/http_server.h"

namespace hopwire::collector {

struct settings {
  server_config server;
  std::filesystem::path state_dir = "/var/lib/hopwire";
  unsigned threads = 2;
  std::string log_level = "info";
  std::size_t max_devices = 0;  // 0: no limit
  std::size_t pcap_queue = 4 * 1024 * 1024;  // bytes per live pcap-ng stream
  std::uint64_t answer_memory = 256ull << 20;  // streamed answers in flight, all together
  std::uint64_t packet_log_max = 20ull << 30;  // bytes; 0 = no packet log
  std::uint64_t packet_retention_seconds = 7 * 86400;
  std::string oui_file = "/usr/share/ieee-data/oui.csv";
  fleet_config fleet;
};

// Reads `path` into `out`. Unknown keys and wrong types are errors; the
// exception's message names the file, line and column, and what was expected.
// Every problem is reported, one per line.
void load_settings_yaml(const std::filesystem::path& path, settings& out);
// The same, returning every error instead of throwing (config check).
std::vector<std::string> check_settings_yaml(const std::filesystem::path& path, settings& out);

}  // namespace hopwire::collector

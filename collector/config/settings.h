#pragma once
// Everything the collector is told at start, from its YAML config file
// and/or the command line (which wins).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <vector>

#include "collector/config/alerts_config.h"
#include "collector/config/fleet.h"

namespace hopwire::collector {

// The listeners and their limits.
struct server_config {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 2501;
  std::string tcp_listen_address = "127.0.0.1";
  std::uint16_t tcp_port = 3501;   // 0: no legacy TCP listener
  std::string tls_cert;            // PEM; with tls_key enables HTTPS/WSS
  std::string tls_key;
  bool allow_plain_with_tls = false;
  // Behind a reverse proxy that forwards /PREFIX/...: requests may carry the
  // prefix, which is stripped before routing ("" = none).
  std::string uri_prefix;
  std::size_t max_connections = 0;              // 0: derived from the descriptor limit
  std::size_t max_connections_per_address = 1024;  // 0: no limit
};

// cluster: (docs/cluster.md). Absent (enabled false): a standalone collector
// that never talks to NATS.
struct cluster_config {
  bool enabled = false;
  std::string node_id;  // default: the host name
  std::string advertise;  // this collector's URL for the others' redirects (https://host:2501); empty: none
  std::vector<std::string> servers;  // nats:// (loopback only) or tls:// URLs
  std::string user;
  std::string password_file;
  std::string ca_file, cert_file, key_file;  // TLS to NATS
  int replicas = 3;  // of the cluster's buckets and streams, when this node creates them
  std::chrono::milliseconds commit_timeout{10'000};  // a source's record unwritable this long: its link closes
  std::chrono::milliseconds release_timeout{1'000};  // a claim waits this long for the old owner to let go
};

struct settings {
  server_config server;
  std::filesystem::path state_dir = "/var/lib/hopwire";
  // Threads that serve HTTP and the sensors' links and run ingest; 0: one
  // per core it may run on (its CPU affinity, resolved at start).
  unsigned threads = 0;
  std::string log_level = "info";
  // Unset: derived from memory (default_max_devices); 0: no limit.
  std::optional<std::size_t> max_devices;
  std::size_t pcap_queue = 4 * 1024 * 1024;  // bytes per live pcap-ng stream
  std::uint64_t answer_memory = 256ull << 20;  // streamed answers in flight, all together
  std::uint64_t packet_log_max = 20ull << 30;  // bytes; 0 = no packet log
  std::uint64_t packet_retention_seconds = 7 * 86400;
  std::uint64_t storage_low_water = 256ull << 20;  // bytes free below which the packet log sheds; 0: off
  // Kismet's own capture tools may connect (v3 protocol; on the WebSocket
  // path with credentials in the URL, as they send them). Off by default.
  bool kismet_sensors = false;
  std::string oui_file = "/usr/share/ieee-data/oui.csv";
  fleet_config fleet;
  // alerts: and known_networks: (docs/alerts.md).
  alerts_config alerts;
  cluster_config cluster;
};

// The device limit when none is configured: what a quarter of the machine's
// memory holds at 1 KiB per device (measured: 0.75 KiB for a client, more
// for an AP with SSIDs and clients), between 10 000 and 20 000 000.
std::size_t default_max_devices();

// Reads `path` into `out`. Unknown keys and wrong types are errors; the
// exception's message names the file, line and column, and what was expected.
// Every problem is reported, one per line.
void load_settings_yaml(const std::filesystem::path& path, settings& out);
// The same, returning every error instead of throwing (config check).
std::vector<std::string> check_settings_yaml(const std::filesystem::path& path, settings& out);

}  // namespace hopwire::collector

// hopwire-collector: receives frames from Hopwire sensors, tracks what they
// hear and serves it over HTTP. This file parses the command line and hands
// over: run_collector() (app/collector_app) wires the parts and runs; the
// subcommands (export, routes, token, user, config) are app/commands.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "collector/app/collector_app.h"
#include "collector/app/commands.h"
#include "collector/config/settings.h"
#include "common/host_port.h"
#include "common/units.h"
#include "hopwire/version.h"

using namespace hopwire;
using namespace hopwire::collector;

int main(int argc, char** argv) {
  CLI::App app{"hopwire-collector: receives Wi-Fi frames from Hopwire sensors, tracks devices and serves "
               "them over a Kismet-compatible REST API.\n\n"
               "On first start it creates user 'admin' with a random password, stored in "
               "<state-dir>/admin-password (mode 0600); set HOPWIRE_ADMIN_PASSWORD to choose it instead.",
               "hopwire-collector"};
  app.set_version_flag("--version", std::string("hopwire-collector ") + kVersion);

  settings cfg;
  std::string config_file, listen, state_dir, remote_listen, tls_cert, tls_key, log_level;
  unsigned remote_port = 0, threads = 0;
  bool allow_plain = false;
  app.add_option("--config", config_file, "YAML config file (command-line options override it)");
  auto* o_listen = app.add_option("--listen", listen, "HTTP/WebSocket listen address, HOST:PORT")
                       ->default_str("127.0.0.1:2501");
  auto* o_state = app.add_option("--state-dir", state_dir, "State directory (database, credentials)")
                      ->default_str("/var/lib/hopwire");
  auto* o_rport = app.add_option("--remote-capture-port", remote_port, "Legacy TCP sensor port (0 disables)")
                      ->default_str("3501");
  auto* o_rlisten = app.add_option("--remote-capture-listen", remote_listen, "Legacy TCP listen address")
                        ->default_str("127.0.0.1");
  auto* o_cert = app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve HTTPS and WSS");
  auto* o_key = app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert");
  auto* o_plain = app.add_flag("--allow-plain-http", allow_plain, "With TLS, also accept plain HTTP on the same port");
  auto* o_threads = app.add_option("--threads", threads, "Threads serving HTTP and the sensors' links, each running ingest for its links (default: one per core)");
  std::size_t max_devices = 0;
  std::string oui_file;
  auto* o_maxdev = app.add_option("--max-devices", max_devices,
                                  "Track at most this many devices; the longest idle are dropped first and counted "
                                  "(default: what a quarter of memory holds at 1 KiB a device; 0 = no limit)");
  auto* o_oui = app.add_option("--oui-file", oui_file, "Manufacturer list (ieee-data CSV)")
                    ->default_str("/usr/share/ieee-data/oui.csv");
  std::size_t max_conn = 0, max_conn_addr = 0;
  auto* o_maxconn = app.add_option("--max-connections", max_conn,
                                   "Connections open at once, all together; beyond it new ones are refused "
                                   "(default: what the descriptor limit leaves after a reserve)");
  auto* o_maxconn_addr = app.add_option("--max-connections-per-address", max_conn_addr,
                                        "Connections open at once from one client address (0 = no limit)")
                             ->default_str("1024");
  std::string uri_prefix;
  auto* o_prefix = app.add_option("--uri-prefix", uri_prefix,
                                  "Path prefix a reverse proxy forwards (e.g. /hopwire); stripped before routing");
  std::string pcap_queue;
  auto* o_pcapq = app.add_option("--pcap-queue", pcap_queue,
                                 "Queue per live pcap-ng stream; a client too slow to keep it from filling "
                                 "loses whole packets (counted in /pcap/streams.json)")
                      ->default_str("4MiB");
  bool kismet_sensors = false;
  auto* o_kismet = app.add_flag("--kismet-sensors", kismet_sensors,
                                "Let Kismet's capture tools connect (kismet_cap_*; v3 protocol). They send "
                                "credentials in the URL, which this allows on the sensor path only: use a "
                                "datasource token and TLS (docs/kismet-compat.md)");
  std::string low_water;
  auto* o_lowwater = app.add_option("--storage-low-water", low_water,
                                    "Free space on the state directory's file system below which the packet log "
                                    "sheds its oldest packets so device and source state can still be written "
                                    "(0 = off)")
                         ->default_str("256MiB");
  std::string answer_memory;
  auto* o_answer = app.add_option("--answer-memory", answer_memory,
                                  "Memory that streamed answers (device lists, pcap-ng) may hold in all; "
                                  "beyond it requests get 503 with Retry-After")
                       ->default_str("256MiB");
  std::string packet_log_max, packet_retention;
  auto* o_plmax = app.add_option("--packet-log-max", packet_log_max,
                                 "Packet log size limit; the oldest packets go first (0 turns the log off)")
                      ->default_str("20GiB");
  auto* o_plret = app.add_option("--packet-retention", packet_retention, "How long logged packets are kept")
                      ->default_str("7d");
  auto* o_log = app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->default_str("info");

  // token create|list|revoke
  auto* token = app.add_subcommand("token", "Manage API tokens (stored hashed in the state directory)");
  token->require_subcommand(1);
  std::string tok_name, tok_role, tok_expires;
  auto* tcreate = token->add_subcommand("create", "Create a token and print it (shown only once)");
  tcreate->add_option("--name", tok_name, "Token name (unique)")->required();
  tcreate->add_option("--role", tok_role, "admin, readonly, datasource, scanreport, gps or metrics (/metrics only)")->required();
  tcreate->add_option("--expires", tok_expires, "Lifetime such as 30d or 12h (default: never)");
  auto* tlist = token->add_subcommand("list", "List tokens (names, roles, expiry; never secrets)");
  auto* trevoke = token->add_subcommand("revoke", "Revoke a token by name");
  trevoke->add_option("name", tok_name, "Token name")->required();
  // user passwd
  auto* user = app.add_subcommand("user", "Manage user accounts");
  user->require_subcommand(1);
  std::string user_name = "admin", password_file;
  auto* passwd = user->add_subcommand("passwd", "Set a user's password (read from the terminal or stdin)");
  passwd->add_option("name", user_name, "User name")->default_str("admin");
  passwd->add_option("--password-file", password_file, "Read the new password from this file instead");
  std::string routes_format = "markdown";
  auto* routes_cmd = app.add_subcommand("routes", "Print every HTTP route with its method and roles");
  routes_cmd->add_option("--format", routes_format, "markdown (docs/security.md) or json")->default_str("markdown");
  std::string export_format = "json";
  auto* exp = app.add_subcommand("export", "Write every stored device as JSON to stdout (works while the collector runs)");
  exp->add_option("--format", export_format, "json (one array) or itjson (one device per line)")->default_str("json");
  std::string check_file;
  auto* config_cmd = app.add_subcommand("config", "Work with the config file");
  auto* config_check = config_cmd->add_subcommand("check", "Validate a config file without starting anything; "
                                                           "prints every error with its line and column");
  config_check->add_option("FILE", check_file, "The YAML file")->required();
  config_cmd->require_subcommand(1);
  for (auto* sub : {tcreate, tlist, trevoke, passwd, exp}) {
    sub->add_option("--state-dir", state_dir, "State directory")->default_str("/var/lib/hopwire");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (!config_file.empty() && !*config_cmd) load_settings_yaml(config_file, cfg);
    if (o_listen->count()) {
      const auto hp = parse_host_port(listen, "--listen");
      cfg.server.listen_address = hp.host;
      cfg.server.listen_port = hp.port;
    }
    if (!state_dir.empty()) cfg.state_dir = state_dir;
    if (o_state->count()) cfg.state_dir = state_dir;
    if (o_rport->count()) {
      if (remote_port > 65535) throw std::invalid_argument("--remote-capture-port must be 0-65535");
      cfg.server.tcp_port = static_cast<std::uint16_t>(remote_port);
    }
    if (o_rlisten->count()) cfg.server.tcp_listen_address = remote_listen;
    if (o_cert->count()) cfg.server.tls_cert = tls_cert;
    if (o_key->count()) cfg.server.tls_key = tls_key;
    if (o_plain->count()) cfg.server.allow_plain_with_tls = allow_plain;
    if (o_threads->count()) {
      if (threads == 0 || threads > 64) throw std::invalid_argument("--threads must be 1-64");
      cfg.threads = threads;
    }
    if (o_log->count()) cfg.log_level = log_level;
    if (o_maxdev->count()) cfg.max_devices = max_devices;
    if (o_oui->count()) cfg.oui_file = oui_file;
    if (o_maxconn->count()) {
      if (max_conn < 16) throw std::invalid_argument("--max-connections must be at least 16");
      cfg.server.max_connections = max_conn;
    }
    if (o_maxconn_addr->count()) cfg.server.max_connections_per_address = max_conn_addr;
    if (o_prefix->count()) {
      if (uri_prefix.empty() || uri_prefix.front() != '/' || uri_prefix.back() == '/')
        throw std::invalid_argument("--uri-prefix must look like /hopwire (leading '/', no trailing '/')");
      cfg.server.uri_prefix = uri_prefix;
    }
    if (o_plmax->count()) cfg.packet_log_max = parse_size(packet_log_max);
    if (o_plret->count())
      cfg.packet_retention_seconds = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(parse_duration(packet_retention)).count());
    if (cfg.packet_log_max && cfg.packet_log_max < (4u << 20))
      throw std::invalid_argument("--packet-log-max must be 0 (off) or at least 4MiB");
    if (o_lowwater->count()) cfg.storage_low_water = parse_size(low_water);
    if (o_kismet->count()) cfg.kismet_sensors = kismet_sensors;
    if (o_answer->count()) {
      cfg.answer_memory = parse_size(answer_memory);
      if (cfg.answer_memory < (4u << 20)) throw std::invalid_argument("--answer-memory must be at least 4MiB");
    }
    if (o_pcapq->count()) {
      cfg.pcap_queue = parse_size(pcap_queue);
      if (cfg.pcap_queue < 64 * 1024) throw std::invalid_argument("--pcap-queue must be at least 64KiB");
    }

    if (*exp) return export_devices(cfg.state_dir, export_format);
    if (*routes_cmd) return print_routes(routes_format);
    if (*tcreate) return token_create(cfg.state_dir, tok_name, tok_role, tok_expires);
    if (*tlist) return token_list(cfg.state_dir);
    if (*trevoke) return token_revoke(cfg.state_dir, tok_name);
    if (*passwd) return user_passwd(cfg.state_dir, user_name, password_file);
    if (*config_cmd) return hopwire::collector::config_check(check_file);
    return run_collector(cfg, config_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hopwire-collector: %s\n", e.what());
    return 1;
  }
}

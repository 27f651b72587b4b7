// hopwire-collector: receives frames from Hopwire sensors, tracks what they
// hear and serves it over HTTP. Also manages its own credentials:
//   hopwire-collector [options]              run the collector
//   hopwire-collector token create|list|revoke
//   hopwire-collector user passwd
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <termios.h>
#include <unistd.h>

#include "collector/auth.h"
#include "collector/http_server.h"
#include "collector/device_json.h"
#include "collector/device_persister.h"
#include "collector/device_tracker.h"
#include "collector/ek_writer.h"
#include "collector/oui_table.h"
#include "collector/rest_api.h"
#include "collector/sd_notify.h"
#include "collector/packet_log.h"
#include "collector/pcap_hub.h"
#include "collector/services.h"
#include "collector/settings.h"
#include "collector/sources.h"
#include "collector/state_dir.h"
#include "collector/stats.h"
#include "collector/store.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/units.h"
#include "hopwire/version.h"

namespace {

using namespace hopwire;
using namespace hopwire::collector;

// Re-reads the fleet part of the config file and hands it to the planner.
// An invalid file changes nothing; the errors come back, one per line.
std::vector<std::string> reload_fleet(const std::string& config_file, channel_planner& planner) {
  if (config_file.empty()) return {"the collector was started without --config; there is nothing to reload"};
  settings fresh;
  auto errors = check_settings_yaml(config_file, fresh);
  if (!errors.empty()) {
    spdlog::error("reload of {} refused, the running configuration stays:", config_file);
    for (const auto& e : errors) spdlog::error("  {}", e);
    return errors;
  }
  planner.set_fleet(std::make_shared<fleet_config>(std::move(fresh.fleet)));
  spdlog::info("reloaded the fleet from {}; settings other than groups and sensors take effect at restart",
               config_file);
  return {};
}

int run_collector(const settings& cfg, const std::string& config_file) {
  init_logging(cfg.log_level);
  prepare_state_dir(cfg.state_dir);

  credential_store auth(cfg.state_dir);
  if (auto written = auth.ensure_admin(std::getenv("HOPWIRE_ADMIN_PASSWORD"))) {
    spdlog::warn("created user 'admin' with a random password; it is in {} (readable only by this user). "
                 "Change it with: hopwire-collector user passwd --state-dir {}",
                 written->string(), cfg.state_dir.string());
  }

  store db(cfg.state_dir / "db", false, {cfg.packet_log_max, cfg.packet_retention_seconds});
  source_registry sources;
  sources.load(db.load_sources());
  collector_stats stats;
  services svc{auth, db, sources, stats, {}};
  svc.planner.set_fleet(std::make_shared<fleet_config>(cfg.fleet));
  svc.reload = [&config_file, &svc] { return reload_fleet(config_file, svc.planner); };
  if (!cfg.fleet.sensors.empty() || !cfg.fleet.groups.empty())
    spdlog::info("fleet: {} sensors, {} groups", cfg.fleet.sensors.size(), cfg.fleet.groups.size());

  oui_table ouis;
  if (std::string why; !ouis.load(cfg.oui_file, why))
    spdlog::warn("manufacturer names unavailable ({}); install Debian's ieee-data package", why);
  device_tracker tracker({cfg.max_devices, 64}, ouis);
  for (const auto& s : sources.all()) {
    std::lock_guard lock(s->mu);
    tracker.source_index(s->rec.uuid, s->rec.name);
  }
  device_persister persister(tracker, db, std::chrono::seconds(1));
  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto n = persister.load();
    spdlog::info("loaded {} devices from the database in {:.2f} s", n,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  persister.start();
  svc.sinks.push_back(&tracker);
  svc.tracker = &tracker;
  pcap_hub pcap(cfg.pcap_queue);
  svc.sinks.push_back(&pcap);
  svc.pcap = &pcap;
  packet_log log(db);
  if (cfg.packet_log_max) {
    log.start();
    svc.sinks.push_back(&log);
    svc.log = &log;
    spdlog::info("packet log on: at most {} MiB, kept {} h", cfg.packet_log_max >> 20, cfg.packet_retention_seconds / 3600);
  } else {
    spdlog::info("packet log off");
  }
  svc.started_unix = static_cast<std::uint64_t>(std::time(nullptr));
  svc.uri_prefix = cfg.server.uri_prefix;
  svc.answers.set_limit(cfg.answer_memory);

  // Declared after everything the sessions use, so it is destroyed first.
  boost::asio::io_context io(static_cast<int>(cfg.threads));
  http_server server(io, svc, cfg.server);
  server.start();

  const auto ep = server.http_endpoint();
  const bool tls = !cfg.server.tls_cert.empty();
  const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  spdlog::info("hopwire-collector {} listening on {}://{}:{} (sensors: {}://{}:{}{}), state in {}", kVersion,
               tls ? "https" : "http", host, ep.port(), tls ? "wss" : "ws", host, ep.port(),
               hopwire::protocol::kWebSocketPath, cfg.state_dir.string());
  if (!ep.address().is_loopback())
    spdlog::warn("the HTTP/WebSocket listener is reachable from the network ({}); make sure that is intended{}", host,
                 tls ? "" : " and consider --tls-cert/--tls-key");
  if (cfg.server.tcp_port) {
    const auto tep = server.tcp_endpoint();
    if (!tep.address().is_loopback())
      spdlog::warn("the legacy TCP sensor listener is reachable from the network ({}); it carries no encryption",
                   tep.address().to_string());
    spdlog::info("legacy TCP sensor link on {}:{} (API token required)", tep.address().to_string(), tep.port());
  }

  // SIGHUP: reload the fleet; sensors get new plans without reconnecting.
  boost::asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: reloading {}", config_file.empty() ? std::string("(no --config)") : config_file);
      reload_fleet(config_file, svc.planner);
      wait_hup();
    });
  };
  wait_hup();
  // systemd (Type=notify): storage is loaded and the listeners are open, so tell
  // the service manager we are ready and start the watchdog pings.
  sd_notifier notifier;
  sd_watchdog watchdog(io, notifier);
  notifier.notify(fmt::format("READY=1\nSTATUS=listening on {}:{}, {} devices", host, ep.port(), tracker.device_count()));
  watchdog.start();


  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    notifier.notify("STOPPING=1\nSTATUS=shutting down");
    watchdog.stop();                                     
    hup.cancel();
    server.stop();
    io.stop();
  });

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < cfg.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  persister.stop();
  log.stop();
  spdlog::info("stopped");
  return 0;
}

// `export`: every stored device as Kismet-style JSON on stdout. Opens the
// database read-only, so it works while a collector runs.
int export_devices(const std::filesystem::path& state_dir, const std::string& format) {
  init_logging("warn");
  if (format != "json" && format != "itjson") throw std::invalid_argument("--format must be json or itjson");
  store db(state_dir / "db", true);
  oui_table ouis;
  std::string why;
  ouis.load(std::string(kDefaultOuiPath), why);
  device_tracker tracker({0, 64}, ouis);
  for (const auto& s : db.load_sources()) tracker.source_index(s.uuid, s.name);
  device_persister persister(tracker, db, std::chrono::seconds(1));
  persister.load();
  std::string out;
  {
    string_sink sink(out);
    json_writer w(sink);
    if (format == "json") w.StartArray();
    tracker.for_each([&](const device& d) {
      write_device(w, d, tracker);
      if (format == "itjson") {
        sink.Put('\n');
        w.Reset(sink);
      }
      if (out.size() > (1 << 20)) {
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
      }
    });
    if (format == "json") w.EndArray();
    sink.Flush();
  }
  if (format == "json") out.push_back('\n');
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

// `routes`: the route table, as docs/security.md prints it.
int print_routes(const std::string& format) {
  auto roles = [](role_mask m) {
    std::string out = "admin";
    for (role r : {role::readonly, role::datasource, role::scanreport, role::gps})
      if (m & mask(r)) out += std::string(", ") + role_name(r);
    return out;
  };
  if (format == "json") {
    std::printf("[");
    bool first = true;
    for (const auto& r : route_table()) {
      std::printf("%s\n{\"method\": \"%s\", \"path\": \"%s\", \"roles\": [", first ? "" : ",",
                  std::string(r.method).c_str(), std::string(r.pattern).c_str());
      std::printf("\"admin\"");
      for (role x : {role::readonly, role::datasource, role::scanreport, role::gps})
        if (r.roles & mask(x)) std::printf(", \"%s\"", role_name(x));
      std::printf("], \"body_limit\": %zu}", r.body_limit);
      first = false;
    }
    std::printf("\n]\n");
    return 0;
  }
  if (format != "markdown") throw std::invalid_argument("--format must be markdown or json");
  std::printf("| Method | Path | Roles | What |\n|---|---|---|---|\n");
  for (const auto& r : route_table())
    std::printf("| %s | `%s` | %s | %s |\n", std::string(r.method).c_str(), std::string(r.pattern).c_str(),
                roles(r.roles).c_str(), std::string(r.summary).c_str());
  return 0;
}

std::string read_password_interactive(const std::string& prompt) {
  std::string pw;
  if (isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s", prompt.c_str());
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, pw);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  } else {
    std::getline(std::cin, pw);
  }
  return pw;
}

}  // namespace

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
  auto* o_threads = app.add_option("--threads", threads, "Network threads")->default_str("2");
  std::size_t max_devices = 0;
  std::string oui_file;
  auto* o_maxdev = app.add_option("--max-devices", max_devices,
                                  "Track at most this many devices; the longest idle are dropped first (0 = no limit)")
                       ->default_str("0");
  auto* o_oui = app.add_option("--oui-file", oui_file, "Manufacturer list (ieee-data CSV)")
                    ->default_str("/usr/share/ieee-data/oui.csv");
  std::string uri_prefix;
  auto* o_prefix = app.add_option("--uri-prefix", uri_prefix,
                                  "Path prefix a reverse proxy forwards (e.g. /hopwire); stripped before routing");
  std::string pcap_queue;
  auto* o_pcapq = app.add_option("--pcap-queue", pcap_queue,
                                 "Queue per live pcap-ng stream; a client too slow to keep it from filling "
                                 "loses whole packets (counted in /pcap/streams.json)")
                      ->default_str("4MiB");
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
  tcreate->add_option("--role", tok_role, "admin, readonly, datasource, scanreport or gps")->required();
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
    if (*token || *user) {
      init_logging("warn");
      prepare_state_dir(cfg.state_dir);
      credential_store auth(cfg.state_dir);
      if (*tcreate) {
        const auto r = parse_role(tok_role);
        if (!r) throw std::invalid_argument("--role " + tok_role + ": expected admin, readonly, datasource, scanreport or gps");
        std::chrono::seconds ttl{0};
        if (!tok_expires.empty()) ttl = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(tok_expires));
        std::cout << auth.create_token(tok_name, *r, ttl) << "\n";
      } else if (*tlist) {
        std::printf("%-24s %-11s %-20s %s\n", "NAME", "ROLE", "CREATED", "EXPIRES");
        for (const auto& t : auth.list_tokens()) {
          char created[32], expires[32] = "never";
          std::time_t c = t.created, e = t.expires;
          std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&c));
          if (t.expires) std::strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&e));
          std::printf("%-24s %-11s %-20s %s\n", t.name.c_str(), role_name(t.granted), created, expires);
        }
      } else if (*trevoke) {
        if (!auth.revoke_token(tok_name)) throw std::invalid_argument("no token named '" + tok_name + "'");
        std::printf("revoked token '%s'\n", tok_name.c_str());
      } else if (*passwd) {
        std::string pw;
        if (!password_file.empty()) {
          std::ifstream in(password_file);
          if (!in) throw std::runtime_error("cannot read " + password_file);
          std::getline(in, pw);
        } else {
          pw = read_password_interactive("New password for " + user_name + ": ");
        }
        auth.set_password(user_name, pw);
        std::printf("password for '%s' changed\n", user_name.c_str());
      }
      return 0;
    }
    if (*config_cmd) {
      if (check_file.empty()) throw std::invalid_argument("config check needs a FILE");
      settings checked;
      const auto errors = check_settings_yaml(check_file, checked);
      for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
      if (!errors.empty()) {
        std::fprintf(stderr, "%s: %zu error%s\n", check_file.c_str(), errors.size(), errors.size() == 1 ? "" : "s");
        return 1;
      }
      std::printf("%s: OK (%zu sensors, %zu groups)\n", check_file.c_str(), checked.fleet.sensors.size(),
                  checked.fleet.groups.size());
      return 0;
    }
    return run_collector(cfg, config_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hopwire-collector: %s\n", e.what());
    return 1;
  }
}

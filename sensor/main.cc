// hopwire-sensor: captures (or replays) 802.11 frames and streams them to a
// Hopwire collector. Options follow Kismet's remote capture tools.
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/host_port.h"
#include "common/log.h"
#include "common/units.h"
#include "hopwire/version.h"
#include "sensor/capture_source.h"
#include "sensor/link_client.h"
#include "sensor/packet_ring.h"

namespace {

using namespace hopwire;

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

wire::GpsFix parse_gps(const std::string& s) {
  double v[3] = {0, 0, std::nan("")};
  std::stringstream ss(s);
  std::string item;
  int n = 0;
  while (std::getline(ss, item, ',')) {
    if (n == 3) throw std::invalid_argument("--fixed-gps " + s + ": expected LAT,LON[,ALT]");
    try {
      std::size_t used = 0;
      v[n] = std::stod(item, &used);
      if (used != item.size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw std::invalid_argument("--fixed-gps " + s + ": '" + item + "' is not a number");
    }
    ++n;
  }
  if (n < 2) throw std::invalid_argument("--fixed-gps " + s + ": expected LAT,LON[,ALT]");
  if (v[0] < -90 || v[0] > 90 || v[1] < -180 || v[1] > 180)
    throw std::invalid_argument("--fixed-gps " + s + ": latitude must be in [-90, 90], longitude in [-180, 180]");
  return wire::GpsFix(v[0], v[1], v[2]);
}

void daemonize() {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid > 0) std::_Exit(0);
  setsid();
  const int fd = open("/dev/null", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0);
    dup2(fd, 1);
    if (fd > 2) close(fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hopwire-sensor: capture Wi-Fi frames (or replay a capture file) and stream them to a "
               "Hopwire collector over an authenticated WebSocket.\n\n"
               "Example:\n  hopwire-sensor --connect 127.0.0.1:2501 --user admin --password-file pw \\\n"
               "    --source=capture.pcapng:name=replay,realtime=false\n"
               "  hopwire-sensor --connect 10.0.0.5:2501 --apikey-file /etc/hopwire/token \\\n"
               "    --source='wlan0:name=roof,channels=\"1,6,11,36\",group=roof'\n",
               "hopwire-sensor"};
  app.set_version_flag("--version", std::string("hopwire-sensor ") + kVersion);

  std::string connect, source_def, user, password, password_file, apikey, apikey_file, ssl, endpoint, fixed_gps,
      gps_name, buffer = "4MiB", log_level = "info";
  bool tcp = false, disable_retry = false, daemon = false, insecure = false;
  bool ssl_given = false;

  app.add_option("--connect", connect,
                 "Collector address, HOST:PORT (IPv6: [ADDR]:PORT), or several separated by commas for a "
                 "cluster (docs/cluster.md): tried in turn, the next at once when one fails, backing off only "
                 "after a whole pass")
      ->required();
  app.add_option("--source", source_def,
                 "Source definition, Kismet syntax: FILE_OR_INTERFACE[:opt=val,...]. For files: "
                 "name=, uuid=, realtime=true|false, pps=N, loop=true|false. For Wi-Fi interfaces "
                 "(needs CAP_NET_ADMIN and CAP_NET_RAW): name=, uuid=, vif=, channels=\"1,6,11\", "
                 "add_channels=, block_channels=, channel=, channel_hop=, channel_hoprate=5/sec, "
                 "ht_channels=, vht_channels=, band24ghz=, band5ghz=, band6ghz=, filter_locals=, fcsfail=, "
                 "ignoreprimary=, group=, group_plan=split|offset, timestamp=, metagps=, pcap_buffer=. "
                 "See docs/live-capture.md")
      ->required();
  app.add_option("--user", user, "User name for HTTP Basic authentication");
  app.add_option("--password", password,
                 "Password (visible in the process list; prefer --password-file or HOPWIRE_PASSWORD)");
  app.add_option("--password-file", password_file, "Read the password from the first line of this file");
  app.add_option("--apikey", apikey,
                 "API token with role 'datasource' (prefer --apikey-file or HOPWIRE_APIKEY)");
  app.add_option("--apikey-file", apikey_file, "Read the API token from the first line of this file");
  auto* ssl_opt = app.add_option("--ssl", ssl,
                                 "Use TLS (wss://). With =CAFILE, trust that CA instead of the system store")
                      ->expected(0, 1);
  app.add_flag("--ssl-insecure-skip-verify", insecure,
               "DANGEROUS, labs only: accept any TLS certificate, for any host");
  app.add_option("--endpoint", endpoint, "WebSocket path on the collector (behind a proxy prefix, say)")
      ->default_str(std::string(hopwire::protocol::kWebSocketPath));
  app.add_flag("--tcp", tcp, "Legacy mode: length-prefixed frames over plain TCP (needs --apikey)");
  app.add_flag("--disable-retry", disable_retry, "Exit (non-zero) when the link fails instead of reconnecting");
  app.add_flag("--daemonize", daemon, "Detach and run in the background");
  app.add_option("--fixed-gps", fixed_gps, "Fixed location for every packet: LAT,LON[,ALT]");
  app.add_option("--gps-name", gps_name, "Name of the GPS for this sensor's location");
  app.add_option("--buffer", buffer, "Ring buffer size (store and forward while the link is down)")
      ->default_str("4MiB");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->default_str("info");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  ssl_given = ssl_opt->count() > 0;

  try {
    init_logging(log_level);

    sensor::link_options lo;
    for (std::size_t start = 0; start <= connect.size();) {
      const auto comma = std::min(connect.find(',', start), connect.size());
      const std::string one = connect.substr(start, comma - start);
      const auto hp = parse_host_port(one, "--connect");
      if (hp.port == 0) throw std::invalid_argument("--connect " + one + ": port 0 is not a collector port");
      lo.collectors.push_back({hp.host, std::to_string(hp.port)});
      start = comma + 1;
    }
    lo.host = lo.collectors.front().host;
    lo.port = lo.collectors.front().port;
    lo.tcp = tcp;
    lo.tls = ssl_given || insecure;
    lo.ca_file = ssl;
    lo.insecure_skip_verify = insecure;
    if (!endpoint.empty()) lo.endpoint = endpoint;
    if (lo.endpoint.empty() || lo.endpoint.front() != '/')
      throw std::invalid_argument("--endpoint must be a path starting with '/'");
    lo.retry = !disable_retry;
    lo.gps_name = gps_name;
    lo.user = user;
    if (!password_file.empty()) password = read_secret_file(password_file);
    if (password.empty())
      if (const char* env = std::getenv("HOPWIRE_PASSWORD")) password = env;
    if (!apikey_file.empty()) apikey = read_secret_file(apikey_file);
    if (apikey.empty())
      if (const char* env = std::getenv("HOPWIRE_APIKEY")) apikey = env;
    lo.password = password;
    lo.apikey = apikey;
    if (lo.tcp && lo.tls) throw std::invalid_argument("--tcp cannot be combined with --ssl; use the WebSocket link");
    if (lo.tcp && lo.apikey.empty())
      throw std::invalid_argument("--tcp needs an API token with role 'datasource' (--apikey-file)");
    if (!lo.tcp && lo.apikey.empty() && lo.user.empty())
      throw std::invalid_argument("no credentials: give --user with --password-file, or --apikey-file");
    if (!lo.user.empty() && lo.apikey.empty() && lo.password.empty())
      throw std::invalid_argument("--user " + lo.user + " needs a password (--password-file or HOPWIRE_PASSWORD)");
    if (insecure) spdlog::warn("TLS certificate verification is OFF (--ssl-insecure-skip-verify)");

    sensor::source_globals globals;
    if (!fixed_gps.empty()) {
      globals.fixed_gps = true;
      globals.gps = parse_gps(fixed_gps);
    }
    const auto def = source_definition::parse(source_def);
    auto source = sensor::make_capture_source(def, globals);
    sensor::packet_ring ring(parse_size(buffer));

    if (daemon) daemonize();

    boost::asio::io_context io(1);
    sensor::link_client client(io, lo, ring, *source);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (!ec) client.shutdown();
    });
    spdlog::info("hopwire-sensor {}: source {} '{}' ({}), ring {}", kVersion, source->identity().uuid,
                 source->identity().name, source->identity().type, format_size(parse_size(buffer)));
    source->start(ring, [&client] { client.notify_source_done(); });
    client.start();
    io.run();
    ring.stop();
    source->stop();
    return client.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hopwire-sensor: %s\n", e.what());
    return 1;
  }
}

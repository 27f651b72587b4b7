#include "collector/app/collector_app.h"

#include <sched.h>

#include <ctime>
#include <atomic>
#include <map>
#include <mutex>
#include <algorithm>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "collector/api/eventbus.h"
#include "collector/api/routes_all.h"
#include "collector/app/sd_notify.h"
#include "collector/auth/auth.h"
#include "collector/auth/login_limiter.h"
#include "collector/cluster/cluster_node.h"
#include "collector/alerts/alert_engine.h"
#include "collector/alerts/alert_json.h"
#include "collector/alerts/outputs.h"
#include "collector/app/alert_storage.h"
#include "collector/app/memory_trim.h"
#include "collector/config/state_dir.h"
#include "collector/core/events.h"
#include "collector/core/messages.h"
#include "collector/core/packet_rates.h"
#include "collector/core/pipeline.h"
#include "collector/core/source_table.h"
#include "collector/core/sources.h"
#include "collector/core/stats.h"
#include "collector/link/kismet_link.h"
#include "collector/link/link_selector.h"
#include "collector/link/remote_link.h"
#include "collector/net/http_server.h"
#include "collector/persist/device_persister.h"
#include "collector/persist/packet_log.h"
#include "collector/persist/store.h"
#include "collector/plan/channel_planner.h"
#include "collector/stream/pcap_hub.h"
#include "collector/track/device_tracker.h"
#include "collector/track/oui_table.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/protocol.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace {

// The cores this process may run on (its CPU affinity, as taskset or a
// systemd CPUAffinity= set it), 1 to 64.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                             : static_cast<int>(std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::clamp(n, 1, 64));
}

// Re-reads the fleet part of the config file and hands it to the planner.
// An invalid file changes nothing; the errors come back, one per line.
// Where alerts go besides REST and the event bus (syslog, webhooks); rebuilt
// on reload while the engine's subscriber keeps posting to whichever is in
// force.
class output_slot {
 public:
  void replace(const alerts_config& cfg, const alert_engine* engine) {
    auto fresh = std::make_shared<alert_outputs>(cfg, engine);
    for (const auto& p : fresh->problems()) spdlog::error("alerts: {}", p);
    fresh->start();
    std::shared_ptr<alert_outputs> old;
    {
      std::lock_guard lock(mu_);
      old = std::exchange(cur_, std::move(fresh));
    }
    if (old) old->stop();
  }
  void on_alert(const alert& a) {
    std::shared_ptr<alert_outputs> cur;
    {
      std::lock_guard lock(mu_);
      cur = cur_;
    }
    if (cur) cur->on_alert(a);
  }
  std::shared_ptr<alert_outputs> get() const {
    std::lock_guard lock(mu_);
    return cur_;
  }
  void stop() {
    if (auto cur = get()) cur->stop();
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<alert_outputs> cur_;
};

std::vector<std::string> reload_fleet(const std::string& config_file, channel_planner& planner, message_bus& messages,
                                      alert_engine& alerts, output_slot& outputs) {
  if (config_file.empty()) return {"the collector was started without --config; there is nothing to reload"};
  settings fresh;
  auto errors = check_settings_yaml(config_file, fresh);
  if (!errors.empty()) {
    spdlog::error("reload of {} refused, the running configuration stays:", config_file);
    for (const auto& e : errors) spdlog::error("  {}", e);
    messages.post(kMsgError | kMsgLogged, "reload of " + config_file + " refused (" + std::to_string(errors.size()) +
                                              " error" + (errors.size() == 1 ? "" : "s") + ", first: " + errors[0] +
                                              "); the running configuration stays");
    return errors;
  }
  planner.set_fleet(std::make_shared<fleet_config>(std::move(fresh.fleet)));
  alerts.configure(fresh.alerts);
  outputs.replace(fresh.alerts, &alerts);
  messages.post(kMsgInfo, "reloaded the fleet and the alerts from " + config_file +
                              "; settings other than groups, sensors, alerts and known_networks take effect at restart");
  return {};
}

}  // namespace

route_table collector_routes(api_context& api, message_handler_factory sensor_link,
                             message_handler_factory event_bus) {
  route_table t;
  auto ws = [&](std::string pattern, role_mask roles, std::string summary, message_handler_factory f) {
    route r;
    r.method = "WS";
    r.pattern = std::move(pattern);
    r.roles = roles;
    r.summary = std::move(summary);
    r.upgrade = std::move(f);
    t.add(std::move(r));
  };
  ws(std::string(protocol::kWebSocketPath), mask(role::datasource), "Sensor link (WebSocket upgrade)",
     std::move(sensor_link));
  ws("/eventbus/events.ws", mask(role::readonly),
     "Kismet's event bus: SUBSCRIBE/UNSUBSCRIBE topics, get {TOPIC: value} pushed", std::move(event_bus));
  ws("/devices/monitor.ws", mask(role::readonly),
     "Kismet's device monitor: watch a device or every one at a rate, with fields", device_monitor_factory(api));
  add_api_routes(t, api);
  return t;
}

int run_collector(const settings& cfg, const std::string& config_file) {
  init_logging(cfg.log_level);
  memory_trim::tune_allocator(std::thread::hardware_concurrency());
  memory_trim trimmer;
  prepare_state_dir(cfg.state_dir);

  credential_store auth(cfg.state_dir);
  if (auto written = auth.ensure_admin(std::getenv("HOPWIRE_ADMIN_PASSWORD"))) {
    spdlog::warn("created user 'admin' with a random password; it is in {} (readable only by this user). "
                 "Change it with: hopwire-collector user passwd --state-dir {}",
                 written->string(), cfg.state_dir.string());
  }

  store db(cfg.state_dir / "db", false, {cfg.packet_log_max, cfg.packet_retention_seconds, cfg.storage_low_water});
  source_table table;
  source_registry sources(table);
  sources.load(db.load_sources());
  collector_stats stats;
  net_stats net;
  message_bus messages;
  // Told on the persister's thread; the alert engine is set once it exists.
  std::atomic<alert_engine*> storage_alerts{nullptr};
  db.on_state_change([&messages, &storage_alerts](storage_state st, const std::string& text, bool bad) {
    messages.post((bad ? kMsgError : kMsgInfo) | kMsgLogged, text);
    if (auto* a = storage_alerts.load(); a && st == storage_state::failing) {
      alert_engine::raise_request r;
      r.name = "STORAGEERROR";
      r.text = text;
      a->raise(r);
    }
  });
  meta_gps gps;
  login_limiter limiter;
  answer_budget answers(cfg.answer_memory);
  channel_planner planner;
  planner.set_fleet(std::make_shared<fleet_config>(cfg.fleet));
  if (!cfg.fleet.sensors.empty() || !cfg.fleet.groups.empty())
    spdlog::info("fleet: {} sensors, {} groups", cfg.fleet.sensors.size(), cfg.fleet.groups.size());

  oui_table ouis;
  if (std::string why; !ouis.load(cfg.oui_file, why))
    spdlog::warn("manufacturer names unavailable ({}); install Debian's ieee-data package", why);
  event_hub events;
  const std::size_t max_devices = cfg.max_devices.value_or(default_max_devices());
  if (!cfg.max_devices)
    spdlog::info("device limit: {} (derived from this machine's memory; --max-devices sets it, 0 for none)",
                 max_devices);
  else if (max_devices == 0)
    spdlog::warn("no device limit (--max-devices 0): a flood of random MACs can take all memory");
  device_tracker tracker({max_devices, 64}, ouis, table, &events);
  device_persister persister(tracker, table, db, std::chrono::seconds(1));
  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto n = persister.load();
    spdlog::info("loaded {} devices from the database in {:.2f} s", n,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  persister.start();

  // The stages: decode once, then every sink.
  ingest_pipeline pipeline(gps);
  pipeline.add_sink(&tracker);
  pcap_hub pcap(cfg.pcap_queue);
  pipeline.add_sink(&pcap);
  packet_log log(db);
  if (cfg.packet_log_max) {
    log.start();
    pipeline.add_sink(&log);
    spdlog::info("packet log on: at most {} MiB, kept {} h", cfg.packet_log_max >> 20, cfg.packet_retention_seconds / 3600);
  } else {
    spdlog::info("packet log off");
  }

  // Alerts: a sink after the tracker, and a listener of source events;
  // each alert goes to the outputs, the event bus (ALERT) and the messages.
  alert_engine alerts(&table, &ouis, cfg.alerts);
  stored_alerts alert_rows(db);
  stored_watchlist watch_rows(db);
  for (const auto& p : alerts.attach(&alert_rows, &watch_rows)) spdlog::error("alerts: {}", p);
  if (cfg.alerts.engine) {
    events.subscribe(&alerts, alert_engine::kEvents);
    pipeline.add_sink(&alerts);
  } else {
    spdlog::info("alert engine off (alerts: off in {}); the alert routes answer 503", config_file);
  }
  output_slot outputs;
  outputs.replace(cfg.alerts, &alerts);

  // Kismet's packet and channel rings (/packetchain, /channels), fed each second below.
  packet_rates rates(pipeline, sources);
  pipeline.add_sink(&rates);

  link_env links{auth, sources, db, planner, pipeline, stats, messages, &events};
  // Cluster mode: source records in NATS, so a sensor can fail over to any
  // collector of the fleet (docs/cluster.md).
  std::unique_ptr<cluster_node> cluster;
  if (cfg.cluster.enabled) {
    cluster = std::make_unique<cluster_node>(cfg.cluster);
    cluster->on_release([&sources](const std::string& uuid, std::uint64_t boot_id) {
      using answer = cluster_node::release_answer;
      const auto s = sources.find(uuid);
      if (!s) return answer::none;
      std::function<void()> close;
      {
        std::lock_guard lock(s->mu);
        if (!s->close_link) return answer::none;
        // Two sensor processes with one UUID: the second is refused, not
        // let to push the first off (they would take turns for ever).
        if (s->rec.boot_id != boot_id) return answer::busy;
        close = s->close_link;
      }
      close();
      return answer::released;
    });
    // API tokens work on every collector: a sensor fails over with the
    // token it has (hashes only cross NATS, never secrets).
    cluster->share(
        "tokens", [&auth] { return auth.export_tokens(); },
        [&auth](const std::vector<std::string>& theirs) { auth.set_shared_tokens(theirs); });
    links.cluster = cluster.get();
    // Its share of any collector's fleet device list.
    serve_fleet_queries(*cluster, tracker, &alerts);
    spdlog::info("cluster mode: node {}, NATS {}", cfg.cluster.node_id, fmt::join(cfg.cluster.servers, ", "));
  }
  api_context api;
  api.auth = &auth;
  api.db = &db;
  api.sources = &sources;
  api.stats = &stats;
  api.net = &net;
  api.pipeline = &pipeline;
  api.planner = &planner;
  api.gps = &gps;
  api.answers = &answers;
  api.messages = &messages;
  api.tracker = &tracker;
  api.persister = &persister;
  api.pcap = &pcap;
  api.log = cfg.packet_log_max ? &log : nullptr;
  api.rates = &rates;
  api.cfg = &cfg;
  api.cluster = cluster.get();
  api.started_unix = static_cast<std::uint64_t>(std::time(nullptr));
  if (cfg.alerts.engine) {
    api.alerts = &alerts;
    storage_alerts = &alerts;
  }
  api.reload = [&config_file, &planner, &messages, &alerts, &outputs] {
    return reload_fleet(config_file, planner, messages, alerts, outputs);
  };
  // The event bus: tracker events, messages (and alerts) pushed to
  // WebSocket subscribers.
  event_bus bus(api);
  api.bus = &bus;
  events.subscribe(&bus, event_bus::kTrackerKinds);
  messages.subscribe([&bus](const bus_message& m) { bus.publish_message(m); });
  alerts.subscribe([&bus, &messages, &outputs](const alert& a) {
    outputs.on_alert(a);
    bus.publish_json("ALERT", alert_json(a));
    messages.post(kMsgAlert, a.header + " " + a.text);
  });
  route_table routes = collector_routes(api, sensor_link_factory(links, cfg.kismet_sensors), bus.factory());
  if (cfg.kismet_sensors) {
    // Kismet's tools put their credentials in the URL; allowed on the
    // sensor path alone, never logged.
    if (auto* r = routes.find("WS", protocol::kWebSocketPath)) r->url_credentials = true;
    spdlog::warn("kismet_sensors is on: Kismet's capture tools may connect, with credentials in the URL of the sensor "
                 "path (never logged) or, on the TCP port, none at all; use datasource tokens, TLS, and keep the TCP "
                 "port on loopback");
  } else if (auto* r = routes.find("WS", protocol::kWebSocketPath)) {
    r->url_credentials_refusal_log =
        "refused a sensor link with credentials in the URL, as Kismet's capture tools send them; Kismet tools are "
        "off (kismet_sensors: true in the config turns them on)";
  }
  bus.start();

  // Declared after everything the sessions use, so it is destroyed first.
  const unsigned n_threads = cfg.threads ? cfg.threads : usable_cores();
  boost::asio::io_context io(static_cast<int>(n_threads));
  http_server server(io,
                     http_server_parts{routes, auth, limiter, answers, net, remote_link::factory(links),
                                       cfg.kismet_sensors ? kismet_link_factory(links) : message_handler_factory{}},
                     cfg.server);
  server.start();

  const auto ep = server.http_endpoint();
  const bool tls = !cfg.server.tls_cert.empty();
  const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  spdlog::info("hopwire-collector {} listening on {}://{}:{} (sensors: {}://{}:{}{}), state in {}, threads: {}",
               kVersion, tls ? "https" : "http", host, ep.port(), tls ? "wss" : "ws", host, ep.port(),
               hopwire::protocol::kWebSocketPath, cfg.state_dir.string(), n_threads);
  if (!ep.address().is_loopback())
    spdlog::warn("the HTTP/WebSocket listener is reachable from the network ({}); make sure that is intended{}", host,
                 tls ? "" : " and consider --tls-cert/--tls-key");
  if (cfg.server.tcp_port) {
    const auto tep = server.tcp_endpoint();
    if (!tep.address().is_loopback())
      spdlog::warn("the legacy TCP sensor listener is reachable from the network ({}); it carries no encryption",
                   tep.address().to_string());
    // Our sensors need a datasource token there; Kismet's tools send no
    // credentials at all, so with kismet_sensors on the port admits them.
    spdlog::info("legacy TCP sensor link on {}:{} ({})", tep.address().to_string(), tep.port(),
                 cfg.kismet_sensors ? "Hopwire sensors with an API token; Kismet's tools without credentials"
                                    : "API token required");
  }

  // SIGHUP: reload the fleet; sensors get new plans without reconnecting.
  boost::asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: reloading {}", config_file.empty() ? std::string("(no --config)") : config_file);
      reload_fleet(config_file, planner, messages, alerts, outputs);
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


  // Once a minute: evictions at the device limit, told to people.
  boost::asio::steady_timer housekeeping(io);
  std::uint64_t evicted_seen = tracker.evicted();
  std::function<void()> every_minute = [&] {
    housekeeping.expires_after(std::chrono::minutes(1));
    housekeeping.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      if (const auto n = tracker.evicted(); n > evicted_seen) {
        messages.post(kMsgInfo, fmt::format("{} devices evicted in the last minute: the device table is at its limit "
                                            "of {} (--max-devices); the longest idle go first",
                                            n - evicted_seen, tracker.max_devices()));
        evicted_seen = n;
      }
      every_minute();
    });
  };
  every_minute();

  // Once a second: the rings take the counters' growth, and each channel
  // how many devices were active on it in the last 30 s (as Kismet counts).
  boost::asio::steady_timer rate_timer(io);
  std::function<void()> every_second = [&] {
    rate_timer.expires_after(std::chrono::seconds(1));
    rate_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      const auto now = wall_ns();
      std::map<std::uint32_t, std::uint64_t> active;
      tracker.count_changed_by_freq(now - 30'000'000'000ull, active);
      rates.tick(now, active);
      if (cfg.alerts.engine) alerts.tick();
      every_second();
    });
  };
  every_second();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    notifier.notify("STOPPING=1\nSTATUS=shutting down");
    watchdog.stop();
    hup.cancel();
    housekeeping.cancel();
    rate_timer.cancel();
    server.stop();
    io.stop();
  });

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  if (cluster) cluster->stop();  // its callbacks post to the sessions
  bus.stop();
  storage_alerts = nullptr;
  outputs.stop();
  alerts.flush();
  persister.stop();
  log.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hopwire::collector

#pragma once
// Every REST route of the collector, in one table: each *_api file adds its
// own. The sensor link's WebSocket route comes from the wiring (app/), which
// knows the link protocol.

#include <functional>
#include <string_view>

#include "collector/api/api_context.h"
#include "collector/net/routes.h"

namespace hopwire::collector {

void add_api_routes(route_table& t, api_context& api);

// Kismet's /devices/monitor.ws handler.
message_handler_factory device_monitor_factory(api_context& api);

// A source as all_sources.json shows it (the event bus sends the same).
std::string source_json(const source_entry& s);

// Each part's routes (in api/*_api.cc).
void add_device_routes(route_table& t, api_context& api);
void add_pcap_routes(route_table& t, api_context& api);
void add_scan_routes(route_table& t, api_context& api);
void add_auth_routes(route_table& t, api_context& api);
void add_source_routes(route_table& t, api_context& api);
void add_system_routes(route_table& t, api_context& api);
void add_metrics_routes(route_table& t, api_context& api);
void add_ui_routes(route_table& t, api_context& api);
void add_message_routes(route_table& t, api_context& api);
void add_alert_routes(route_table& t, api_context& api);
void add_cluster_routes(route_table& t, api_context& api);
// Cluster mode: this collector's answers to the others' fleet queries
// (its share of /cluster/devices.json and /cluster/alerts.json; `alerts`
// may be null).
void serve_fleet_queries(cluster_node& cluster, const device_tracker& tracker, const alert_engine* alerts);
inline constexpr std::string_view kFleetDevicesQuery = R"({"q":"devices"})";
inline constexpr std::string_view kFleetAlertsQuery = R"({"q":"alerts"})";
// Its share of /cluster/alerts.json (alerts_api.cc).
void serve_fleet_alerts(const alert_engine& alerts, const std::function<void(std::string_view)>& send);
// Kismet's REST surface beyond the routes above (docs/kismet-compat.md);
// added after them, since some give their routes Kismet's other formats.
void add_kismet_system_routes(route_table& t, api_context& api);
void add_kismet_datasource_routes(route_table& t, api_context& api);
void add_kismet_gps_routes(route_table& t, api_context& api);
void add_kismet_view_routes(route_table& t, api_context& api);
void add_kismet_phy80211_routes(route_table& t, api_context& api);

}  // namespace hopwire::collector

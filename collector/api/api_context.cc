#include "collector/api/api_context.h"

#include "collector/api/routes_all.h"

namespace hopwire::collector {

void add_route(route_table& t, api_context& api, std::string method, std::string pattern, role_mask roles,
               std::string summary, api_handler fn, std::size_t body_limit) {
  route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.roles = roles;
  r.summary = std::move(summary);
  r.body_limit = body_limit;
  r.handler = [&api, fn = std::move(fn)](request& req) {
    request_ctx ctx(api, std::move(req));
    return fn(ctx);
  };
  t.add(std::move(r));
}

void add_api_routes(route_table& t, api_context& api) {
  add_ui_routes(t, api);
  add_system_routes(t, api);
  add_metrics_routes(t, api);
  add_source_routes(t, api);
  add_device_routes(t, api);
  add_pcap_routes(t, api);
  add_scan_routes(t, api);
  add_auth_routes(t, api);
  add_message_routes(t, api);
  add_alert_routes(t, api);
  add_cluster_routes(t, api);
  add_kismet_system_routes(t, api);
  add_kismet_datasource_routes(t, api);
  add_kismet_gps_routes(t, api);
  add_kismet_view_routes(t, api);
  add_kismet_phy80211_routes(t, api);
}

std::optional<std::string> command_text(const request_ctx& ctx) {
  // curl -d sends raw JSON as a form: a body that opens an object is JSON
  // whatever its declared type.
  const auto first = ctx.body.find_first_not_of(" \t\r\n");
  const bool looks_json = first != std::string_view::npos && ctx.body[first] == '{';
  if (looks_json ||
      (ctx.content_type.find("application/x-www-form-urlencoded") == std::string_view::npos &&
       ctx.body.substr(0, 5) != "json="))
    return std::string(ctx.body);
  for (const auto& [k, v] : parse_query(ctx.body))
    if (k == "json") return v;
  // An empty form is an empty command; a form of other fields is a mistake.
  if (ctx.body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string();
  return std::nullopt;
}

}  // namespace hopwire::collector

#pragma once
// What the REST handlers answer from: the parts of the collector, given to
// api/ alone (the top of the house). Handlers take a request_ctx — the
// admitted request plus this context — and return an http_reply.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/auth/auth.h"
#include "collector/core/messages.h"
#include "collector/core/meta_gps.h"
#include "collector/core/pipeline.h"
#include "collector/core/sources.h"
#include "collector/core/stats.h"
#include "collector/net/answer_budget.h"
#include "collector/net/net_stats.h"
#include "collector/net/routes.h"
#include "collector/plan/channel_planner.h"

namespace hopwire::collector {

class alert_engine;
class cluster_node;
class device_persister;
class packet_rates;
struct settings;
class event_bus;
class device_tracker;
class pcap_hub;
class packet_log;
class store;

// Pointers, not references, so that the route table can also be built with
// no parts at all, to describe itself (hopwire-collector routes).
struct api_context {
  credential_store* auth = nullptr;
  store* db = nullptr;
  source_registry* sources = nullptr;
  collector_stats* stats = nullptr;
  net_stats* net = nullptr;
  ingest_pipeline* pipeline = nullptr;
  channel_planner* planner = nullptr;
  meta_gps* gps = nullptr;
  answer_budget* answers = nullptr;
  message_bus* messages = nullptr;
  device_tracker* tracker = nullptr;
  alert_engine* alerts = nullptr;  // null: the alert routes answer 503
  device_persister* persister = nullptr;
  event_bus* bus = nullptr;
  pcap_hub* pcap = nullptr;
  packet_log* log = nullptr;  // null when the packet log is off
  packet_rates* rates = nullptr;  // Kismet's packet and channel rings; null: those routes answer 503
  cluster_node* cluster = nullptr;  // cluster mode only (docs/cluster.md)
  const settings* cfg = nullptr;  // what the collector was started with (datasource defaults)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::uint64_t started_unix = 0;
  // Re-reads the fleet file; returns the errors (empty: applied).
  std::function<std::vector<std::string>()> reload;
};

struct request_ctx : request {
  request_ctx(api_context& api, request&& r) : request(std::move(r)), svc(api) {}
  api_context& svc;
};

using api_handler = std::function<http_reply(request_ctx&)>;

// Adds a GET/POST route whose handler sees the context.
void add_route(route_table& t, api_context& api, std::string method, std::string pattern, role_mask roles,
               std::string summary, api_handler fn, std::size_t body_limit = 0);

// The JSON text of a command: the raw body, or Kismet's form field json=
// (application/x-www-form-urlencoded). Empty when a form body has no json=.
std::optional<std::string> command_text(const request_ctx& ctx);
// The sentence for a form body without json=.
inline constexpr std::string_view kNoJsonField =
    "the form body has no json= field: send the command as json=<JSON object>, or as a raw JSON body";

inline constexpr role_mask kReadRole = mask(role::readonly);
inline constexpr role_mask kAdminOnly = 0;  // admin may always
inline constexpr std::size_t kCommandLimit = 64 * 1024;

}  // namespace hopwire::collector

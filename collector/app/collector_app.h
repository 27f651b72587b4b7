#pragma once
// The running collector: builds every part from the settings, wires them
// (links feed the ingest pipeline, whose sinks are the tracker, the pcap-ng
// hub and the packet log; the REST routes answer from all of them), opens
// the listeners and runs until SIGINT/SIGTERM.

#include <string>

#include "collector/api/api_context.h"
#include "collector/config/settings.h"
#include "collector/net/message_handler.h"
#include "collector/net/routes.h"

namespace hopwire::collector {

int run_collector(const settings& cfg, const std::string& config_file);

// Every HTTP route: the sensor link's WebSocket and the REST API. With a
// default api_context and no link factory, for describing the table.
route_table collector_routes(api_context& api, message_handler_factory sensor_link,
                             message_handler_factory event_bus);

}  // namespace hopwire::collector

#pragma once
// Live pcap-ng stream routes (Kismet's paths) and /pcap/streams.json.

#include <vector>

#include "collector/rest_api.h"

namespace hopwire::collector {

void add_pcap_routes(std::vector<route>& table);

}  // namespace hopwire::collector

#pragma once
// Kismet's device REST endpoints (/devices/..., /phy/phy80211/clients-of):
// views, last-time polling, lookups by key and MAC, with Kismet's field
// simplification, regex filters, windowing and .json/.itjson/.ekjson output.

#include <vector>

#include "collector/rest_api.h"

namespace hopwire::collector {

// Appends the device routes to the route table.
void add_device_routes(std::vector<route>& table);

}  // namespace hopwire::collector

#pragma once
// Session checks (Kismet's /session/...) and API token management over REST
// (/auth/apikey/..., admin only).

#include <vector>

#include "collector/rest_api.h"

namespace hopwire::collector {

void add_auth_routes(std::vector<route>& table);

}  // namespace hopwire::collector

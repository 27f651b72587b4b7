#pragma once
// Reads the `alerts:` and `known_networks:` keys of the collector's YAML
// file into alerts_config. For settings.cc's key loop:
//
//   } else if (key == "alerts") {
//     parse_alerts_yaml(path, v, out.alerts, errors);
//   } else if (key == "known_networks") {
//     parse_known_networks_yaml(path, v, out.alerts, errors);
//
// Every problem becomes one line in `errors`, "FILE:LINE:COL: what was
// expected", like the rest of the file's errors; what is valid is kept.

#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "collector/config/alerts_config.h"

namespace hopwire::collector {

void parse_alerts_yaml(const std::filesystem::path& path, const YAML::Node& v, alerts_config& out,
                       std::vector<std::string>& errors);
void parse_known_networks_yaml(const std::filesystem::path& path, const YAML::Node& v, alerts_config& out,
                               std::vector<std::string>& errors);

}  // namespace hopwire::collector

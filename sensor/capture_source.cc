#include "capture_source.h"

#include <filesystem>
#include <stdexcept>

#include "sensor/linuxwifi_source.h"
#include "sensor/pcapfile_source.h"

namespace hopwire::sensor {

std::string capture_source::error() const {
  std::lock_guard lock(error_mu_);
  return error_;
}

void capture_source::set_error(std::string e) {
  std::lock_guard lock(error_mu_);
  error_ = std::move(e);
}

std::unique_ptr<capture_source> make_capture_source(const source_definition& def,
                                                    const source_globals& globals) {
  namespace fs = std::filesystem;
  const auto type = def.get("type");
  std::error_code ec;
  const bool is_file = fs::is_regular_file(def.interface(), ec);
  if ((type && *type == "pcapfile") || (!type && is_file)) {
    if (!is_file) throw std::runtime_error("capture file " + def.interface() + " does not exist or is not a file");
    return std::make_unique<pcapfile_source>(def, globals);
  }
  if (type && *type != "linuxwifi")
    throw std::invalid_argument("source type '" + *type + "' is not known (pcapfile or linuxwifi)");
  if (def.interface().find('/') != std::string::npos)
    throw std::runtime_error("source " + def.interface() + ": no such file");
  // An interface name means live capture.
  return std::make_unique<linuxwifi_source>(def, globals);
}

}  // namespace hopwire::sensor

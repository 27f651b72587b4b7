#pragma once
// Virtual GPS receivers fed over REST (/gps/meta/NAME/update.cmd): a phone
// or a vehicle's computer posts its position, and every packet of a source
// defined with metagps=NAME is placed there.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace hopwire::collector {

struct gps_fix {
  double lat = 0, lon = 0, alt = 0, speed = 0;  // degrees, metres, km/h
  bool has_alt = false;
  std::uint64_t updated_ns = 0;  // wall clock
};

class meta_gps {
 public:
  void update(const std::string& name, const gps_fix& fix) {
    std::lock_guard lock(mu_);
    fixes_[name] = fix;
  }
  std::optional<gps_fix> get(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = fixes_.find(name);
    if (it == fixes_.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, gps_fix> all() const {
    std::lock_guard lock(mu_);
    return fixes_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, gps_fix> fixes_;
};

}  // namespace hopwire::collector

#include "collector/track/device_annotations.h"

#include <mutex>

namespace hopwire::collector {

device_annotation* device_annotations::slot(mac_addr mac, std::string& why) {
  auto it = by_mac_.find(mac.v);
  if (it != by_mac_.end()) return &it->second;
  if (by_mac_.size() >= kMaxDevices) {
    why = "names and tags are kept for at most " + std::to_string(kMaxDevices) + " devices";
    return nullptr;
  }
  return &by_mac_[mac.v];
}

void device_annotations::settle(mac_addr mac, const device_annotation& a) {
  if (a.empty()) by_mac_.erase(mac.v);
  count_.store(by_mac_.size(), std::memory_order_relaxed);
}

std::optional<device_annotation> device_annotations::set_name(mac_addr mac, const std::string& name,
                                                              std::string& why) {
  if (name.size() > kMaxTextBytes) {
    why = "username: at most " + std::to_string(kMaxTextBytes) + " bytes";
    return std::nullopt;
  }
  std::unique_lock lock(mu_);
  auto* a = slot(mac, why);
  if (!a) return std::nullopt;
  if (name.empty()) a->username.reset();
  else a->username = name;
  const device_annotation out = *a;
  settle(mac, out);
  return out;
}

std::optional<device_annotation> device_annotations::set_tag(mac_addr mac, const std::string& tag,
                                                             const std::string& value, std::string& why) {
  if (tag.size() > kMaxTextBytes || value.size() > kMaxTextBytes) {
    why = "tagname and tagvalue: at most " + std::to_string(kMaxTextBytes) + " bytes each";
    return std::nullopt;
  }
  std::unique_lock lock(mu_);
  auto* a = slot(mac, why);
  if (!a) return std::nullopt;
  if (value.empty()) {
    a->tags.erase(tag);
  } else if (a->tags.size() >= kMaxTags && !a->tags.count(tag)) {
    why = "a device has at most " + std::to_string(kMaxTags) + " tags";
    settle(mac, *a);
    return std::nullopt;
  } else {
    a->tags[tag] = value;
  }
  const device_annotation out = *a;
  settle(mac, out);
  return out;
}

std::optional<device_annotation> device_annotations::get(mac_addr mac) const {
  std::shared_lock lock(mu_);
  auto it = by_mac_.find(mac.v);
  if (it == by_mac_.end()) return std::nullopt;
  return it->second;
}

void device_annotations::restore(mac_addr mac, device_annotation a) {
  if (a.empty()) return;
  std::unique_lock lock(mu_);
  if (by_mac_.size() >= kMaxDevices && !by_mac_.count(mac.v)) return;
  by_mac_[mac.v] = std::move(a);
  count_.store(by_mac_.size(), std::memory_order_relaxed);
}

}  // namespace hopwire::collector

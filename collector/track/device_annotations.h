#pragma once
// What people say about devices: the name and tags Kismet's set_name.cmd
// and set_tag.cmd give (kismet.device.base.username, .tags). Kept beside
// the tracker's records and off the packet path: a REST command changes
// them, the device JSON reads them, the store keeps them (persist/). Like
// Kismet's, they belong to the MAC and outlive an evicted record.

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/mac_addr.h"

namespace hopwire::collector {

struct device_annotation {
  std::optional<std::string> username;
  std::map<std::string, std::string> tags;
  bool empty() const { return !username && tags.empty(); }
};

class device_annotations {
 public:
  static constexpr std::size_t kMaxDevices = 100000;
  static constexpr std::size_t kMaxTags = 64;       // per device
  static constexpr std::size_t kMaxTextBytes = 1024;  // a name, a tag's name or value

  // An empty name clears it; an empty value removes the tag. Returns the
  // device's annotation after the change (empty: nothing left to keep), or
  // nothing with `why` set when a limit refuses it.
  std::optional<device_annotation> set_name(mac_addr mac, const std::string& name, std::string& why);
  std::optional<device_annotation> set_tag(mac_addr mac, const std::string& tag, const std::string& value,
                                           std::string& why);

  std::optional<device_annotation> get(mac_addr mac) const;
  // Loaded from the store, before the API runs.
  void restore(mac_addr mac, device_annotation a);
  // True when some device has one: lets the device JSON skip the lookup.
  bool any() const { return count_.load(std::memory_order_relaxed) != 0; }
  std::size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  // mu_ held exclusively: the entry for a change, made if allowed.
  device_annotation* slot(mac_addr mac, std::string& why);
  void settle(mac_addr mac, const device_annotation& a);  // drops an empty entry; mu_ held

  mutable std::shared_mutex mu_;
  std::unordered_map<std::uint64_t, device_annotation> by_mac_;
  std::atomic<std::size_t> count_{0};
};

}  // namespace hopwire::collector

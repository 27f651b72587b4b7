#include "collector/alerts/watchlist.h"

#include <algorithm>

#include "collector/alerts/alert_codec.h"

namespace hopwire::collector {

void watch_list::rebuild() {
  auto idx = std::make_shared<watch_index>();
  for (const auto* m : {&configured_, &added_})
    for (const auto& [mask, types] : *m) {
      idx->types[mask.mac.v | std::uint64_t{mask.bits} << 48] |= types;
      if (std::find(idx->bits.begin(), idx->bits.end(), mask.bits) == idx->bits.end()) idx->bits.push_back(mask.bits);
    }
  std::sort(idx->bits.begin(), idx->bits.end(), std::greater<>());
  std::atomic_store(&index_, std::shared_ptr<const watch_index>(std::move(idx)));
}

void watch_list::set_configured(const std::vector<watch_entry>& entries) {
  std::lock_guard lock(mu_);
  configured_.clear();
  for (const auto& e : entries) configured_[e.mac] |= e.types;
  rebuild();
}

void watch_list::load(watchlist_backend& backend, std::vector<std::string>& problems) {
  std::lock_guard lock(mu_);
  backend.load([&](std::string_view key, std::string_view value) {
    watch_entry e;
    std::string why;
    if (!decode_watch(key, value, e, why)) {
      problems.push_back(why);
      return;
    }
    added_[e.mac] |= e.types;
  });
  rebuild();
}

watch_list::result watch_list::add(const mac_mask& mac, std::uint8_t types) {
  if (types == 0 || types > kWatchBoth) return {false, "type must be found, lost or both"};
  std::lock_guard lock(mu_);
  auto& t = added_[mac];
  const auto before = t;
  t |= types;
  if (backend_ && t != before && !backend_->put(encode_watch_key(mac), encode_watch_value({mac, t}))) {
    if (before) t = before;
    else added_.erase(mac);
    return {false, "the watch list could not be stored"};
  }
  rebuild();
  return {};
}

watch_list::result watch_list::remove(const mac_mask& mac, std::uint8_t types) {
  if (types == 0 || types > kWatchBoth) return {false, "type must be found, lost or both"};
  std::lock_guard lock(mu_);
  const auto cfg = configured_.find(mac);
  if (cfg != configured_.end() && (cfg->second & types))
    return {false, mac.str() + " is on the watch list in the configuration file; remove it there"};
  const auto it = added_.find(mac);
  if (it == added_.end()) return {};
  const std::uint8_t left = it->second & ~types;
  bool stored;
  if (left) stored = !backend_ || backend_->put(encode_watch_key(mac), encode_watch_value({mac, left}));
  else stored = !backend_ || backend_->erase(encode_watch_key(mac));
  if (!stored) return {false, "the watch list could not be stored"};
  if (left) it->second = left;
  else added_.erase(it);
  rebuild();
  return {};
}

std::vector<watch_entry> watch_list::list(std::uint8_t types) const {
  std::lock_guard lock(mu_);
  std::map<mac_mask, std::uint8_t> all = configured_;
  for (const auto& [m, t] : added_) all[m] |= t;
  std::vector<watch_entry> out;
  for (const auto& [m, t] : all)
    if (t & types) out.push_back({m, t});
  return out;
}

}  // namespace hopwire::collector

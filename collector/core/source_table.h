#pragma once
// The numbering of sources within one run: a small index per source UUID,
// which seen-by entries and the tracker use instead of the UUID. Indexes
// are never reused; the stored form of a device names sources by UUID.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace hopwire::collector {

class source_table {
 public:
  struct entry {
    std::string uuid, name;
  };

  // The index of `uuid`, made on first sight; a non-empty name replaces the
  // one known.
  std::uint32_t index_of(const std::string& uuid, const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = by_uuid_.find(uuid);
    if (it != by_uuid_.end()) {
      if (!name.empty()) entries_[it->second].name = name;
      return it->second;
    }
    const auto idx = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back({uuid, name});
    by_uuid_.emplace(uuid, idx);
    return idx;
  }

  entry get(std::uint32_t index) const {
    std::lock_guard lock(mu_);
    return index < entries_.size() ? entries_[index] : entry{};
  }

 private:
  mutable std::mutex mu_;
  std::vector<entry> entries_;
  std::unordered_map<std::string, std::uint32_t> by_uuid_;
};

}  // namespace hopwire::collector

#pragma once
// A fixed-size table of detector state keyed by a 64-bit key (a MAC, or a
// hash of several): set-associative, `Ways` slots per set, the least
// recently used slot of a full set replaced. All memory is allocated at
// construction, so a flood of new keys (random BSSIDs) costs no allocation
// and cannot grow it. A lookup reads one set's keys (one cache line for 8
// ways: keys, use clocks and values are kept apart) and then one value.
// Not thread-safe: the engine shards tables and locks each shard.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hopwire::collector {

template <typename V, std::size_t Ways = 8>
class lru_table {
 public:
  // Room for at least `capacity` entries (rounded up to whole sets).
  explicit lru_table(std::size_t capacity) {
    std::size_t sets = 1;
    while (sets * Ways < capacity) sets <<= 1;
    mask_ = sets - 1;
    keys_.resize(sets * Ways);
    used_.resize(sets * Ways);
    values_.resize(sets * Ways);
  }

  // Starts loading the set `key` falls in (its keys and use clocks), for a
  // lookup a little later.
  void prefetch(std::uint64_t key) const {
    const std::size_t base = set_of(key);
    __builtin_prefetch(&keys_[base]);
    __builtin_prefetch(&used_[base]);
  }

  // The entry for `key`, or null.
  V* find(std::uint64_t key) {
    const std::size_t base = set_of(key);
    for (std::size_t i = base; i < base + Ways; ++i)
      if (keys_[i] == key && used_[i]) {
        used_[i] = ++clock_;
        return &values_[i];
      }
    return nullptr;
  }

  // The entry for `key`, made (value-initialised) if absent; `fresh` says
  // which. A full set gives up its least recently used entry.
  V& get(std::uint64_t key, bool& fresh) {
    const std::size_t base = set_of(key);
    std::size_t victim = base;
    for (std::size_t i = base; i < base + Ways; ++i) {
      if (keys_[i] == key && used_[i]) {
        used_[i] = ++clock_;
        fresh = false;
        return values_[i];
      }
      if (used_[i] < used_[victim]) victim = i;
    }
    if (used_[victim]) ++evictions_;
    else ++size_;
    keys_[victim] = key;
    used_[victim] = ++clock_;
    values_[victim] = V{};
    fresh = true;
    return values_[victim];
  }

  void erase(std::uint64_t key) {
    const std::size_t base = set_of(key);
    for (std::size_t i = base; i < base + Ways; ++i)
      if (keys_[i] == key && used_[i]) {
        used_[i] = 0;
        --size_;
      }
  }

  template <typename Fn>
  void for_each(Fn&& fn) {
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (used_[i]) fn(keys_[i], values_[i]);
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return keys_.size(); }
  std::uint64_t evictions() const { return evictions_; }

 private:
  std::size_t set_of(std::uint64_t key) const {
    // Fibonacci hashing spreads MACs that differ only in the low bits.
    const std::uint64_t h = (key * 0x9e3779b97f4a7c15ull) >> 20;
    return static_cast<std::size_t>(h & mask_) * Ways;
  }

  std::vector<std::uint64_t> keys_;
  std::vector<std::uint64_t> used_;  // 0: empty; else the clock of its last use
  std::vector<V> values_;
  std::size_t mask_ = 0;
  std::uint64_t clock_ = 0;
  std::size_t size_ = 0;
  std::uint64_t evictions_ = 0;
};

}  // namespace hopwire::collector

#pragma once
// An open-addressing hash table from MAC to device pointer: one cache line
// touched per lookup instead of a node chase. Linear probing, deletion by
// backward shift (no tombstones), grows at half load.

#include <cstdint>
#include <vector>

namespace hopwire::collector {

template <typename T>
class mac_index {
 public:
  T* find(std::uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == kEmpty) return nullptr;
    }
  }
  void insert(std::uint64_t key, T* value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::size_t i = home(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    if (slots_[i].key == kEmpty) ++size_;
    slots_[i] = {key, value};
  }
  void erase(std::uint64_t key) {
    if (slots_.empty()) return;
    std::size_t i = home(key);
    while (slots_[i].key != key) {
      if (slots_[i].key == kEmpty) return;
      i = (i + 1) & mask_;
    }
    // Shift later members of the probe run back into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; slots_[j].key != kEmpty; j = (j + 1) & mask_) {
      const std::size_t h = home(slots_[j].key);
      // Move j into the hole if its home is not in (hole, j] cyclically.
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = {kEmpty, nullptr};
    --size_;
  }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  struct slot {
    std::uint64_t key = kEmpty;
    T* value = nullptr;
  };
  std::size_t home(std::uint64_t key) const {
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 32;
    return static_cast<std::size_t>(key) & mask_;
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const auto& s : old)
      if (s.key != kEmpty) insert(s.key, s.value);
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace hopwire::collector

#pragma once
// An open-addressing hash table from a MAC to the position of its device in
// the shard's device vector, 8 bytes a slot: a 32-bit hash of the MAC and
// the position. The hash gives the home slot too, so the table regrows and
// shifts entries without the MACs. A hash match is confirmed against the
// device's own MAC (`key_of(pos)`): one load more per lookup than a table
// of pointers, for half its memory (17 bytes a device at a million, not
// 34). Linear probing, deletion by backward shift (no tombstones), grows at
// half load.

#include <cstdint>
#include <vector>

namespace hopwire::collector {

class mac_index {
 public:
  static constexpr std::uint32_t npos = ~std::uint32_t{0};

  // The position stored for `key`, or npos. `key_of(pos)` returns the key
  // of the entry at a position (the device's MAC).
  template <typename KeyOf>
  std::uint32_t find(std::uint64_t key, KeyOf&& key_of) const {
    if (slots_.empty()) return npos;
    const std::uint32_t h = hash(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.pos == npos) return npos;
      if (s.hash == h && key_of(s.pos) == key) return s.pos;
    }
  }
  // Adds `key` at `pos`; the caller knows `key` is not in the table.
  void insert(std::uint64_t key, std::uint32_t pos) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(hash(key), pos);
    ++size_;
  }
  // Removes `key`, stored at `pos`.
  void erase(std::uint64_t key, std::uint32_t pos) {
    std::size_t i = locate(key, pos);
    if (i == kNone) return;
    // Shift later members of the probe run back into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; slots_[j].pos != npos; j = (j + 1) & mask_) {
      const std::size_t h = slots_[j].hash & mask_;
      // Move j into the hole if its home is not in (hole, j] cyclically.
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = slot{};
    --size_;
  }
  // `key`'s entry moved from position `from` to `to` in the device vector.
  void move(std::uint64_t key, std::uint32_t from, std::uint32_t to) {
    if (const std::size_t i = locate(key, from); i != kNone) slots_[i].pos = to;
  }
  std::size_t size() const { return size_; }

  // The 32-bit hash kept per slot; its low bits pick the home slot.
  static std::uint32_t hash(std::uint64_t key) {
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 32;
    return static_cast<std::uint32_t>(key);
  }

 private:
  static constexpr std::size_t kNone = ~std::size_t{0};
  struct slot {
    std::uint32_t hash = 0;
    std::uint32_t pos = npos;
  };
  // The slot holding `key` at `pos` (the pair is unique), or kNone.
  std::size_t locate(std::uint64_t key, std::uint32_t pos) const {
    if (slots_.empty()) return kNone;
    const std::uint32_t h = hash(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].pos == npos) return kNone;
      if (slots_[i].pos == pos && slots_[i].hash == h) return i;
    }
  }
  void place(std::uint32_t h, std::uint32_t pos) {
    std::size_t i = h & mask_;
    while (slots_[i].pos != npos) i = (i + 1) & mask_;
    slots_[i] = {h, pos};
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, slot{});
    mask_ = slots_.size() - 1;
    for (const auto& s : old)
      if (s.pos != npos) place(s.hash, s.pos);
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace hopwire::collector

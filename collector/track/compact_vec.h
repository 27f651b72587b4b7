#pragma once
// A vector for the short lists a device holds (seen-by, SSIDs, peers):
// 16 bytes instead of std::vector's 24 (32-bit size and capacity beside the
// pointer), and growth by half again instead of doubling, so a list of 19
// peers holds 19 slots, not 32. A tracker holds seven of these per device
// and a million devices, where both savings count. The interface is the
// part of std::vector the tracker uses; iterators are plain pointers.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace hopwire::collector {

template <typename T>
class compact_vec {
 public:
  using value_type = T;
  using size_type = std::uint32_t;
  using iterator = T*;
  using const_iterator = const T*;

  compact_vec() = default;
  compact_vec(const compact_vec& o) {
    reserve(o.n_);
    std::uninitialized_copy(o.begin(), o.end(), p_);
    n_ = o.n_;
  }
  compact_vec(compact_vec&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)), cap_(std::exchange(o.cap_, 0)) {}
  compact_vec& operator=(const compact_vec& o) {
    if (this != &o) compact_vec(o).swap(*this);
    return *this;
  }
  compact_vec& operator=(compact_vec&& o) noexcept {
    compact_vec(std::move(o)).swap(*this);
    return *this;
  }
  ~compact_vec() {
    clear();
    release(p_, cap_);
  }
  void swap(compact_vec& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(cap_, o.cap_);
  }

  std::size_t size() const { return n_; }
  std::size_t capacity() const { return cap_; }
  bool empty() const { return n_ == 0; }
  T* data() { return p_; }
  const T* data() const { return p_; }
  T* begin() { return p_; }
  T* end() { return p_ + n_; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + n_; }
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }
  T& front() { return p_[0]; }
  const T& front() const { return p_[0]; }
  T& back() { return p_[n_ - 1]; }
  const T& back() const { return p_[n_ - 1]; }

  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  template <typename... A>
  T& emplace_back(A&&... a) {
    if (n_ == cap_) {
      // Built aside first: `a` may refer to an element about to move.
      T v(std::forward<A>(a)...);
      relocate(cap_ + std::max<size_type>(1, cap_ / 2));  // 1 2 3 4 6 9 13 19 28 ...
      return *::new (static_cast<void*>(p_ + n_++)) T(std::move(v));
    }
    return *::new (static_cast<void*>(p_ + n_++)) T(std::forward<A>(a)...);
  }
  void pop_back() { std::destroy_at(p_ + --n_); }

  T* erase(T* first, T* last) {
    if (first == last) return first;
    T* new_end = std::move(last, end(), first);
    std::destroy(new_end, end());
    n_ = static_cast<size_type>(new_end - p_);
    return first;
  }
  T* erase(T* pos) { return erase(pos, pos + 1); }
  void clear() {
    std::destroy(begin(), end());
    n_ = 0;
  }
  void reserve(std::size_t n) {
    if (n > cap_) relocate(n);
  }
  // Value-initialised elements added, or the tail destroyed; capacity is
  // exact when growing (a decoded record knows its size).
  void resize(std::size_t n) {
    if (n < n_) {
      erase(p_ + n, end());
      return;
    }
    reserve(n);
    std::uninitialized_value_construct(end(), p_ + n);
    n_ = static_cast<size_type>(n);
  }

 private:
  static void release(T* p, size_type cap) {
    if (p) std::allocator<T>().deallocate(p, cap);
  }
  void relocate(std::size_t cap) {
    T* q = std::allocator<T>().allocate(cap);
    std::uninitialized_move(begin(), end(), q);
    std::destroy(begin(), end());
    release(p_, cap_);
    p_ = q;
    cap_ = static_cast<size_type>(cap);
  }

  T* p_ = nullptr;
  size_type n_ = 0, cap_ = 0;
};

}  // namespace hopwire::collector

#pragma once
// A vector for the short lists a device holds (seen-by, SSIDs, peers):
// 16 bytes instead of std::vector's 24 (32-bit size and capacity beside the
// pointer), and growth by half again instead of doubling, so a list of 19
// peers holds 19 slots, not 32. A tracker holds seven of these per device
// and a million devices, where both savings count. The interface is the
// part of std::vector the tracker uses; iterators are plain pointers.
//
// compact_vec<T, 1> keeps its first element inside itself, where the
// pointer would be (the object is then sizeof(T) + 8 bytes): the seen-by
// list of a device that one sensor hears, most of them, costs no heap
// block. Unlike std::vector, moving such a list moves its element: pointers
// into it do not survive a move of the list.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace hopwire::collector {

template <typename T, std::size_t Inline = 0>
class compact_vec {
  static_assert(Inline <= 1, "compact_vec keeps at most one element inline");

 public:
  using value_type = T;
  using size_type = std::uint32_t;
  using iterator = T*;
  using const_iterator = const T*;

  compact_vec() = default;
  compact_vec(const compact_vec& o) {
    reserve(o.n_);
    std::uninitialized_copy(o.begin(), o.end(), data());
    n_ = o.n_;
  }
  compact_vec(compact_vec&& o) noexcept { take(o); }
  compact_vec& operator=(const compact_vec& o) {
    if (this != &o) *this = compact_vec(o);
    return *this;
  }
  compact_vec& operator=(compact_vec&& o) noexcept {
    if (this != &o) {
      drop();
      take(o);
    }
    return *this;
  }
  ~compact_vec() { drop(); }

  std::size_t size() const { return n_; }
  std::size_t capacity() const { return cap_; }
  bool empty() const { return n_ == 0; }
  T* data() {
    if constexpr (Inline > 0) return on_heap() ? s_.heap : s_.local();
    return s_.heap;
  }
  const T* data() const {
    if constexpr (Inline > 0) return on_heap() ? s_.heap : s_.local();
    return s_.heap;
  }
  T* begin() { return data(); }
  T* end() { return data() + n_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + n_; }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  T& front() { return data()[0]; }
  const T& front() const { return data()[0]; }
  T& back() { return data()[n_ - 1]; }
  const T& back() const { return data()[n_ - 1]; }

  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  template <typename... A>
  T& emplace_back(A&&... a) {
    if (n_ == cap_) {
      // Built aside first: `a` may refer to an element about to move.
      T v(std::forward<A>(a)...);
      relocate(cap_ + std::max<size_type>(1, cap_ / 2));  // 1 2 3 4 6 9 13 19 28 ...
      return *::new (static_cast<void*>(data() + n_++)) T(std::move(v));
    }
    return *::new (static_cast<void*>(data() + n_++)) T(std::forward<A>(a)...);
  }
  void pop_back() { std::destroy_at(data() + --n_); }

  T* erase(T* first, T* last) {
    if (first == last) return first;
    T* new_end = std::move(last, end(), first);
    std::destroy(new_end, end());
    n_ = static_cast<size_type>(new_end - data());
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
      erase(data() + n, end());
      return;
    }
    reserve(n);
    std::uninitialized_value_construct(end(), data() + n);
    n_ = static_cast<size_type>(n);
  }

 private:
  // The heap pointer, or (Inline == 1, capacity 1) the element itself.
  union storage {
    storage() : heap(nullptr) {}
    ~storage() {}
    T* local() { return reinterpret_cast<T*>(bytes); }
    const T* local() const { return reinterpret_cast<const T*>(bytes); }
    T* heap;
    alignas(T) unsigned char bytes[Inline ? sizeof(T) : 1];
  };

  bool on_heap() const { return cap_ > Inline; }
  // Destroys the elements and gives back the heap block; leaves it empty.
  void drop() {
    clear();
    if (on_heap()) std::allocator<T>().deallocate(s_.heap, cap_);
    s_.heap = nullptr;
    cap_ = Inline;
  }
  // Takes o's elements (its block, or a move of its inline element); o is
  // left empty. This one is empty.
  void take(compact_vec& o) noexcept {
    if (o.on_heap()) {
      s_.heap = std::exchange(o.s_.heap, nullptr);
      n_ = std::exchange(o.n_, 0);
      cap_ = std::exchange(o.cap_, Inline);
      return;
    }
    if constexpr (Inline > 0) {
      if (o.n_) {
        ::new (static_cast<void*>(s_.local())) T(std::move(*o.s_.local()));
        n_ = 1;
        o.clear();
      }
    }
  }
  void relocate(std::size_t cap) {
    T* q = std::allocator<T>().allocate(cap);
    std::uninitialized_move(begin(), end(), q);
    std::destroy(begin(), end());
    if (on_heap()) std::allocator<T>().deallocate(s_.heap, cap_);
    s_.heap = q;
    cap_ = static_cast<size_type>(cap);
  }

  storage s_;
  size_type n_ = 0, cap_ = Inline;
};

}  // namespace hopwire::collector

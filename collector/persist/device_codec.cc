#include "collector/persist/device_codec.h"

#include <cstring>
#include <type_traits>

#include "collector/track/device_fields.h"

namespace hopwire::collector {

namespace {

// Writes the fields device_fields.h lists, little-endian, in its order.
class writer {
 public:
  writer(std::string& out, const source_uuid_of& uuid_of) : o_(out), uuid_of_(uuid_of) {}
  template <typename T>
  void num(const char*, T v) {
    static_assert(std::is_arithmetic_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86, ARM, MIPSel); see decode
    o_.append(b, sizeof(T));
  }
  void flag(const char* n, bool v) { num(n, static_cast<std::uint8_t>(v)); }
  void mac(const char* n, mac_addr m) { num(n, m.v); }
  void str(const char*, std::string_view s) {
    num("", static_cast<std::uint32_t>(s.size()));
    o_.append(s);
  }
  void signal(const char*, const signal_stats& s) {
    num("", s.last), num("", s.min), num("", s.max), num("", static_cast<std::uint8_t>(s.valid));
  }
  void source(const char* n, std::uint32_t index) { str(n, uuid_of_(index)); }
  template <typename T, std::size_t N, typename Fn>
  void list(const char*, const compact_vec<T, N>& v, std::size_t, Fn&& fn) {
    num("", static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) fn(*this, e);
  }
  template <typename T, typename Fn>
  void optional(const char*, const detail_ptr<T>& p, Fn&& fn) {
    num("", static_cast<std::uint8_t>(p ? 1 : 0));
    if (p) fn(*this, *p);
  }

 private:
  std::string& o_;
  const source_uuid_of& uuid_of_;
};

// Reads them back, every read bounds-checked; the first failure sticks.
class reader {
 public:
  reader(std::string_view in, const source_index_of& index_of) : in_(in), index_of_(index_of) {}
  template <typename T>
  bool num(const char*, T& v) {
    if (!ok_ || in_.size() - pos_ < sizeof(T)) return ok_ = false;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  void flag(const char*, bool& v) {
    std::uint8_t b = 0;
    num("", b);
    v = b != 0;
  }
  void mac(const char*, mac_addr& m) { num("", m.v); }
  void str(const char*, std::string& s) {
    std::uint32_t n = 0;
    if (!num("", n) || in_.size() - pos_ < n) {
      ok_ = false;
      return;
    }
    s.assign(in_.data() + pos_, n);
    pos_ += n;
  }
  void signal(const char*, signal_stats& s) {
    std::uint8_t valid = 0;
    num("", s.last), num("", s.min), num("", s.max), num("", valid);
    s.valid = valid;
  }
  void source(const char*, std::uint32_t& index) {
    std::string uuid;
    str("", uuid);
    if (ok_) index = index_of_(uuid);
  }
  // A count of entries is refused if the record cannot possibly hold them.
  template <typename T, std::size_t N, typename Fn>
  void list(const char*, compact_vec<T, N>& v, std::size_t min_entry_bytes, Fn&& fn) {
    std::uint32_t n = 0;
    if (!num("", n)) return;
    if (static_cast<std::uint64_t>(n) * min_entry_bytes > in_.size() - pos_) {
      ok_ = false;
      return;
    }
    v.resize(n);
    for (auto& e : v) {
      if (!ok_) return;
      fn(*this, e);
    }
  }
  template <typename T, typename Fn>
  void optional(const char*, detail_ptr<T>& p, Fn&& fn) {
    std::uint8_t has = 0;
    if (!num("", has)) return;
    if (has) fn(*this, p.emplace());
  }
  bool done() const { return ok_ && pos_ == in_.size(); }

 private:
  std::string_view in_;
  const source_index_of& index_of_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

void encode_device(const device& d, const source_uuid_of& uuid_of, std::string& out) {
  writer w(out, uuid_of);
  w.num("version", kDeviceRecordVersion);
  visit_device(w, d);
}

bool decode_device(std::string_view record, device& d, const source_index_of& index_of) {
  reader r(record, index_of);
  std::uint8_t version = 0;
  if (!r.num("version", version) || version != kDeviceRecordVersion) return false;
  visit_device(r, d);
  return r.done();
}

}  // namespace hopwire::collector

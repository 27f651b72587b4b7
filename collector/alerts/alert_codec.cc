#include "collector/alerts/alert_codec.h"

#include <cstring>

namespace hopwire::collector {

namespace {

class writer {
 public:
  explicit writer(std::string& s) : s_(s) {}
  void u8(std::uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i16(std::int16_t v) { u16(static_cast<std::uint16_t>(v)); }
  void f64(double d) {
    std::uint64_t v;
    std::memcpy(&v, &d, 8);
    u64(v);
  }
  void str(std::string_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    s_.append(v.data(), v.size());
  }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s_.push_back(static_cast<char>(v >> (8 * i)));
  }
  std::string& s_;
};

// Every read checks the remaining length first; after a failure all reads
// return zero and ok() stays false.
class reader {
 public:
  explicit reader(std::string_view s) : s_(s) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == s_.size(); }
  const char* error() const { return err_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1, "u8")); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2, "u16")); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4, "u32")); }
  std::uint64_t u64() { return get(8, "u64"); }
  std::int16_t i16() { return static_cast<std::int16_t>(u16()); }
  bool b() {
    const auto v = u8();
    if (v > 1) fail("a flag is neither 0 nor 1");
    return v == 1;
  }
  double f64() {
    const std::uint64_t v = u64();
    double d;
    std::memcpy(&d, &v, 8);
    return d;
  }
  std::string str(std::size_t max) {
    const std::uint32_t n = u32();
    if (!ok_) return {};
    if (n > max) {
      fail("a string is longer than its limit");
      return {};
    }
    if (s_.size() - pos_ < n) {
      fail("a string runs past the end of the record");
      return {};
    }
    std::string out(s_.substr(pos_, n));
    pos_ += n;
    return out;
  }
  void fail(const char* why) {
    if (ok_) err_ = why;
    ok_ = false;
  }

 private:
  std::uint64_t get(std::size_t n, const char*) {
    if (!ok_) return 0;
    if (s_.size() - pos_ < n) {
      fail("the record is cut short");
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(s_[pos_ + i])} << (8 * i);
    pos_ += n;
    return v;
  }
  std::string_view s_;
  std::size_t pos_ = 0;
  bool ok_ = true;
  const char* err_ = "";
};

}  // namespace

std::string encode_alert(const alert& a) {
  std::string s;
  s.reserve(256 + a.text.size() + a.seenby.size() * 96);
  writer w(s);
  w.u8(kAlertRecordVersion);
  w.u64(a.id);
  w.str(a.header);
  w.str(a.alert_class);
  w.u8(a.severity);
  w.u32(a.phy);
  w.u64(a.ts_ns);
  w.u64(a.transmitter.v);
  w.u64(a.source.v);
  w.u64(a.dest.v);
  w.u64(a.other.v);
  w.str(a.channel);
  w.u32(a.freq_khz);
  w.str(a.text.size() > kMaxAlertText ? std::string_view(a.text).substr(0, kMaxAlertText) : std::string_view(a.text));
  w.u8(a.location.valid);
  w.f64(a.location.lat);
  w.f64(a.location.lon);
  w.f64(a.location.alt);
  w.u8(a.location.has_alt);
  w.u64(a.location.time_ns);
  w.u8(a.has_device);
  w.u64(a.device.v);
  w.u32(a.hash);
  w.u64(a.count);
  w.u64(a.last_ns);
  w.u8(a.acknowledged);
  w.str(a.acknowledged_by);
  w.u64(a.acknowledged_ns);
  const std::size_t n = std::min(a.seenby.size(), kMaxAlertSeenby);
  w.u16(static_cast<std::uint16_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = a.seenby[i];
    w.str(e.uuid);
    w.str(e.name);
    w.u64(e.packets);
    w.i16(e.signal_last);
    w.i16(e.signal_min);
    w.i16(e.signal_max);
    w.u8(e.has_signal);
    w.u64(e.first_ns);
    w.u64(e.last_ns);
  }
  return s;
}

bool decode_alert(std::string_view record, alert& out, std::string& why) {
  reader r(record);
  const auto version = r.u8();
  if (r.ok() && version != kAlertRecordVersion) {
    why = "alert record version " + std::to_string(version) + " is not one this collector reads (" +
          std::to_string(kAlertRecordVersion) + ")";
    return false;
  }
  alert a;
  a.id = r.u64();
  a.header = r.str(kMaxAlertString);
  a.alert_class = r.str(kMaxAlertString);
  a.severity = r.u8();
  a.phy = r.u32();
  a.ts_ns = r.u64();
  a.transmitter.v = r.u64();
  a.source.v = r.u64();
  a.dest.v = r.u64();
  a.other.v = r.u64();
  a.channel = r.str(kMaxAlertString);
  a.freq_khz = r.u32();
  a.text = r.str(kMaxAlertText);
  a.location.valid = r.b();
  a.location.lat = r.f64();
  a.location.lon = r.f64();
  a.location.alt = r.f64();
  a.location.has_alt = r.b();
  a.location.time_ns = r.u64();
  a.has_device = r.b();
  a.device.v = r.u64();
  a.hash = r.u32();
  a.count = r.u64();
  a.last_ns = r.u64();
  a.acknowledged = r.b();
  a.acknowledged_by = r.str(kMaxAlertString);
  a.acknowledged_ns = r.u64();
  const std::uint16_t n = r.u16();
  if (r.ok() && n > kMaxAlertSeenby) r.fail("more seen-by entries than the limit");
  for (std::uint16_t i = 0; r.ok() && i < n; ++i) {
    alert_seenby e;
    e.uuid = r.str(kMaxAlertString);
    e.name = r.str(kMaxAlertString);
    e.packets = r.u64();
    e.signal_last = r.i16();
    e.signal_min = r.i16();
    e.signal_max = r.i16();
    e.has_signal = r.b();
    e.first_ns = r.u64();
    e.last_ns = r.u64();
    a.seenby.push_back(std::move(e));
  }
  constexpr std::uint64_t kMacLimit = 1ull << 48;
  if (r.ok() && (a.transmitter.v >= kMacLimit || a.source.v >= kMacLimit || a.dest.v >= kMacLimit ||
                 a.other.v >= kMacLimit || a.device.v >= kMacLimit))
    r.fail("a MAC address has more than 48 bits");
  if (r.ok() && !r.done()) r.fail("bytes after the end of the record");
  if (r.ok() && a.id == 0) r.fail("alert id 0");
  if (!r.ok()) {
    why = std::string("damaged alert record: ") + r.error();
    return false;
  }
  out = std::move(a);
  return true;
}

std::string encode_watch_key(const mac_mask& m) {
  std::string k(7, '\0');
  for (int i = 0; i < 6; ++i) k[i] = static_cast<char>(m.mac.octet(i));
  k[6] = static_cast<char>(m.bits);
  return k;
}

std::string encode_watch_value(const watch_entry& e) {
  std::string v(2, '\0');
  v[0] = static_cast<char>(kAlertRecordVersion);
  v[1] = static_cast<char>(e.types);
  return v;
}

bool decode_watch(std::string_view key, std::string_view value, watch_entry& out, std::string& why) {
  if (key.size() != 7) {
    why = "damaged watch-list key: expected 7 bytes, got " + std::to_string(key.size());
    return false;
  }
  if (value.size() != 2 || static_cast<std::uint8_t>(value[0]) != kAlertRecordVersion) {
    why = "damaged or newer watch-list entry";
    return false;
  }
  const auto bits = static_cast<std::uint8_t>(key[6]);
  const auto types = static_cast<std::uint8_t>(value[1]);
  if (bits < 1 || bits > 48 || types < 1 || types > kWatchBoth) {
    why = "damaged watch-list entry: mask or type out of range";
    return false;
  }
  watch_entry e;
  e.mac.mac = mac_addr::from_bytes(reinterpret_cast<const std::uint8_t*>(key.data()));
  e.mac.bits = bits;
  e.mac.mac.v &= e.mac.mask();
  e.types = types;
  out = e;
  return true;
}

}  // namespace hopwire::collector

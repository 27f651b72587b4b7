#include "collector/link/kismet_frame.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <utility>

namespace hopwire::collector::kismet {

namespace {

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}
void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

// ---- The msgpack reader ------------------------------------------------------

enum class kind : std::uint8_t { nil, boolean, uint, sint, f32, f64, str, bin, ext, array, map };

// One value's head. Integers of every width land in `u` (kind::uint, any
// value >= 0, whatever its encoding) or `i` (kind::sint, negative only).
struct value {
  kind k = kind::nil;
  std::uint64_t u = 0;  // uint value; element count of an array, entry count of a map
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
  std::span<const std::uint8_t> bytes;  // str, bin, ext data
};

bool is_container(const value& v) { return v.k == kind::array || v.k == kind::map; }

// Deepest nesting the reader supports, whatever limits ask: skip()'s stack.
constexpr unsigned kHardMaxDepth = 32;

class reader {
 public:
  reader(std::span<const std::uint8_t> in, const limits& lim)
      : p_(in.data()), end_(in.data() + in.size()),
        max_depth_(std::min(lim.max_depth, kHardMaxDepth)), max_elements_(lim.max_elements) {}

  bool at_end() const { return p_ == end_; }

  // Reads the head of the next value; a container's elements follow it.
  // `depth` is the depth a container read here would have.
  decode_status next(value& v, unsigned depth) {
    if (++elements_ > max_elements_) return decode_status::too_many_elements;
    if (p_ == end_) return decode_status::truncated;
    const std::uint8_t b = *p_++;
    v = value{};
    if (b <= 0x7f) return uint_value(v, b);
    if (b >= 0xe0) return sint_value(v, static_cast<std::int8_t>(b));
    if (b <= 0x8f) return container(v, kind::map, b & 0x0f, depth);
    if (b <= 0x9f) return container(v, kind::array, b & 0x0f, depth);
    if (b <= 0xbf) return data(v, kind::str, b & 0x1f);
    std::uint64_t x = 0;
    switch (b) {
      case 0xc0: v.k = kind::nil; return decode_status::ok;
      case 0xc1: return decode_status::reserved_byte;
      case 0xc2: case 0xc3: v.k = kind::boolean; v.b = b == 0xc3; return decode_status::ok;
      case 0xc4: case 0xc5: case 0xc6:
        if (!get(std::size_t{1} << (b - 0xc4), x)) return decode_status::truncated;
        return data(v, kind::bin, x);
      case 0xc7: case 0xc8: case 0xc9:
        if (!get(std::size_t{1} << (b - 0xc7), x)) return decode_status::truncated;
        return data(v, kind::ext, x + 1);  // the type byte, then the data
      case 0xca:
        if (!get(4, x)) return decode_status::truncated;
        v.k = kind::f32;
        v.d = std::bit_cast<float>(static_cast<std::uint32_t>(x));
        return decode_status::ok;
      case 0xcb:
        if (!get(8, x)) return decode_status::truncated;
        v.k = kind::f64;
        v.d = std::bit_cast<double>(x);
        return decode_status::ok;
      case 0xcc: case 0xcd: case 0xce: case 0xcf:
        if (!get(std::size_t{1} << (b - 0xcc), x)) return decode_status::truncated;
        return uint_value(v, x);
      case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        const std::size_t n = std::size_t{1} << (b - 0xd0);
        if (!get(n, x)) return decode_status::truncated;
        // Sign-extend from n bytes.
        const unsigned shift = 64 - 8 * static_cast<unsigned>(n);
        return sint_value(v, static_cast<std::int64_t>(x << shift) >> shift);
      }
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        return data(v, kind::ext, 1 + (std::size_t{1} << (b - 0xd4)));
      case 0xd9: case 0xda: case 0xdb:
        if (!get(std::size_t{1} << (b - 0xd9), x)) return decode_status::truncated;
        return data(v, kind::str, x);
      case 0xdc: case 0xdd:
        if (!get(b == 0xdc ? 2 : 4, x)) return decode_status::truncated;
        return container(v, kind::array, x, depth);
      default:  // 0xde, 0xdf
        if (!get(b == 0xde ? 2 : 4, x)) return decode_status::truncated;
        return container(v, kind::map, x, depth);
    }
  }

  // Skips the elements of `v` (nothing, unless it is a container read at
  // `depth`). Iterative: nesting costs a counter, not a stack frame.
  decode_status skip_rest(const value& v, unsigned depth) {
    if (!is_container(v)) return decode_status::ok;
    std::uint64_t left[kHardMaxDepth + 1];
    unsigned top = 0;
    left[0] = elements_of(v);
    for (;;) {
      while (left[top] == 0) {
        if (top == 0) return decode_status::ok;
        --top;
      }
      --left[top];
      value c;
      // next() refuses a container deeper than max_depth_ (<= kHardMaxDepth),
      // so `top` stays inside `left`.
      if (auto s = next(c, depth + top + 1); s != decode_status::ok) return s;
      if (is_container(c)) left[++top] = elements_of(c);
    }
  }

  decode_status skip(unsigned depth) {
    value v;
    if (auto s = next(v, depth); s != decode_status::ok) return s;
    return skip_rest(v, depth);
  }

 private:
  static std::uint64_t elements_of(const value& v) { return v.k == kind::map ? 2 * v.u : v.u; }

  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }

  bool get(std::size_t n, std::uint64_t& x) {
    if (left() < n) return false;
    x = 0;
    for (std::size_t i = 0; i < n; ++i) x = x << 8 | *p_++;
    return true;
  }
  static decode_status uint_value(value& v, std::uint64_t x) {
    v.k = kind::uint;
    v.u = x;
    return decode_status::ok;
  }
  static decode_status sint_value(value& v, std::int64_t x) {
    if (x >= 0) return uint_value(v, static_cast<std::uint64_t>(x));
    v.k = kind::sint;
    v.i = x;
    return decode_status::ok;
  }
  decode_status data(value& v, kind k, std::uint64_t n) {
    if (n > left()) return decode_status::truncated;
    v.k = k;
    v.bytes = {p_, static_cast<std::size_t>(n)};
    p_ += n;
    return decode_status::ok;
  }
  decode_status container(value& v, kind k, std::uint64_t n, unsigned depth) {
    if (depth > max_depth_) return decode_status::too_deep;
    // Every element takes at least one byte: a count the rest of the payload
    // cannot hold is refused before anything loops over it.
    if ((k == kind::map ? 2 * n : n) > left()) return decode_status::truncated;
    v.k = k;
    v.u = n;
    return decode_status::ok;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  unsigned max_depth_;
  std::uint32_t max_elements_;
  std::uint32_t elements_ = 0;
};

// ---- Typed field readers -----------------------------------------------------

// One decode: the reader, the first problem met, and where it was.
struct ctx {
  reader r;
  decode_result res;
  std::uint16_t block = 0;

  ctx(std::span<const std::uint8_t> in, const limits& lim) : r(in, lim) {}

  bool fail(decode_status s, std::uint16_t field) {
    if (res.ok()) res = {s, block, field};
    return false;
  }
};

// Errors inside a top-level field's map or array are reported as that block's.
struct block_scope {
  ctx& c;
  std::uint16_t saved;
  block_scope(ctx& c_, unsigned depth, std::uint16_t key) : c(c_), saved(c_.block) {
    if (depth == 2) c.block = key;
  }
  ~block_scope() { c.block = saved; }
};

bool read(ctx& c, std::uint16_t key, unsigned depth, value& v) {
  const auto s = c.r.next(v, depth);
  return s == decode_status::ok || c.fail(s, key);
}

template <typename T>
bool read_uint(ctx& c, std::uint16_t key, unsigned depth, T& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  if (v.k != kind::uint) return c.fail(decode_status::bad_type, key);
  if (v.u > std::uint64_t{static_cast<T>(~T{0})}) return c.fail(decode_status::bad_value, key);
  out = static_cast<T>(v.u);
  return true;
}

template <typename T>
bool read_uint(ctx& c, std::uint16_t key, unsigned depth, std::optional<T>& out) {
  T x{};
  if (!read_uint(c, key, depth, x)) return false;
  out = x;
  return true;
}

// dBm and RSSI: uint32 holding a two's-complement int32, or a negative int.
bool read_signed32(ctx& c, std::uint16_t key, unsigned depth, std::optional<std::int32_t>& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  if (v.k == kind::uint) {
    if (v.u > 0xffffffffu) return c.fail(decode_status::bad_value, key);
    out = static_cast<std::int32_t>(static_cast<std::uint32_t>(v.u));
    return true;
  }
  if (v.k == kind::sint) {
    if (v.i < INT32_MIN) return c.fail(decode_status::bad_value, key);
    out = static_cast<std::int32_t>(v.i);
    return true;
  }
  return c.fail(decode_status::bad_type, key);
}

// Any number, as Kismet's server reads its floats.
bool read_number(ctx& c, std::uint16_t key, unsigned depth, double& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  switch (v.k) {
    case kind::f32: case kind::f64: out = v.d; return true;
    case kind::uint: out = static_cast<double>(v.u); return true;
    case kind::sint: out = static_cast<double>(v.i); return true;
    default: return c.fail(decode_status::bad_type, key);
  }
}

bool read_number(ctx& c, std::uint16_t key, unsigned depth, std::optional<double>& out) {
  double d = 0;
  if (!read_number(c, key, depth, d)) return false;
  out = d;
  return true;
}

bool read_float(ctx& c, std::uint16_t key, unsigned depth, std::optional<float>& out) {
  double d = 0;
  if (!read_number(c, key, depth, d)) return false;
  // A finite double outside float's range has no float value.
  if (std::isfinite(d) && std::fabs(d) > FLT_MAX) return c.fail(decode_status::bad_value, key);
  out = static_cast<float>(d);
  return true;
}

// A bool, or the uint 0/1 CONFIGREPORT's "enabled" is sent as.
bool read_bool(ctx& c, std::uint16_t key, unsigned depth, std::optional<bool>& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  if (v.k == kind::boolean) {
    out = v.b;
    return true;
  }
  if (v.k != kind::uint) return c.fail(decode_status::bad_type, key);
  if (v.u > 1) return c.fail(decode_status::bad_value, key);
  out = v.u == 1;
  return true;
}

bool read_view(ctx& c, std::uint16_t key, unsigned depth, std::string_view& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  if (v.k != kind::str) return c.fail(decode_status::bad_type, key);
  out = {reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()};
  return true;
}

bool read_string(ctx& c, std::uint16_t key, unsigned depth, std::string& out) {
  std::string_view s;
  if (!read_view(c, key, depth, s)) return false;
  out.assign(s);
  return true;
}

bool read_string(ctx& c, std::uint16_t key, unsigned depth, std::optional<std::string>& out) {
  std::string_view s;
  if (!read_view(c, key, depth, s)) return false;
  out.emplace(s);
  return true;
}

// Packet content: bin, or str (Kismet's server takes either).
bool read_bytes(ctx& c, std::uint16_t key, unsigned depth, std::span<const std::uint8_t>& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  if (v.k != kind::bin && v.k != kind::str) return c.fail(decode_status::bad_type, key);
  out = v.bytes;
  return true;
}

bool read_string_list(ctx& c, std::uint16_t key, unsigned depth, std::vector<std::string>& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  if (v.k != kind::array) return c.fail(decode_status::bad_type, key);
  out.clear();
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(v.u, 256)));
  for (std::uint64_t i = 0; i < v.u; ++i) {
    value e;
    if (!read(c, key, depth + 1, e)) return false;
    if (e.k != kind::str) return c.fail(decode_status::bad_type, key);
    out.emplace_back(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size());
  }
  return true;
}

enum class field { used, unknown, failed };

field used(bool ok) { return ok ? field::used : field::failed; }

constexpr std::uint64_t bit(unsigned key) { return std::uint64_t{1} << key; }

// Walks the map read at `depth` (the value of field `key`, 0 for the
// payload's map), calling on_field(id, value_depth) for each integer key;
// on_field reads the value (field::used), leaves it to be skipped
// (field::unknown), or has failed. Keys that are not small unsigned integers
// are skipped with their values. `seen` gets one bit per field id below 64
// that on_field used; a used one twice is an error, and so is a field of
// `required` (bits, as in `seen`) not there at the end.
template <typename F>
bool walk_map(ctx& c, unsigned depth, std::uint16_t key, std::uint64_t required, std::uint64_t& seen,
              F&& on_field) {
  value m;
  if (!read(c, key, depth, m)) return false;
  if (m.k != kind::map) return c.fail(depth == 1 ? decode_status::not_a_map : decode_status::bad_type, key);
  block_scope scope(c, depth, key);
  seen = 0;
  for (std::uint64_t i = 0; i < m.u; ++i) {
    value k;
    if (!read(c, 0, depth + 1, k)) return false;
    if (k.k != kind::uint || k.u > 0xffff) {
      if (auto s = c.r.skip_rest(k, depth + 1); s != decode_status::ok) return c.fail(s, 0);
      if (auto s = c.r.skip(depth + 1); s != decode_status::ok) return c.fail(s, 0);
      continue;
    }
    const auto id = static_cast<std::uint16_t>(k.u);
    switch (on_field(id, depth + 1)) {
      case field::failed:
        return false;
      case field::unknown:
        if (auto s = c.r.skip(depth + 1); s != decode_status::ok) return c.fail(s, id);
        break;
      case field::used:
        if (id < 64) {
          if (seen & bit(id)) return c.fail(decode_status::duplicate_field, id);
          seen |= bit(id);
        }
        break;
    }
  }
  if (const std::uint64_t missing = required & ~seen; missing != 0)
    return c.fail(decode_status::missing_field, static_cast<std::uint16_t>(std::countr_zero(missing)));
  return true;
}

// As walk_map, when the caller needs no `seen`.
template <typename F>
bool walk_map(ctx& c, unsigned depth, std::uint16_t key, std::uint64_t required, F&& on_field) {
  std::uint64_t seen = 0;
  return walk_map(c, depth, key, required, seen, std::forward<F>(on_field));
}

// The top-level map: one decode, nothing after it.
template <typename F>
decode_result decode_map(std::span<const std::uint8_t> payload, const limits& lim, F&& body) {
  ctx c(payload, lim);
  if (body(c) && !c.r.at_end()) c.fail(decode_status::trailing_bytes, 0);
  return c.res;
}

bool read_hop(ctx& c, std::uint16_t key, unsigned depth, hop_config& out, std::uint64_t& seen) {
  return walk_map(c, depth, key, 0, seen, [&](std::uint16_t id, unsigned d) {
    switch (id) {
      case 1: return used(read_float(c, id, d, out.rate));
      case 2: return used(read_bool(c, id, d, out.shuffle));
      case 3: return used(read_uint(c, id, d, out.skip));
      case 4: return used(read_uint(c, id, d, out.offset));
      case 5: return used(read_string_list(c, id, d, out.channels));
      case 6: return used(read_bool(c, id, d, out.enabled));
      default: return field::unknown;
    }
  });
}

bool read_hop(ctx& c, std::uint16_t key, unsigned depth, std::optional<hop_config>& out) {
  std::uint64_t seen = 0;
  return read_hop(c, key, depth, out.emplace(), seen);
}

bool read_interface(ctx& c, std::uint16_t key, unsigned depth, interface_info& out) {
  return walk_map(c, depth, key, 0, [&](std::uint16_t id, unsigned d) {
    switch (id) {
      case 1: return used(read_string(c, id, d, out.interface));
      case 2: return used(read_string(c, id, d, out.flags));
      case 3: return used(read_string(c, id, d, out.hardware));
      case 4: return used(read_string(c, id, d, out.capture_interface));
      case 5: return used(read_string(c, id, d, out.channel));
      case 6: return used(read_string_list(c, id, d, out.channels));
      default: return field::unknown;
    }
  });
}

bool read_interface_list(ctx& c, std::uint16_t key, unsigned depth, std::vector<interface_info>& out) {
  value v;
  if (!read(c, key, depth, v)) return false;
  if (v.k != kind::array) return c.fail(decode_status::bad_type, key);
  block_scope scope(c, depth, key);
  out.clear();
  for (std::uint64_t i = 0; i < v.u; ++i)
    if (!read_interface(c, 0, depth + 1, out.emplace_back())) return false;
  return true;
}

// Content is required: Kismet's server drops a packet block without it.
bool read_packet_block(ctx& c, std::uint16_t key, unsigned depth, packet_block& out) {
  return walk_map(c, depth, key, bit(6), [&](std::uint16_t id, unsigned d) {
    switch (id) {
      case 1: return used(read_uint(c, id, d, out.dlt));
      case 2: return used(read_uint(c, id, d, out.ts_sec));
      case 3: return used(read_uint(c, id, d, out.ts_usec));
      case 4: return used(read_uint(c, id, d, out.original_length));
      case 6: return used(read_bytes(c, id, d, out.content));
      default: return field::unknown;
    }
  });
}

bool read_signal_block(ctx& c, std::uint16_t key, unsigned depth, signal_block& out) {
  return walk_map(c, depth, key, 0, [&](std::uint16_t id, unsigned d) {
    switch (id) {
      case 1: return used(read_signed32(c, id, d, out.signal_dbm));
      case 2: return used(read_signed32(c, id, d, out.noise_dbm));
      case 3: return used(read_signed32(c, id, d, out.signal_rssi));
      case 4: return used(read_signed32(c, id, d, out.noise_rssi));
      case 5: return used(read_uint(c, id, d, out.freq_khz));
      case 6: return used(read_uint(c, id, d, out.datarate));
      case 7: return used(read_view(c, id, d, out.channel));
      default: return field::unknown;
    }
  });
}

// The fix's time is required, as Kismet's server requires it.
bool read_gps_block(ctx& c, std::uint16_t key, unsigned depth, gps_block& out) {
  return walk_map(c, depth, key, bit(8) | bit(9), [&](std::uint16_t id, unsigned d) {
    switch (id) {
      case 1: return used(read_number(c, id, d, out.lat));
      case 2: return used(read_number(c, id, d, out.lon));
      case 3: return used(read_number(c, id, d, out.alt));
      case 4: return used(read_uint(c, id, d, out.fix));
      case 5: return used(read_number(c, id, d, out.speed));
      case 6: return used(read_number(c, id, d, out.heading));
      case 7: return used(read_number(c, id, d, out.precision));
      case 8: return used(read_uint(c, id, d, out.ts_sec));
      case 9: return used(read_uint(c, id, d, out.ts_usec));
      case 10: return used(read_view(c, id, d, out.type));
      case 11: return used(read_view(c, id, d, out.name));
      case 12: return used(read_view(c, id, d, out.uuid));
      default: return field::unknown;
    }
  });
}

bool read_json_block(ctx& c, std::uint16_t key, unsigned depth, json_block& out) {
  return walk_map(c, depth, key, 0, [&](std::uint16_t id, unsigned d) {
    switch (id) {
      case 1: return used(read_view(c, id, d, out.type));
      case 2: return used(read_uint(c, id, d, out.ts_sec));
      case 3: return used(read_uint(c, id, d, out.ts_usec));
      case 4: return used(read_view(c, id, d, out.json));
      default: return field::unknown;
    }
  });
}

// ---- The msgpack writer ------------------------------------------------------

using buffer = std::vector<std::uint8_t>;

void put_be(buffer& out, std::uint8_t tag, std::uint64_t v, unsigned bytes) {
  out.push_back(tag);
  for (unsigned i = bytes; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// The smallest encoding, as Kismet's mpack writes them.
void put_uint(buffer& out, std::uint64_t v) {
  if (v <= 0x7f) out.push_back(static_cast<std::uint8_t>(v));
  else if (v <= 0xff) put_be(out, 0xcc, v, 1);
  else if (v <= 0xffff) put_be(out, 0xcd, v, 2);
  else if (v <= 0xffffffffu) put_be(out, 0xce, v, 4);
  else put_be(out, 0xcf, v, 8);
}

void put_head(buffer& out, std::uint8_t fix, std::uint8_t tag16, std::size_t n) {
  if (n < 16) out.push_back(static_cast<std::uint8_t>(fix | n));
  else if (n <= 0xffff) put_be(out, tag16, n, 2);
  else put_be(out, static_cast<std::uint8_t>(tag16 + 1), n, 4);
}
void put_map(buffer& out, std::size_t n) { put_head(out, 0x80, 0xde, n); }
void put_array(buffer& out, std::size_t n) { put_head(out, 0x90, 0xdc, n); }

void put_str(buffer& out, std::string_view s) {
  const std::size_t n = s.size();
  if (n < 32) out.push_back(static_cast<std::uint8_t>(0xa0 | n));
  else if (n <= 0xff) put_be(out, 0xd9, n, 1);
  else if (n <= 0xffff) put_be(out, 0xda, n, 2);
  else put_be(out, 0xdb, n, 4);
  out.insert(out.end(), s.begin(), s.end());
}

void put_bool(buffer& out, bool b) { out.push_back(b ? 0xc3 : 0xc2); }
void put_f32(buffer& out, float f) { put_be(out, 0xca, std::bit_cast<std::uint32_t>(f), 4); }

// What the tool copies into a buffer of `max` bytes with its NUL.
encode_status check_text(std::string_view s, std::size_t max) {
  if (s.empty()) return encode_status::empty;
  if (s.size() >= max) return encode_status::string_too_long;
  if (s.find('\0') != std::string_view::npos) return encode_status::string_has_nul;
  return encode_status::ok;
}

void begin_frame(buffer& out) {
  out.clear();
  out.resize(kHeaderBytes);
}

// Fills in the header of what begin_frame started; refuses a frame the
// tool's server side would not send.
encode_status end_frame(buffer& out, std::uint16_t type, std::uint32_t seqno) {
  if (out.size() >= kKismetMaxFrameBytes) {
    out.clear();
    return encode_status::too_large;
  }
  const frame_header h{static_cast<std::uint32_t>(out.size() - kHeaderBytes), type, kCodeOk, seqno};
  write_header(std::span<std::uint8_t, kHeaderBytes>(out.data(), kHeaderBytes), h);
  return encode_status::ok;
}

void encode_empty(buffer& out, std::uint16_t type, std::uint32_t seqno) {
  begin_frame(out);
  end_frame(out, type, seqno);
}

encode_status refuse(buffer& out, encode_status s) {
  out.clear();
  return s;
}

}  // namespace

// ---- Names -------------------------------------------------------------------

const char* type_name(std::uint16_t type) {
  switch (type) {
    case kTypeRegister: return "REGISTER";
    case kTypePing: return "PING";
    case kTypePong: return "PONG";
    case kTypeShutdown: return "SHUTDOWN";
    case kTypeMessage: return "MESSAGE";
    case kTypeError: return "ERROR";
    case kTypeProbeReq: return "PROBEREQ";
    case kTypeProbeReport: return "PROBEREPORT";
    case kTypeOpenReq: return "OPENREQ";
    case kTypeOpenReport: return "OPENREPORT";
    case kTypeListReq: return "LISTREQ";
    case kTypeListReport: return "LISTREPORT";
    case kTypePacket: return "PACKET";
    case kTypeConfigReq: return "CONFIGREQ";
    case kTypeConfigReport: return "CONFIGREPORT";
    case kTypeNewSource: return "NEWSOURCE";
    default: return "unknown";
  }
}

const char* status_name(header_status s) {
  switch (s) {
    case header_status::ok: return "ok";
    case header_status::need_more: return "need_more";
    case header_status::bad_signature: return "bad_signature";
    case header_status::bad_sentinel: return "bad_sentinel";
    case header_status::v2_frame: return "v2_frame";
    case header_status::bad_version: return "bad_version";
    case header_status::too_large: return "too_large";
  }
  return "?";
}

const char* status_name(decode_status s) {
  switch (s) {
    case decode_status::ok: return "ok";
    case decode_status::truncated: return "truncated";
    case decode_status::not_a_map: return "not_a_map";
    case decode_status::bad_type: return "bad_type";
    case decode_status::bad_value: return "bad_value";
    case decode_status::missing_field: return "missing_field";
    case decode_status::duplicate_field: return "duplicate_field";
    case decode_status::too_deep: return "too_deep";
    case decode_status::too_many_elements: return "too_many_elements";
    case decode_status::trailing_bytes: return "trailing_bytes";
    case decode_status::reserved_byte: return "reserved_byte";
  }
  return "?";
}

const char* status_name(encode_status s) {
  switch (s) {
    case encode_status::ok: return "ok";
    case encode_status::string_too_long: return "string_too_long";
    case encode_status::string_has_nul: return "string_has_nul";
    case encode_status::empty: return "empty";
    case encode_status::bad_rate: return "bad_rate";
    case encode_status::too_large: return "too_large";
  }
  return "?";
}

std::string describe(std::uint16_t type, const decode_result& r) {
  std::string s = type_name(type);
  if (s == "unknown") s = "type " + std::to_string(type);
  if (r.block != 0) s += " block " + std::to_string(r.block);
  if (r.field != 0) s += " field " + std::to_string(r.field);
  s += ": ";
  s += status_name(r.status);
  return s;
}

// ---- Header ------------------------------------------------------------------

header_status parse_frame(std::span<const std::uint8_t> in, std::uint32_t max_payload, frame& out) {
  out = frame{};
  const std::uint8_t* p = in.data();
  const std::size_t n = in.size();
  if (n >= 4 && be32(p) != kSignature) return header_status::bad_signature;
  if (n >= 8) {
    const std::uint16_t sentinel = be16(p + 4), version = be16(p + 6);
    if (sentinel == kSentinelV2 && version == kVersion2) return header_status::v2_frame;
    if (sentinel != kSentinelV3) return header_status::bad_sentinel;
    if (version != kVersion3) return header_status::bad_version;
  }
  if (n >= 12 && be32(p + 8) > max_payload) {
    if (n >= kHeaderBytes) out.header = {be32(p + 8), be16(p + 12), be16(p + 14), be32(p + 16)};
    else out.header.length = be32(p + 8);
    return header_status::too_large;
  }
  if (n < kHeaderBytes) return header_status::need_more;
  out.header = {be32(p + 8), be16(p + 12), be16(p + 14), be32(p + 16)};
  if (n - kHeaderBytes < out.header.length) return header_status::need_more;
  out.payload = in.subspan(kHeaderBytes, out.header.length);
  return header_status::ok;
}

void write_header(std::span<std::uint8_t, kHeaderBytes> out, const frame_header& h) {
  std::uint8_t* p = out.data();
  put32(p, kSignature);
  put16(p + 4, kSentinelV3);
  put16(p + 6, kVersion3);
  put32(p + 8, h.length);
  put16(p + 12, h.type);
  put16(p + 14, h.code);
  put32(p + 16, h.seqno);
}

// ---- Decoders ----------------------------------------------------------------

decode_result decode_newsource(std::span<const std::uint8_t> payload, const limits& lim, newsource& out) {
  out = newsource{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1) | bit(2) | bit(3), [&](std::uint16_t id, unsigned d) {
      switch (id) {
        case 1: return used(read_string(c, id, d, out.definition));
        case 2: return used(read_string(c, id, d, out.source_type));
        case 3: return used(read_string(c, id, d, out.uuid));
        default: return field::unknown;
      }
    });
  });
}

decode_result decode_openreport(std::span<const std::uint8_t> payload, const limits& lim, openreport& out) {
  out = openreport{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1), [&](std::uint16_t id, unsigned d) {
      switch (id) {
        case 1: return used(read_uint(c, id, d, out.seqno));
        case 2: return used(read_uint(c, id, d, out.dlt));
        case 3: return used(read_string(c, id, d, out.capture_interface));
        case 4: return used(read_string_list(c, id, d, out.channels));
        case 5: return used(read_string(c, id, d, out.channel));
        case 6: return used(read_hop(c, id, d, out.hop));
        case 7: return used(read_string(c, id, d, out.hardware));
        case 8: return used(read_string(c, id, d, out.uuid));
        case 9: return used(read_string(c, id, d, out.message));
        case 10: return used(read_string(c, id, d, out.version));
        default: return field::unknown;
      }
    });
  });
}

decode_result decode_configreport(std::span<const std::uint8_t> payload, const limits& lim, configreport& out) {
  out = configreport{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1), [&](std::uint16_t id, unsigned d) {
      switch (id) {
        case 1: return used(read_uint(c, id, d, out.seqno));
        case 2: return used(read_string(c, id, d, out.channel));
        case 3: return used(read_hop(c, id, d, out.hop));
        case 4: return used(read_string(c, id, d, out.message));
        default: return field::unknown;
      }
    });
  });
}

decode_result decode_message(std::span<const std::uint8_t> payload, const limits& lim, message& out) {
  out = message{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1) | bit(2), [&](std::uint16_t id, unsigned d) {
      switch (id) {
        case 1: return used(read_uint(c, id, d, out.severity));
        case 2: return used(read_string(c, id, d, out.text));
        default: return field::unknown;
      }
    });
  });
}

decode_result decode_error(std::span<const std::uint8_t> payload, const limits& lim, error_report& out) {
  out = error_report{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1), [&](std::uint16_t id, unsigned d) {
      return id == 1 ? used(read_string(c, id, d, out.text)) : field::unknown;
    });
  });
}

decode_result decode_probereport(std::span<const std::uint8_t> payload, const limits& lim, probereport& out) {
  out = probereport{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1), [&](std::uint16_t id, unsigned d) {
      switch (id) {
        case 1: return used(read_uint(c, id, d, out.seqno));
        case 2: return used(read_interface(c, id, d, out.interface.emplace()));
        case 3: return used(read_string(c, id, d, out.message));
        default: return field::unknown;
      }
    });
  });
}

decode_result decode_listreport(std::span<const std::uint8_t> payload, const limits& lim, listreport& out) {
  out = listreport{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1), [&](std::uint16_t id, unsigned d) {
      switch (id) {
        case 1: return used(read_uint(c, id, d, out.seqno));
        case 2: return used(read_interface_list(c, id, d, out.interfaces));
        case 3: return used(read_string(c, id, d, out.message));
        case 4: return used(read_string(c, id, d, out.version));
        default: return field::unknown;
      }
    });
  });
}

decode_result decode_packet(std::span<const std::uint8_t> payload, const limits& lim, packet_report& out) {
  out = packet_report{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, 0, [&](std::uint16_t id, unsigned d) {
      switch (id) {
        case 1: return used(read_gps_block(c, id, d, out.gps.emplace()));
        case 2: return used(read_signal_block(c, id, d, out.signal.emplace()));
        case 3: {
          out.has_spectrum = true;
          const auto s = c.r.skip(d);
          return used(s == decode_status::ok || c.fail(s, id));
        }
        case 4: return used(read_packet_block(c, id, d, out.packet.emplace()));
        case 5: return used(read_json_block(c, id, d, out.json.emplace()));
        default: return field::unknown;
      }
    });
  });
}

decode_result decode_empty(std::span<const std::uint8_t> payload, const limits& lim) {
  if (payload.empty()) return {};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, 0, [](std::uint16_t, unsigned) { return field::unknown; });
  });
}

decode_result decode_openreq(std::span<const std::uint8_t> payload, const limits& lim, openreq& out) {
  out = openreq{};
  return decode_map(payload, lim, [&](ctx& c) {
    return walk_map(c, 1, 0, bit(1), [&](std::uint16_t id, unsigned d) {
      return id == 1 ? used(read_string(c, id, d, out.definition)) : field::unknown;
    });
  });
}

decode_result decode_configreq(std::span<const std::uint8_t> payload, const limits& lim, configreq& out) {
  out = configreq{};
  return decode_map(payload, lim, [&](ctx& c) {
    std::uint64_t seen = 0, hop_seen = 0;
    if (!walk_map(c, 1, 0, 0, seen, [&](std::uint16_t id, unsigned d) {
          switch (id) {
            case 1: return used(read_string(c, id, d, out.channel));
            case 2: return used(read_hop(c, id, d, out.hop.emplace(), hop_seen));
            default: return field::unknown;
          }
        }))
      return false;
    if (!(seen & (bit(1) | bit(2)))) return c.fail(decode_status::missing_field, 1);
    // The tool refuses a hop block without channels, or with an empty list.
    if (out.hop && out.hop->channels.empty()) {
      c.block = 2;
      return c.fail((hop_seen & bit(5)) ? decode_status::bad_value : decode_status::missing_field, 5);
    }
    return true;
  });
}

// ---- Encoders ----------------------------------------------------------------

encode_status encode_openreq(std::vector<std::uint8_t>& out, std::uint32_t seqno, std::string_view definition) {
  if (auto s = check_text(definition, kToolMaxDefinition); s != encode_status::ok) return refuse(out, s);
  begin_frame(out);
  put_map(out, 1);
  put_uint(out, 1);
  put_str(out, definition);
  return end_frame(out, kTypeOpenReq, seqno);
}

void encode_ping(std::vector<std::uint8_t>& out, std::uint32_t seqno) { encode_empty(out, kTypePing, seqno); }
void encode_pong(std::vector<std::uint8_t>& out, std::uint32_t seqno) { encode_empty(out, kTypePong, seqno); }
void encode_listreq(std::vector<std::uint8_t>& out, std::uint32_t seqno) { encode_empty(out, kTypeListReq, seqno); }

encode_status encode_configreq_channel(std::vector<std::uint8_t>& out, std::uint32_t seqno,
                                       std::string_view channel) {
  if (auto s = check_text(channel, kToolMaxChannel); s != encode_status::ok) return refuse(out, s);
  begin_frame(out);
  put_map(out, 1);
  put_uint(out, 1);
  put_str(out, channel);
  return end_frame(out, kTypeConfigReq, seqno);
}

encode_status encode_configreq_hop(std::vector<std::uint8_t>& out, std::uint32_t seqno, const hop_config& hop) {
  if (hop.channels.empty()) return refuse(out, encode_status::empty);
  for (const auto& ch : hop.channels)
    if (auto s = check_text(ch, kToolMaxHopChannel); s != encode_status::ok) return refuse(out, s);
  if (hop.rate && !(std::isfinite(*hop.rate) && *hop.rate > 0)) return refuse(out, encode_status::bad_rate);
  begin_frame(out);
  put_map(out, 1);
  put_uint(out, 2);
  put_map(out, std::size_t{1} + hop.rate.has_value() + hop.shuffle.has_value() + hop.skip.has_value() +
                   hop.offset.has_value());
  if (hop.rate) put_uint(out, 1), put_f32(out, *hop.rate);
  if (hop.shuffle) put_uint(out, 2), put_bool(out, *hop.shuffle);
  if (hop.skip) put_uint(out, 3), put_uint(out, *hop.skip);
  if (hop.offset) put_uint(out, 4), put_uint(out, *hop.offset);
  put_uint(out, 5);
  put_array(out, hop.channels.size());
  for (const auto& ch : hop.channels) put_str(out, ch);
  return end_frame(out, kTypeConfigReq, seqno);
}

}  // namespace hopwire::collector::kismet

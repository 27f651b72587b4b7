#pragma once
// The one radiotap walker (radiotap.org), for the sensor's quick look at
// each captured frame and the collector's full decode: it steps through
// the fields of the default namespace in order, with their alignment and
// size, skips vendor namespaces by their skip_length, and hands each field
// (and each TLV) to a visitor. Bounds-checked; allocates nothing.

#include <cstddef>
#include <cstdint>
#include <span>

namespace hopwire::radiotap {

// Field numbers (presence bits) used by name.
inline constexpr unsigned kTsft = 0, kFlags = 1, kRate = 2, kChannel = 3, kDbmSignal = 5, kDbmNoise = 6,
                          kXChannel = 18, kMcs = 19, kVht = 21, kHe = 23, kHeMu = 24, kHeMuOther = 25;
inline constexpr unsigned kTlv = 28, kRadiotapNs = 29, kVendorNs = 30, kExt = 31;
// Bits of the Flags field.
inline constexpr std::uint8_t kFlagFcs = 0x10, kFlagDataPad = 0x20, kFlagBadFcs = 0x40;

enum class walk_status : std::uint8_t { ok, truncated, bad_version };

struct walk_result {
  walk_status status = walk_status::ok;
  std::size_t length = 0;      // of the radiotap header: the frame starts here
  bool unknown_field = false;  // a presence bit we cannot size: the fields after it were skipped
};

struct field_layout {
  std::uint8_t align, size;
};
// Fields 0..27: {alignment, size}.
inline constexpr field_layout kFields[] = {
    {8, 8},   // 0 TSFT
    {1, 1},   // 1 Flags
    {1, 1},   // 2 Rate
    {2, 4},   // 3 Channel
    {2, 2},   // 4 FHSS
    {1, 1},   // 5 dBm antenna signal
    {1, 1},   // 6 dBm antenna noise
    {2, 2},   // 7 Lock quality
    {2, 2},   // 8 TX attenuation
    {2, 2},   // 9 dB TX attenuation
    {1, 1},   // 10 dBm TX power
    {1, 1},   // 11 Antenna
    {1, 1},   // 12 dB antenna signal
    {1, 1},   // 13 dB antenna noise
    {2, 2},   // 14 RX flags
    {2, 2},   // 15 TX flags
    {1, 1},   // 16 RTS retries
    {1, 1},   // 17 data retries
    {4, 8},   // 18 XChannel
    {1, 3},   // 19 MCS
    {4, 8},   // 20 A-MPDU status
    {2, 12},  // 21 VHT
    {8, 12},  // 22 timestamp
    {2, 12},  // 23 HE
    {2, 12},  // 24 HE-MU
    {2, 6},   // 25 HE-MU-other-user
    {1, 1},   // 26 0-length PSDU
    {2, 4},   // 27 L-SIG
};

inline std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
inline std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

// The visitor has
//   void field(unsigned bit, const std::uint8_t* data);   // kFields[bit].size bytes
//   void tlv(std::uint16_t type, std::uint16_t length);   // TLV fields after bit 28
// Fields repeat when several radiotap namespaces carry them (one per antenna).
template <class Visitor>
walk_result walk(std::span<const std::uint8_t> in, Visitor&& v) {
  walk_result r;
  if (in.size() < 8) {
    r.status = walk_status::truncated;
    return r;
  }
  if (in[0] != 0) {
    r.status = walk_status::bad_version;
    return r;
  }
  const std::size_t len = le16(&in[2]);
  if (len < 8 || len > in.size()) {
    r.status = walk_status::truncated;
    return r;
  }
  // Presence words: at 4, chained by bit 31.
  std::size_t words_end = 4;
  do {
    if (words_end + 4 > len) {
      r.status = walk_status::truncated;
      return r;
    }
    words_end += 4;
  } while (le32(&in[words_end - 4]) & (1u << kExt));

  const std::uint8_t* h = in.data();
  std::size_t off = words_end;
  bool in_vendor = false;  // the current presence word belongs to a vendor namespace
  std::size_t vendor_skip = 0;
  for (std::size_t w = 4; w < words_end; w += 4) {
    const std::uint32_t present = le32(h + w);
    if (in_vendor) {
      // Vendor fields: skip their data wholesale, once per namespace.
      off += vendor_skip;
      vendor_skip = 0;
      if (off > len) {
        r.status = walk_status::truncated;
        return r;
      }
    } else {
      for (unsigned bit = 0; bit < kTlv; ++bit) {
        if (!(present & (1u << bit))) continue;
        const auto f = kFields[bit];
        off = (off + f.align - 1) & ~static_cast<std::size_t>(f.align - 1);
        if (off + f.size > len) {
          r.status = walk_status::truncated;
          return r;
        }
        v.field(bit, h + off);
        off += f.size;
      }
      if (present & (1u << kTlv)) {
        // The rest of the header is TLVs; nothing follows them in presence order.
        std::size_t t = (off + 3) & ~std::size_t{3};
        while (t + 4 <= len) {
          const std::uint16_t type = le16(h + t), tlen = le16(h + t + 2);
          v.tlv(type, tlen);
          t += 4 + ((tlen + 3u) & ~3u);
        }
        break;
      }
    }
    if (present & (1u << kVendorNs)) {
      // Vendor namespace header: OUI(3) sub-namespace(1) skip_length(2), 2-aligned.
      off = (off + 1) & ~std::size_t{1};
      if (off + 6 > len) {
        r.status = walk_status::truncated;
        return r;
      }
      vendor_skip = le16(h + off + 4);
      off += 6;
      in_vendor = true;
    } else if (present & (1u << kRadiotapNs)) {
      in_vendor = false;
    } else if (!in_vendor && (present & (1u << kExt))) {
      // Bits 32+ of the same namespace are not defined: what follows cannot
      // be sized, but the header length still says where the frame starts.
      r.unknown_field = true;
      break;
    }
  }
  r.length = len;
  return r;
}

}  // namespace hopwire::radiotap

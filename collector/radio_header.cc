#include "radio_header.h"

#include <zlib.h>

namespace hopwire::collector {

namespace {

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}
std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[3]} | std::uint32_t{p[2]} << 8 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[0]} << 24;
}

// Radiotap fields 0..28: {alignment, size}. From the radiotap.org field list.
struct rt_field {
  std::uint8_t align, size;
};
constexpr rt_field kRadiotapFields[] = {
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
constexpr unsigned kRtTlv = 28, kRtRadiotapNs = 29, kRtVendorNs = 30, kRtExt = 31;

constexpr std::uint8_t kRtFlagFcs = 0x10, kRtFlagDataPad = 0x20, kRtFlagBadFcs = 0x40;

header_status decode_radiotap(std::span<const std::uint8_t> in, radio_info& out, std::span<const std::uint8_t>& frame,
                              anomaly_counters& an) {
  if (in.size() < 8) {
    an.bump(an.radiotap_truncated);
    return header_status::truncated;
  }
  if (in[0] != 0) {
    an.bump(an.radiotap_bad_version);
    return header_status::bad;
  }
  const std::size_t len = le16(&in[2]);
  if (len < 8 || len > in.size()) {
    an.bump(an.radiotap_truncated);
    return header_status::truncated;
  }
  // Presence words: at 4, chained by bit 31.
  std::size_t words_end = 4;
  do {
    if (words_end + 4 > len) {
      an.bump(an.radiotap_truncated);
      return header_status::truncated;
    }
    words_end += 4;
  } while (le32(&in[words_end - 4]) & (1u << kRtExt));

  const std::uint8_t* h = in.data();
  std::size_t off = words_end;
  bool in_vendor = false;     // current presence word belongs to a vendor namespace
  std::size_t vendor_skip = 0;
  bool stop = false;
  bool first_signal = true, first_noise = true, first_flags = true, first_channel = true;
  std::uint32_t xchannel_freq = 0;

  for (std::size_t w = 4; w < words_end && !stop; w += 4) {
    const std::uint32_t present = le32(h + w);
    if (in_vendor) {
      // Vendor fields: skip their data wholesale, once per namespace.
      off += vendor_skip;
      vendor_skip = 0;
      if (off > len) {
        an.bump(an.radiotap_truncated);
        return header_status::truncated;
      }
    } else {
      for (unsigned bit = 0; bit < kRtTlv && !stop; ++bit) {
        if (!(present & (1u << bit))) continue;
        const auto f = kRadiotapFields[bit];
        off = (off + f.align - 1) & ~static_cast<std::size_t>(f.align - 1);
        if (off + f.size > len) {
          an.bump(an.radiotap_truncated);
          return header_status::truncated;
        }
        const std::uint8_t* p = h + off;
        switch (bit) {
          case 1:
            if (first_flags) {
              out.fcs_present = p[0] & kRtFlagFcs;
              out.data_pad = p[0] & kRtFlagDataPad;
              out.fcs_bad = p[0] & kRtFlagBadFcs;
              first_flags = false;
            }
            break;
          case 2:
            if (out.rate_kbps == 0) out.rate_kbps = p[0] * 500u;
            break;
          case 3:
            if (first_channel) {
              out.freq_mhz = le16(p);
              first_channel = false;
            }
            break;
          case 5:
            if (first_signal) {
              out.signal_dbm = static_cast<std::int8_t>(p[0]);
              out.has_signal = true;
              first_signal = false;
            }
            break;
          case 6:
            if (first_noise) {
              out.noise_dbm = static_cast<std::int8_t>(p[0]);
              out.has_noise = true;
              first_noise = false;
            }
            break;
          case 18:
            if (!xchannel_freq) xchannel_freq = le16(p + 4);
            break;
          case 19: out.phy_seen |= kPhyHt; break;
          case 21: out.phy_seen |= kPhyVht; break;
          case 23:
          case 24:
          case 25: out.phy_seen |= kPhyHe; break;
          default: break;
        }
        off += f.size;
      }
      if (present & (1u << kRtTlv)) {
        // The rest of the header is TLVs (EHT lives there); nothing after
        // it in presence order, so we are done with fields.
        stop = true;
        // TLV type 32 = EHT, 33 = U-SIG: mark EHT when we see them.
        std::size_t t = (off + 3) & ~std::size_t{3};
        while (t + 4 <= len) {
          const std::uint16_t type = le16(h + t), tlen = le16(h + t + 2);
          if (type == 32 || type == 33) out.phy_seen |= kPhyEht;
          t += 4 + ((tlen + 3u) & ~3u);
        }
        break;
      }
    }
    if (present & (1u << kRtVendorNs)) {
      // Vendor namespace header: OUI(3) sub-namespace(1) skip_length(2), 2-aligned.
      off = (off + 1) & ~std::size_t{1};
      if (off + 6 > len) {
        an.bump(an.radiotap_truncated);
        return header_status::truncated;
      }
      vendor_skip = le16(h + off + 4);
      off += 6;
      in_vendor = true;
    } else if (present & (1u << kRtRadiotapNs)) {
      in_vendor = false;
    } else if (!in_vendor && (present & (1u << kRtExt))) {
      // Radiotap bits 32+ in the same namespace are not defined: we cannot
      // size what follows, but the header length still tells us where the
      // frame starts.
      an.bump(an.radiotap_unknown_field);
      stop = true;
    }
  }
  if (!out.freq_mhz && xchannel_freq) out.freq_mhz = xchannel_freq;
  frame = in.subspan(len);
  return header_status::ok;
}

// PPI: 8-byte header, then {type u16, len u16, data} fields; type 2 is
// 802.11-common.
header_status decode_ppi(std::span<const std::uint8_t> in, radio_info& out, std::span<const std::uint8_t>& frame,
                         anomaly_counters& an) {
  if (in.size() < 8) {
    an.bump(an.ppi_truncated);
    return header_status::truncated;
  }
  const std::size_t len = le16(&in[2]);
  const std::uint32_t dlt = le32(&in[4]);
  if (len < 8 || len > in.size()) {
    an.bump(an.ppi_truncated);
    return header_status::truncated;
  }
  if (dlt != kDltIeee80211) {
    an.bump(an.ppi_bad_dlt);
    return header_status::bad;
  }
  std::size_t off = 8;
  while (off + 4 <= len) {
    const std::uint16_t type = le16(&in[off]);
    const std::size_t flen = le16(&in[off + 2]);
    if (off + 4 + flen > len) {
      an.bump(an.ppi_truncated);
      return header_status::truncated;
    }
    if (type == 2 && flen >= 20) {
      const std::uint8_t* p = &in[off + 4];
      const std::uint16_t flags = le16(p + 8);
      out.fcs_present = flags & 0x1;
      out.fcs_bad = flags & 0x4;
      out.rate_kbps = le16(p + 10) * 500u;
      out.freq_mhz = le16(p + 12);
      out.signal_dbm = static_cast<std::int8_t>(p[18]);
      out.noise_dbm = static_cast<std::int8_t>(p[19]);
      // PPI writes 0 for "not known"; a real dBm value is never 0.
      out.has_signal = p[18] != 0;
      out.has_noise = p[19] != 0;
    }
    off += 4 + flen;
  }
  frame = in.subspan(len);
  return header_status::ok;
}

// AVS (capture v1/v2): big-endian, magic 0x8021100x, header length at 4.
header_status decode_avs(std::span<const std::uint8_t> in, radio_info& out, std::span<const std::uint8_t>& frame,
                         anomaly_counters& an) {
  if (in.size() < 64) {
    an.bump(an.avs_truncated);
    return header_status::truncated;
  }
  const std::size_t len = be32(&in[4]);
  if (len < 64 || len > in.size()) {
    an.bump(an.avs_truncated);
    return header_status::truncated;
  }
  const std::uint32_t channel = be32(&in[28]);
  out.freq_mhz = freq_of_channel(channel);
  out.rate_kbps = be32(&in[32]) * 100u;
  const std::uint32_t ssi_type = be32(&in[44]);
  if (ssi_type == 2) {  // dBm
    out.signal_dbm = static_cast<std::int16_t>(static_cast<std::int32_t>(be32(&in[48])));
    out.noise_dbm = static_cast<std::int16_t>(static_cast<std::int32_t>(be32(&in[52])));
    out.has_signal = out.has_noise = true;
  }
  frame = in.subspan(len);
  return header_status::ok;
}

// Prism: 144 bytes; msgcode, msglen, devname[16], then ten 12-byte items
// {did, status, len, data}, little-endian (host order of the capturing box;
// every capture we know is little-endian).
header_status decode_prism(std::span<const std::uint8_t> in, radio_info& out, std::span<const std::uint8_t>& frame,
                           anomaly_counters& an) {
  if (in.size() >= 4 && (be32(&in[0]) & 0xfffffff0u) == 0x80211000u) return decode_avs(in, out, frame, an);
  constexpr std::size_t kPrismLen = 144;
  if (in.size() < kPrismLen) {
    an.bump(an.prism_truncated);
    return header_status::truncated;
  }
  std::size_t len = le32(&in[4]);
  if (len != kPrismLen) len = kPrismLen;  // some drivers write garbage here
  auto item = [&](int i) { return &in[24 + 12 * i]; };
  // Items: 0 hosttime 1 mactime 2 channel 3 rssi 4 sq 5 signal 6 noise 7 rate 8 istx 9 frmlen.
  // status 0 = value present.
  if (le16(item(2) + 4) == 0) out.freq_mhz = freq_of_channel(le32(item(2) + 8));
  if (le16(item(5) + 4) == 0) {
    out.signal_dbm = static_cast<std::int16_t>(static_cast<std::int32_t>(le32(item(5) + 8)));
    out.has_signal = true;
  }
  if (le16(item(6) + 4) == 0) {
    out.noise_dbm = static_cast<std::int16_t>(static_cast<std::int32_t>(le32(item(6) + 8)));
    out.has_noise = true;
  }
  if (le16(item(7) + 4) == 0) out.rate_kbps = le32(item(7) + 8) * 500u;
  frame = in.subspan(len);
  return header_status::ok;
}

}  // namespace

header_status decode_radio_header(std::uint32_t dlt, std::span<const std::uint8_t> in, radio_info& out,
                                  std::span<const std::uint8_t>& frame, anomaly_counters& an) {
  header_status st;
  switch (dlt) {
    case kDltIeee80211:
      frame = in;
      st = header_status::ok;
      break;
    case kDltRadiotap: st = decode_radiotap(in, out, frame, an); break;
    case kDltPpi: st = decode_ppi(in, out, frame, an); break;
    case kDltPrism: st = decode_prism(in, out, frame, an); break;
    case kDltAvs: st = decode_avs(in, out, frame, an); break;
    default:
      an.bump(an.unknown_linktype);
      return header_status::unknown_linktype;
  }
  if (st != header_status::ok) return st;
  if (out.fcs_present) {
    if (frame.size() < 4) {
      an.bump(an.dot11_truncated);
      return header_status::truncated;
    }
    const std::size_t n = frame.size() - 4;
    if (!out.fcs_bad) {
      const auto crc = static_cast<std::uint32_t>(crc32(0L, frame.data(), static_cast<uInt>(n)));
      if (crc != le32(frame.data() + n)) out.fcs_bad = true;
    }
    frame = frame.first(n);
  }
  if (out.fcs_bad) an.bump(an.fcs_bad);
  return header_status::ok;
}

unsigned channel_of_freq(std::uint32_t f) {
  if (f == 2484) return 14;
  if (f >= 2412 && f < 2484) return (f - 2407) / 5;
  if (f == 5935) return 2;  // 6 GHz channel 2
  if (f > 5950 && f <= 7115) return (f - 5950) / 5;
  if (f >= 4910 && f <= 4980) return (f - 4000) / 5;
  if (f >= 5000 && f <= 5900) return (f - 5000) / 5;
  return 0;
}

std::uint32_t freq_of_channel(unsigned ch) {
  if (ch == 0) return 0;
  if (ch == 14) return 2484;
  if (ch < 14) return 2407 + ch * 5;
  if (ch <= 196) return 5000 + ch * 5;
  return 0;
}

}  // namespace hopwire::collector

#include "collector/decode/radio_header.h"

#include <zlib.h>

#include "common/channel.h"
#include "common/radiotap.h"

namespace hopwire::collector {

namespace {

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}
std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t{p[3]} | std::uint32_t{p[2]} << 8 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[0]} << 24;
}

// The radio fields Hopwire keeps, from the common radiotap walker. The
// first occurrence of a field wins (later namespaces describe other antennas).
struct radiotap_fields {
  radio_info& out;
  bool first_signal = true, first_noise = true, first_flags = true, first_channel = true;
  std::uint32_t xchannel_freq = 0;

  void field(unsigned bit, const std::uint8_t* p) {
    namespace rt = radiotap;
    switch (bit) {
      case rt::kFlags:
        if (first_flags) {
          out.fcs_present = p[0] & rt::kFlagFcs;
          out.data_pad = p[0] & rt::kFlagDataPad;
          out.fcs_bad = p[0] & rt::kFlagBadFcs;
          first_flags = false;
        }
        break;
      case rt::kRate:
        if (out.rate_kbps == 0) out.rate_kbps = p[0] * 500u;
        break;
      case rt::kChannel:
        if (first_channel) {
          out.freq_mhz = le16(p);
          first_channel = false;
        }
        break;
      case rt::kDbmSignal:
        if (first_signal) {
          out.signal_dbm = static_cast<std::int8_t>(p[0]);
          out.has_signal = true;
          first_signal = false;
        }
        break;
      case rt::kDbmNoise:
        if (first_noise) {
          out.noise_dbm = static_cast<std::int8_t>(p[0]);
          out.has_noise = true;
          first_noise = false;
        }
        break;
      case rt::kXChannel:
        if (!xchannel_freq) xchannel_freq = le16(p + 4);
        break;
      case rt::kMcs: out.phy_seen |= kPhyHt; break;
      case rt::kVht: out.phy_seen |= kPhyVht; break;
      case rt::kHe:
      case rt::kHeMu:
      case rt::kHeMuOther: out.phy_seen |= kPhyHe; break;
      default: break;
    }
  }
  // TLV type 32 = EHT, 33 = U-SIG.
  void tlv(std::uint16_t type, std::uint16_t) {
    if (type == 32 || type == 33) out.phy_seen |= kPhyEht;
  }
};

header_status decode_radiotap(std::span<const std::uint8_t> in, radio_info& out, std::span<const std::uint8_t>& frame,
                              anomaly_counters& an) {
  radiotap_fields v{out};
  const auto r = radiotap::walk(in, v);
  switch (r.status) {
    case radiotap::walk_status::truncated: an.bump(an.radiotap_truncated); return header_status::truncated;
    case radiotap::walk_status::bad_version: an.bump(an.radiotap_bad_version); return header_status::bad;
    case radiotap::walk_status::ok: break;
  }
  if (r.unknown_field) an.bump(an.radiotap_unknown_field);
  if (!out.freq_mhz && v.xchannel_freq) out.freq_mhz = v.xchannel_freq;
  frame = in.subspan(r.length);
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
  out.freq_mhz = channel_to_mhz(channel);
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
  if (le16(item(2) + 4) == 0) out.freq_mhz = channel_to_mhz(le32(item(2) + 8));
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

}  // namespace hopwire::collector

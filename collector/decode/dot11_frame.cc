#include "collector/decode/dot11_frame.h"

#include <algorithm>

namespace hopwire::collector {

namespace {

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

// A cursor over a byte span that never reads past the end.
class reader {
 public:
  explicit reader(std::span<const std::uint8_t> s) : s_(s) {}
  bool has(std::size_t n) const { return s_.size() - pos_ >= n; }
  std::size_t left() const { return s_.size() - pos_; }
  const std::uint8_t* take(std::size_t n) {
    const std::uint8_t* p = s_.data() + pos_;
    pos_ += n;
    return p;
  }

 private:
  std::span<const std::uint8_t> s_;
  std::size_t pos_ = 0;
};

constexpr std::uint8_t kOuiIeee[3] = {0x00, 0x0f, 0xac};
constexpr std::uint8_t kOuiMicrosoft[3] = {0x00, 0x50, 0xf2};
constexpr std::uint8_t kOuiWfa[3] = {0x50, 0x6f, 0x9a};

bool oui_is(const std::uint8_t* p, const std::uint8_t (&oui)[3]) {
  return p[0] == oui[0] && p[1] == oui[1] && p[2] == oui[2];
}

std::uint32_t suite_bit(const std::uint8_t* p, const std::uint8_t (&oui)[3]) {
  if (!oui_is(p, oui) || p[3] > 30) return 1u << 31;
  return 1u << p[3];
}

// RSN element body, or the WPA vendor element after its OUI and type.
// Layout: version, group suite, pairwise count + suites, AKM count + suites,
// [capabilities]. Every part after the version is optional; a list that is
// cut short is malformed, but what was read stays.
bool parse_rsn_body(std::span<const std::uint8_t> body, const std::uint8_t (&oui)[3], bool with_caps,
                    rsn_info& out) {
  reader r(body);
  out.present = true;
  if (!r.has(2)) return false;
  r.take(2);  // version
  if (!r.has(4)) return r.left() == 0;
  out.group |= suite_bit(r.take(4), oui);
  for (int list = 0; list < 2; ++list) {
    if (!r.has(2)) return r.left() == 0;
    const std::size_t n = le16(r.take(2));
    if (!r.has(n * 4)) return false;
    for (std::size_t i = 0; i < n; ++i) (list == 0 ? out.pairwise : out.akms) |= suite_bit(r.take(4), oui);
  }
  if (with_caps && r.has(2)) {
    const std::uint16_t caps = le16(r.take(2));
    out.mfpr = out.mfpr || (caps & 0x0040);
    out.mfpc = out.mfpc || (caps & 0x0080);
  }
  return true;
}

void parse_wps(std::span<const std::uint8_t> body, element_info& out) {
  out.wps = true;
  reader r(body);
  while (r.has(4)) {
    const std::uint8_t* h = r.take(4);
    const std::uint16_t type = be16(h), len = be16(h + 2);
    if (!r.has(len)) return;
    const std::uint8_t* v = r.take(len);
    if (type == 0x1044 && len >= 1) out.wps_state = v[0];
  }
}

}  // namespace

void parse_elements(std::span<const std::uint8_t> body, element_info& out, anomaly_counters& an) {
  reader r(body);
  bool first_ssid = true;
  while (r.has(2)) {
    const std::uint8_t* h = r.take(2);
    const std::uint8_t id = h[0], len = h[1];
    if (!r.has(len)) {
      an.bump(an.ie_truncated);
      out.malformed = true;
      return;
    }
    const std::span<const std::uint8_t> v(r.take(len), len);
    switch (id) {
      case 0:  // SSID
        if (first_ssid) {
          first_ssid = false;
          out.has_ssid = true;
          if (len > 32) {
            an.bump(an.ssid_too_long);
            out.malformed = true;
          }
          out.ssid = v;
        }
        break;
      case 1:   // supported rates
      case 50:  // extended supported rates
        for (auto b : v) {
          const std::uint8_t rate = b & 0x7f;
          if (rate > out.max_rate_500k && rate != 127) out.max_rate_500k = rate;  // 127: BSS membership selector
        }
        break;
      case 3:
        if (len >= 1) out.ds_channel = v[0];
        else {
          an.bump(an.ie_bad_length);
          out.malformed = true;
        }
        break;
      case 7:
        if (len >= 2) {
          out.country[0] = static_cast<char>(v[0]);
          out.country[1] = static_cast<char>(v[1]);
        }
        break;
      case 45: out.phy |= kPhyHt; break;
      case 61:
        if (len >= 2) {
          out.ht_primary = v[0];
          out.ht_width = v[1] & 0x03;
        } else {
          an.bump(an.ie_bad_length);
          out.malformed = true;
        }
        break;
      case 48:
        if (!parse_rsn_body(v, kOuiIeee, true, out.rsn)) {
          an.bump(an.rsn_malformed);
          out.malformed = true;
        }
        break;
      case 114:
        out.has_mesh_id = true;
        out.mesh_id = v;
        break;
      case 191: out.phy |= kPhyVht; break;
      case 192:
        if (len >= 1) out.vht_width = v[0];
        break;
      case 221:  // vendor specific
        if (len >= 4 && oui_is(v.data(), kOuiMicrosoft) && v[3] == 1) {
          if (!parse_rsn_body(v.subspan(4), kOuiMicrosoft, false, out.wpa)) {
            an.bump(an.wpa_malformed);
            out.malformed = true;
          }
        } else if (len >= 4 && oui_is(v.data(), kOuiMicrosoft) && v[3] == 4) {
          parse_wps(v.subspan(4), out);
        } else if (len >= 4 && oui_is(v.data(), kOuiWfa) && v[3] == 0x1c) {
          out.owe_transition = true;
        }
        break;
      case 255:  // element ID extension
        if (len >= 1) {
          if (v[0] == 35) out.phy |= kPhyHe;        // HE capabilities
          else if (v[0] == 108) out.phy |= kPhyEht;  // EHT capabilities
          else if (v[0] == 36 && len >= 7) {         // HE operation
            // Parameters (3), BSS colour (1), basic MCS (2), then optional
            // parts: VHT operation (3, bit 14), max co-hosted BSSID (1, bit
            // 15), 6 GHz operation (5, bit 17), whose first byte is the
            // primary channel — a 6 GHz channel number.
            const std::uint32_t params = v[1] | v[2] << 8 | v[3] << 16;
            std::size_t off = 7;
            if (params & (1u << 14)) off += 3;
            if (params & (1u << 15)) off += 1;
            if (params & (1u << 17)) {
              if (off < len) out.he6_primary = v[off];
              else {
                an.bump(an.ie_bad_length);
                out.malformed = true;
              }
            }
          }
        }
        break;
      default: break;
    }
  }
  if (r.left() != 0) {
    an.bump(an.ie_truncated);
    out.malformed = true;
  }
}

namespace {

// An EAP packet inside EAPOL (type 0): code, type, and for Wi-Fi Simple
// Config (expanded type 254, vendor WFA 00-37-2A, SimpleConfig) the
// Message Type attribute, which tells M1..M8 apart.
void decode_eap(reader& r, eapol_info& out) {
  if (!r.has(4)) return;
  const std::uint8_t* e = r.take(4);
  out.eap_code = e[0];
  const std::size_t len = be16(e + 2);  // includes the 4 bytes just read
  if (len < 5 || (e[0] != 1 && e[0] != 2)) return;
  std::size_t rest = std::min(len - 4, r.left());
  if (rest < 1) return;
  out.eap_type = r.take(1)[0];
  --rest;
  static constexpr std::uint8_t kWfaSimpleConfig[7] = {0x00, 0x37, 0x2a, 0x00, 0x00, 0x00, 0x01};
  if (out.eap_type != 254 || rest < 7 + 2) return;
  const std::uint8_t* v = r.take(7);
  rest -= 7;
  for (int i = 0; i < 7; ++i)
    if (v[i] != kWfaSimpleConfig[i]) return;
  const std::uint8_t* of = r.take(2);  // op-code, flags
  rest -= 2;
  if (of[0] != 0x04) return;  // only WSC_MSG carries attributes
  if (of[1] & 0x01) {         // length field present
    if (rest < 2) return;
    r.take(2);
    rest -= 2;
  }
  while (rest >= 4) {
    const std::uint8_t* a = r.take(4);
    rest -= 4;
    const std::uint16_t type = be16(a), alen = be16(a + 2);
    if (alen > rest) return;
    const std::uint8_t* val = r.take(alen);
    rest -= alen;
    if (type == 0x1022 && alen >= 1) {  // Message Type
      out.wps_message = val[0];
      return;
    }
  }
}

void decode_eapol(std::span<const std::uint8_t> body, eapol_info& out, anomaly_counters& an) {
  // LLC/SNAP with EtherType 0x888e.
  static constexpr std::uint8_t kSnapEapol[8] = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x88, 0x8e};
  if (body.size() < 8) return;
  for (int i = 0; i < 8; ++i)
    if (body[i] != kSnapEapol[i]) return;
  out.present = true;
  reader r(body.subspan(8));
  if (!r.has(4)) {
    an.bump(an.eapol_truncated);
    return;
  }
  const std::uint8_t* h = r.take(4);
  out.packet_type = h[1];
  if (h[1] == 0) {
    decode_eap(r, out);
    return;
  }
  if (h[1] != 3) return;  // not EAPOL-Key
  out.is_key = true;
  // descriptor(1) key_info(2) key_length(2) replay(8) nonce(32) iv(16) rsc(8) id(8) mic(16) key_data_len(2)
  if (!r.has(13)) {
    an.bump(an.eapol_truncated);
    return;
  }
  const std::uint8_t* k = r.take(13);
  const std::uint16_t info = be16(k + 1);
  out.key_info = info;
  for (int i = 0; i < 8; ++i) out.replay_counter = out.replay_counter << 8 | k[5 + i];
  // The nonce and the key data length, as far as the frame holds them.
  bool nonce_zero = true, have_len = false;
  std::uint16_t key_data_len = 0;
  if (r.has(32)) {
    const std::uint8_t* nonce = r.take(32);
    out.nonce = std::span<const std::uint8_t>(nonce, 32);
    for (int i = 0; i < 32; ++i) nonce_zero = nonce_zero && nonce[i] == 0;
    if (r.has(16 + 8 + 8 + 16 + 2)) {
      key_data_len = be16(r.take(50) + 48);
      have_len = true;
      out.has_key_data_len = true;
      out.key_data_len = key_data_len;
    }
  }
  const bool pairwise = info & 0x0008, install = info & 0x0040, ack = info & 0x0080, mic = info & 0x0100,
             secure = info & 0x0200;
  if (!pairwise) return;  // group key handshake
  if (ack) {
    out.message = install ? 3 : 1;
    return;
  }
  if (!mic) return;
  // Message 2 carries the supplicant's RSN element in its key data and a
  // nonce; message 4 has neither.
  if (have_len) out.message = key_data_len > 0 ? 2 : 4;
  else out.message = (secure || nonce_zero) ? 4 : 2;
}

}  // namespace

bool decode_dot11(std::span<const std::uint8_t> frame, bool data_pad, dot11_frame& out, anomaly_counters& an) {
  if (frame.size() < 10) {
    an.bump(an.dot11_truncated);
    return false;
  }
  const std::uint8_t* p = frame.data();
  out.fc = le16(p);
  if ((out.fc & 0x3) != 0) {
    an.bump(an.dot11_bad_version);
    return false;
  }
  out.kind = static_cast<frame_kind>((out.fc >> 2) & 0x3);
  out.subtype = static_cast<std::uint8_t>((out.fc >> 4) & 0xf);
  const std::uint8_t flags = static_cast<std::uint8_t>(out.fc >> 8);
  out.to_ds = flags & 0x01;
  out.from_ds = flags & 0x02;
  out.retry = flags & 0x08;
  out.protected_frame = flags & 0x40;
  out.order = flags & 0x80;
  out.a1 = mac_addr::from_bytes(p + 4);
  out.naddr = 1;
  out.ra = out.a1;

  std::size_t hdr = 0;
  switch (out.kind) {
    case frame_kind::ctrl: {
      // ACK and CTS carry only the receiver; the others also a transmitter.
      if (out.subtype == 0xc || out.subtype == 0xd || out.subtype == 0x6) {
        out.body = frame.subspan(10);
        return true;
      }
      if (frame.size() < 16) {
        an.bump(an.dot11_truncated);
        return false;
      }
      out.a2 = mac_addr::from_bytes(p + 10);
      out.naddr = 2;
      out.ta = out.a2;
      out.has_ta = true;
      if (out.subtype == 0xa) {  // PS-Poll: a1 is the BSSID
        out.bssid = out.a1;
        out.has_bssid = true;
      }
      out.body = frame.subspan(16);
      return true;
    }
    case frame_kind::mgmt:
    case frame_kind::data: {
      const bool four = out.kind == frame_kind::data && out.to_ds && out.from_ds;
      out.qos = out.kind == frame_kind::data && (out.subtype & 0x8);
      hdr = 24 + (four ? 6 : 0) + (out.qos ? 2 : 0) +
            ((out.order && (out.qos || out.kind == frame_kind::mgmt)) ? 4 : 0);
      if (frame.size() < 24 || frame.size() < hdr) {
        an.bump(an.dot11_truncated);
        return false;
      }
      out.a2 = mac_addr::from_bytes(p + 10);
      out.a3 = mac_addr::from_bytes(p + 16);
      out.naddr = 3;
      out.seq = static_cast<std::uint16_t>(le16(p + 22) >> 4);
      out.ta = out.a2;
      out.has_ta = true;
      out.has_bssid = true;
      if (four) {
        out.a4 = mac_addr::from_bytes(p + 24);
        out.naddr = 4;
      }
      if (out.kind == frame_kind::mgmt || (!out.to_ds && !out.from_ds)) {
        out.da = out.a1, out.sa = out.a2, out.bssid = out.a3;
      } else if (out.to_ds && !out.from_ds) {
        out.bssid = out.a1, out.sa = out.a2, out.da = out.a3;
      } else if (!out.to_ds && out.from_ds) {
        out.da = out.a1, out.bssid = out.a2, out.sa = out.a3;
      } else {
        // WDS: no BSSID in the header; the link is ta <-> ra.
        out.da = out.a3, out.sa = out.a4;
        out.has_bssid = false;
      }
      break;
    }
    case frame_kind::ext:
      out.body = frame.subspan(10);
      return true;
  }

  if (out.kind == frame_kind::data) {
    if (data_pad) {
      const std::size_t padded = (hdr + 3) & ~std::size_t{3};
      if (padded > frame.size()) {
        an.bump(an.data_pad_truncated);
        return false;
      }
      hdr = padded;
    }
    out.body = frame.subspan(hdr);
    out.null_data = out.subtype & 0x4;
    if (!out.protected_frame && !out.null_data) decode_eapol(out.body, out.eapol, an);
    return true;
  }

  // Management body: fixed fields, then elements.
  out.body = frame.subspan(hdr);
  if (out.protected_frame) return true;  // encrypted (802.11w action frames, shared-key auth 3)
  std::size_t fixed = 0;
  switch (out.subtype) {
    case kBeacon:
    case kProbeResp: fixed = 12; break;
    case kAssocReq: fixed = 4; break;
    case kReassocReq: fixed = 10; break;
    case kAssocResp:
    case kReassocResp: fixed = 6; break;
    case kAuth: fixed = 6; break;
    case kDisassoc:
    case kDeauth: fixed = 2; break;
    case kProbeReq: fixed = 0; break;
    default: return true;  // action, ATIM, ...: not parsed further
  }
  if (out.body.size() < fixed) {
    an.bump(an.mgmt_body_truncated);
    return true;
  }
  const std::uint8_t* b = out.body.data();
  out.fixed_ok = true;
  switch (out.subtype) {
    case kBeacon:
    case kProbeResp:
      out.capability = le16(b + 10);
      for (int i = 7; i >= 0; --i) out.tsf = out.tsf << 8 | b[i];
      out.beacon_interval = le16(b + 8);
      break;
    case kAssocReq:
    case kReassocReq:
    case kAssocResp:
    case kReassocResp: out.capability = le16(b); break;
    case kAuth:
      out.auth_algorithm = le16(b);
      out.auth_seq = le16(b + 2);
      out.status = le16(b + 4);
      break;
    case kDisassoc:
    case kDeauth: out.reason = le16(b); return true;
    default: break;
  }
  parse_elements(out.body.subspan(fixed), out.ie, an);
  return true;
}

}  // namespace hopwire::collector

#include "collector/decode/decoded_packet.h"

namespace hopwire::collector {

void decode_packet(decoded_packet& p, anomaly_counters& an) {
  p.radio = radio_info{};
  p.addresses = frame_addresses{};
  p.dot11_ok = false;
  p.header = decode_radio_header(p.dlt, p.bytes, p.radio, p.frame, an);
  if (p.header != header_status::ok) return;
  read_frame_addresses(p.frame, p.addresses);
  // A frame that failed its FCS is noise: its addresses serve the filters
  // (as tshark's would), but its contents are not decoded or counted.
  if (p.radio.fcs_bad) return;
  p.dot11 = dot11_frame{};
  p.dot11_ok = decode_dot11(p.frame, p.radio.data_pad, p.dot11, an);
}

void read_frame_addresses(std::span<const std::uint8_t> f, frame_addresses& out) {
  if (f.size() < 10) return;
  const std::uint16_t fc = static_cast<std::uint16_t>(f[0] | f[1] << 8);
  const unsigned type = (fc >> 2) & 3, subtype = (fc >> 4) & 15;
  const bool to_ds = fc & 0x0100, from_ds = fc & 0x0200;
  auto addr = [&](std::size_t off) { return mac_addr::from_bytes(f.data() + off); };
  out.addr[out.count++] = addr(4);
  if (type == 1) {  // control
    if (subtype == 0xc || subtype == 0xd || subtype == 0x6 || f.size() < 16) return;
    out.addr[out.count++] = addr(10);
    if (subtype == 0xa) out.bssid = out.addr[0], out.has_bssid = true;                    // PS-Poll
    if (subtype == 0xe || subtype == 0xf) out.bssid = out.addr[1], out.has_bssid = true;  // CF-End
    return;
  }
  if (f.size() >= 16) out.addr[out.count++] = addr(10);
  if (f.size() >= 22) out.addr[out.count++] = addr(16);
  if (type == 2 && to_ds && from_ds && f.size() >= 30) out.addr[out.count++] = addr(24);
  if (type == 0 || type == 2) {
    int idx;
    if (type == 0 || (!to_ds && !from_ds)) idx = 2;
    else if (to_ds && !from_ds) idx = 0;
    else if (!to_ds && from_ds) idx = 1;
    else idx = -1;  // WDS: no BSSID
    if (idx >= 0 && idx < out.count) {
      out.bssid = out.addr[idx];
      out.has_bssid = true;
    }
  }
}

bool read_frame_addresses(std::uint32_t dlt, std::span<const std::uint8_t> packet, frame_addresses& out) {
  anomaly_counters scratch;  // reading back the log: the decode stage counted these already
  radio_info radio;
  std::span<const std::uint8_t> f;
  if (decode_radio_header(dlt, packet, radio, f, scratch) != header_status::ok) return false;
  if (f.size() < 10) return false;
  read_frame_addresses(f, out);
  return true;
}

}  // namespace hopwire::collector

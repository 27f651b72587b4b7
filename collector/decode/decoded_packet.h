#pragma once
// The decode stage: each accepted packet is decoded once — capture header,
// FCS verdict, 802.11 frame with its address roles and elements, and the
// addresses as a packet filter sees them — and every sink (tracker, pcap-ng
// hub, packet log, alerts) reads the result instead of parsing again.

#include <cstdint>
#include <span>

#include "collector/decode/anomalies.h"
#include "collector/decode/dot11_frame.h"
#include "collector/decode/radio_header.h"
#include "common/mac_addr.h"

namespace hopwire::collector {

// Addresses of an 802.11 frame as a packet filter sees them (tshark's
// wlan.addr and wlan.bssid), read as far as the bytes go: a truncated frame
// still has the addresses it holds.
struct frame_addresses {
  mac_addr addr[4];
  int count = 0;
  mac_addr bssid;
  bool has_bssid = false;
};

struct decoded_packet {
  // As the sensor sent it, after the collector's adjustments (its clock,
  // a virtual GPS).
  std::uint64_t ts_ns = 0;
  std::uint32_t dlt = 0;
  std::uint32_t orig_len = 0;
  std::uint32_t sensor_freq_khz = 0;  // 0 = unknown
  std::int16_t sensor_signal_dbm = 0;
  bool sensor_has_signal = false;
  bool has_gps = false;
  double lat = 0, lon = 0, alt = 0;
  std::span<const std::uint8_t> bytes;  // capture header and frame, as captured

  // Decoded.
  header_status header = header_status::bad;
  radio_info radio;
  std::span<const std::uint8_t> frame;  // the 802.11 frame, FCS removed
  bool dot11_ok = false;                // `dot11` holds a readable MAC header
  dot11_frame dot11;
  frame_addresses addresses;            // valid when header == ok

  // Undecodable, or its FCS is wrong: counted, never tracked.
  bool error() const { return header != header_status::ok || radio.fcs_bad || !dot11_ok; }
  std::uint32_t freq_mhz() const { return radio.freq_mhz ? radio.freq_mhz : sensor_freq_khz / 1000; }
  bool has_signal() const { return radio.has_signal || sensor_has_signal; }
  std::int16_t signal_dbm() const { return radio.has_signal ? radio.signal_dbm : sensor_signal_dbm; }
  std::uint32_t length() const { return orig_len ? orig_len : static_cast<std::uint32_t>(bytes.size()); }
};

// Fills the decoded part of `p` from its wire fields. Oddities bump `an`.
void decode_packet(decoded_packet& p, anomaly_counters& an);

// The filter's view of an 802.11 frame (no capture header).
void read_frame_addresses(std::span<const std::uint8_t> frame, frame_addresses& out);
// The same from captured bytes with their capture header (the packet log's
// history filter). False when the capture header cannot be read.
bool read_frame_addresses(std::uint32_t dlt, std::span<const std::uint8_t> packet, frame_addresses& out);

}  // namespace hopwire::collector

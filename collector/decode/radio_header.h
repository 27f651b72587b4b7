#pragma once
// Decodes the capture header in front of an 802.11 frame — radiotap (127),
// PPI (192), Prism (119) / AVS (163), or none (105) — into a small struct
// the caller owns, and finds where the 802.11 frame starts and ends.
// Bounds-checked, allocation-free; oddities bump named anomaly counters.

#include <cstdint>
#include <span>

#include "collector/decode/anomalies.h"

namespace hopwire::collector {

inline constexpr std::uint32_t kDltIeee80211 = 105;
inline constexpr std::uint32_t kDltPrism = 119;
inline constexpr std::uint32_t kDltRadiotap = 127;
inline constexpr std::uint32_t kDltAvs = 163;
inline constexpr std::uint32_t kDltPpi = 192;

struct radio_info {
  std::uint32_t freq_mhz = 0;        // 0: unknown
  std::int16_t signal_dbm = 0;       // valid when has_signal
  std::int16_t noise_dbm = 0;        // valid when has_noise
  bool has_signal = false;
  bool has_noise = false;
  bool fcs_present = false;          // the frame ends with a 4-byte FCS (stripped from `frame`)
  bool fcs_bad = false;              // header says so, or our CRC check failed
  bool data_pad = false;             // radiotap: padding between 802.11 header and body
  std::uint32_t rate_kbps = 0;       // legacy rate, 0 when unknown
  std::uint8_t phy_seen = 0;         // kPhyHt | kPhyVht | kPhyHe | kPhyEht from the radio header
};

inline constexpr std::uint8_t kPhyHt = 1, kPhyVht = 2, kPhyHe = 4, kPhyEht = 8;

enum class header_status : std::uint8_t { ok, truncated, unknown_linktype, bad };

// On ok, `frame` is the 802.11 frame (FCS removed when present).
header_status decode_radio_header(std::uint32_t dlt, std::span<const std::uint8_t> in, radio_info& out,
                                  std::span<const std::uint8_t>& frame, anomaly_counters& anomalies);

}  // namespace hopwire::collector

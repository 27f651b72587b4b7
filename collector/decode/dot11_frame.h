#pragma once
// Decodes one 802.11 frame: frame control, addresses and their roles,
// management bodies and their tagged elements, authentication, and EAPOL-Key
// in data frames. Fills a struct the caller owns; spans point into the
// frame. Bounds-checked, allocation-free; oddities bump anomaly counters and
// the decoder keeps what it could read before the problem.

#include <cstdint>
#include <span>

#include "collector/decode/anomalies.h"
#include "collector/decode/radio_header.h"
#include "common/mac_addr.h"

namespace hopwire::collector {

enum class frame_kind : std::uint8_t { mgmt = 0, ctrl = 1, data = 2, ext = 3 };

// Management subtypes.
inline constexpr std::uint8_t kAssocReq = 0, kAssocResp = 1, kReassocReq = 2, kReassocResp = 3, kProbeReq = 4,
                              kProbeResp = 5, kBeacon = 8, kAtim = 9, kDisassoc = 10, kAuth = 11, kDeauth = 12,
                              kAction = 13;

// Bits of a cipher set: bit n = suite 00-0F-AC:n (WPA's 00-50-F2:n maps the same).
inline constexpr std::uint32_t kCipherWep40 = 1u << 1, kCipherTkip = 1u << 2, kCipherCcmp128 = 1u << 4,
                               kCipherWep104 = 1u << 5, kCipherGcmp128 = 1u << 8, kCipherGcmp256 = 1u << 9,
                               kCipherCcmp256 = 1u << 10, kCipherOther = 1u << 31;
// Bits of an AKM set: bit n = suite 00-0F-AC:n; bit 31 = vendor/unknown.
inline constexpr std::uint32_t kAkmEap = 1u << 1, kAkmPsk = 1u << 2, kAkmFtEap = 1u << 3, kAkmFtPsk = 1u << 4,
                               kAkmEapSha256 = 1u << 5, kAkmPskSha256 = 1u << 6, kAkmSae = 1u << 8,
                               kAkmFtSae = 1u << 9, kAkmEapSuiteB = 1u << 11, kAkmEapSuiteB192 = 1u << 12,
                               kAkmFtEapSha384 = 1u << 13, kAkmFils256 = 1u << 14, kAkmFils384 = 1u << 15,
                               kAkmFtFils256 = 1u << 16, kAkmFtFils384 = 1u << 17, kAkmOwe = 1u << 18,
                               kAkmFtPskSha384 = 1u << 19, kAkmPskSha384 = 1u << 20, kAkmSaeExt = 1u << 24,
                               kAkmFtSaeExt = 1u << 25, kAkmOther = 1u << 31;

struct rsn_info {
  bool present = false;
  std::uint32_t group = 0, pairwise = 0, akms = 0;
  bool mfpc = false, mfpr = false;
};

// What the tagged elements of a management body said.
struct element_info {
  bool has_ssid = false;
  std::span<const std::uint8_t> ssid;
  std::span<const std::uint8_t> mesh_id;
  bool has_mesh_id = false;
  std::uint8_t ds_channel = 0;      // DS Parameter Set
  std::uint8_t ht_primary = 0;      // HT Operation primary channel
  std::uint8_t he6_primary = 0;     // HE Operation's 6 GHz primary channel (a 6 GHz number)
  std::uint8_t phy = 0;             // kPhyHt | kPhyVht | kPhyHe | kPhyEht (capability elements)
  std::uint8_t ht_width = 0;        // HT operation secondary offset: 0 none, 1 above, 3 below
  std::uint8_t vht_width = 0;       // VHT operation channel width field
  rsn_info rsn;
  rsn_info wpa;                     // WPA1 vendor element (mfp unused)
  bool wps = false;
  std::uint8_t wps_state = 0;       // 1 unconfigured, 2 configured
  bool owe_transition = false;
  char country[2] = {0, 0};
  std::uint8_t max_rate_500k = 0;   // highest supported/extended rate
  bool malformed = false;           // some element was truncated or impossible
};

struct eapol_info {
  bool present = false;
  bool is_key = false;
  std::uint8_t message = 0;  // 4-way handshake message 1..4, 0 if not a pairwise key frame
  std::uint64_t replay_counter = 0;

  // What the alert engine reads (NONCEREUSE, NONCEDEGRADE, WPSBRUTE).
  std::uint8_t packet_type = 0xff;    // EAPOL packet type: 0 EAP, 1 Start, 2 Logoff, 3 Key; 0xff unread
  // EAPOL-Key, as far as present.
  std::uint16_t key_info = 0;
  std::span<const std::uint8_t> nonce;  // the 32-byte key nonce, empty when cut off
  bool has_key_data_len = false;
  std::uint16_t key_data_len = 0;
  // EAP packets (type 0).
  std::uint8_t eap_code = 0;          // 1 Request, 2 Response, 3 Success, 4 Failure; 0 unread
  std::uint8_t eap_type = 0;          // Request/Response type (254 expanded)
  std::uint8_t wps_message = 0;       // Wi-Fi Simple Config Message Type (0x04 M1 ... 0x07 M3 ...), 0 none
};

struct dot11_frame {
  frame_kind kind = frame_kind::mgmt;
  std::uint8_t subtype = 0;
  std::uint16_t fc = 0;
  bool to_ds = false, from_ds = false, retry = false, protected_frame = false, order = false;
  std::uint8_t naddr = 0;  // how many of a1..a4 are present
  mac_addr a1, a2, a3, a4;
  // Roles, valid when naddr allows: transmitter, receiver, BSSID, source, destination.
  mac_addr ta, ra, bssid, sa, da;
  bool has_ta = false, has_bssid = false;
  std::uint16_t seq = 0;
  bool qos = false;
  std::span<const std::uint8_t> body;  // after the MAC header

  // Management.
  std::uint16_t capability = 0;  // beacon / probe response / assoc request
  bool fixed_ok = false;         // fixed fields were all present
  std::uint64_t tsf = 0;              // beacon / probe response timestamp (TSF, microseconds)
  std::uint16_t beacon_interval = 0;  // beacon / probe response, in TU (1024 us)
  element_info ie;
  std::uint16_t auth_algorithm = 0xffff, auth_seq = 0, status = 0, reason = 0;

  // Data.
  bool null_data = false;
  eapol_info eapol;

  bool is_mgmt(std::uint8_t st) const { return kind == frame_kind::mgmt && subtype == st; }
  bool cap_privacy() const { return capability & 0x0010; }
  bool cap_ibss() const { return capability & 0x0002; }
  bool cap_ess() const { return capability & 0x0001; }
};

// Returns false when the frame is too short for its MAC header (nothing in
// `out` but frame control may be trusted then).
bool decode_dot11(std::span<const std::uint8_t> frame, bool data_pad, dot11_frame& out, anomaly_counters& anomalies);

// Parses tagged elements into `out`. Exposed for tests and the fuzzer.
void parse_elements(std::span<const std::uint8_t> body, element_info& out, anomaly_counters& anomalies);

}  // namespace hopwire::collector

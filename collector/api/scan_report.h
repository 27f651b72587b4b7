#pragma once
// Kismet's scan report endpoint, POST /phy/phy80211/scan/scan_report.cmd:
// phones and ESP32 boards that cannot capture post the access points they
// scanned. Every report is validated; good ones update devices through a
// virtual "scan" source, bad ones are listed by index with the field and
// what was expected (Kismet silently drops what it cannot use).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/track/device_tracker.h"

namespace hopwire::collector {

struct report_error {
  std::size_t index = 0;  // into reports; SIZE_MAX for the request itself
  std::string field, message;
};

struct scan_request {
  std::string source_name, source_uuid;
  std::vector<observed_ap> accepted;
  std::vector<report_error> rejected;
  std::size_t total = 0;
};

inline constexpr std::size_t kMaxReports = 10000;
inline constexpr std::size_t kScanBodyLimit = 1024 * 1024;

// Parses and validates a command (raw JSON text). Returns false with
// `request_errors` set when the request itself is unusable (not JSON, no
// source, no reports); per-report problems go to out.rejected.
bool parse_scan_request(std::string_view json, std::uint64_t now_ns, scan_request& out,
                        std::vector<report_error>& request_errors);

// Encryption names: OPEN, WPA, WPA1, WPA2, WPA3, OWE, each optionally with
// -PSK, -EAP or -SAE; or an Android capabilities string such as
// "[WPA2-PSK-CCMP][ESS]". False when a name is not understood.
bool parse_encryption(std::string_view name, observed_ap& ap);
bool parse_capabilities(std::string_view caps, observed_ap& ap);


}  // namespace hopwire::collector

#pragma once
// Devices as Kismet's JSON: the same field names (kismet.device.base.*,
// dot11.device.*, dot11.advertisedssid.*, ...) so Kismet's REST clients
// work unchanged, plus hopwire.* fields for what Kismet does not report.
// write_device() drives any rapidjson SAX handler (a Writer, a Document).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collector/track/device.h"
#include "common/mac_addr.h"
#include "common/text.h"

namespace hopwire::collector {

class device_tracker;

template <typename Handler>
void write_device(Handler& h, const device& d, const device_tracker& tracker);

// The records inside a device, for events about one of them.
template <typename Handler>
void write_ssid_record(Handler& h, const ssid_record& r, bool beacon);
template <typename Handler>
void write_probed_record(Handler& h, const probed_record& p);

// Kismet-style device key: "4202770D00000000_" + 16 hex digits of the MAC.
std::string device_key(mac_addr mac);
std::optional<mac_addr> parse_device_key(std::string_view key);

// "Open", "WEP", or "/"-joined WPA, WPA2, WPA3, OWE.
std::string crypt_summary(std::uint16_t security, std::uint32_t rsn_akms);

const char* akm_name(unsigned suite);
const char* cipher_name(unsigned suite);
const char* auth_algorithm_name(unsigned alg);

}  // namespace hopwire::collector

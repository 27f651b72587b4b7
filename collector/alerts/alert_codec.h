#pragma once
// The stored form of an alert and of a watch-list entry: a version byte,
// then fixed-width little-endian numbers and length-prefixed strings. The
// decoder checks every length against what remains and the limits below,
// so a damaged record is refused with a reason, never read past its end.

#include <cstdint>
#include <string>
#include <string_view>

#include "collector/alerts/alert.h"
#include "collector/config/alerts_config.h"

namespace hopwire::collector {

inline constexpr std::uint8_t kAlertRecordVersion = 1;
inline constexpr std::size_t kMaxAlertText = 4096;      // bytes of an alert's text
inline constexpr std::size_t kMaxAlertString = 1024;    // other strings
inline constexpr std::size_t kMaxAlertSeenby = 256;

std::string encode_alert(const alert& a);
bool decode_alert(std::string_view record, alert& out, std::string& why);

// Watch list: key = the 6 MAC bytes and the mask's bit count; value =
// version and the found/lost bits.
std::string encode_watch_key(const mac_mask& m);
std::string encode_watch_value(const watch_entry& e);
bool decode_watch(std::string_view key, std::string_view value, watch_entry& out, std::string& why);

}  // namespace hopwire::collector

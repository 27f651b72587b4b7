#pragma once
// Bytes from the air or from a peer (SSIDs, source names) as text fit for
// JSON and logs.

#include <string>
#include <string_view>

namespace hopwire {

// Valid UTF-8 is kept; every other byte is written as the four characters
// \xNN. A literal backslash stays as it is, so the text alone cannot tell
// "\xe9" typed into an SSID from the byte 0xE9: where that matters the JSON
// also carries the exact bytes in hex (hopwire.advertisedssid.ssid_hex).
std::string ssid_text(std::string_view bytes);

}  // namespace hopwire

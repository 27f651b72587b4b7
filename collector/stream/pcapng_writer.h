#pragma once
// pcap-ng blocks (Section Header, Interface Description, Enhanced Packet),
// little-endian, appended to a std::string. Block layouts from the pcap-ng
// specification (draft-ietf-opsawg-pcapng).

#include <cstdint>
#include <string>
#include <string_view>

namespace hopwire::collector::pcapng {

// SHB with shb_userappl = `application`.
void section_header(std::string& out, std::string_view application);

// IDB with if_name, if_description and if_tsresol = 9 (nanoseconds).
void interface_description(std::string& out, std::uint16_t link_type, std::string_view name,
                           std::string_view description);

// EPB. `comment` (may be empty) goes in an opt_comment option.
void enhanced_packet(std::string& out, std::uint32_t interface_id, std::uint64_t ts_ns, std::string_view data,
                     std::uint32_t orig_len, std::string_view comment);

// The EPB comment carrying metadata radiotap has no place for: a GPS fix,
// and the sensor's frequency and signal for plain 802.11 (link type 105).
// Empty when there is nothing to say (the common case, and cheap).
std::string metadata_comment(std::uint32_t dlt, std::uint32_t freq_khz, bool has_signal, int signal_dbm, bool has_gps,
                             double lat, double lon, double alt);

}  // namespace hopwire::collector::pcapng

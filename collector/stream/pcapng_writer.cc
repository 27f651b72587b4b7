#include "collector/stream/pcapng_writer.h"

#include <cstdio>

namespace hopwire::collector::pcapng {

namespace {

void u16(std::string& o, std::uint16_t v) {
  o.push_back(static_cast<char>(v));
  o.push_back(static_cast<char>(v >> 8));
}
void u32(std::string& o, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<char>(v >> (8 * i)));
}
void pad4(std::string& o, std::size_t n) { o.append((4 - n % 4) % 4, '\0'); }

void option(std::string& o, std::uint16_t code, std::string_view value) {
  u16(o, code);
  u16(o, static_cast<std::uint16_t>(value.size()));
  o.append(value);
  pad4(o, value.size());
}
void end_of_options(std::string& o) { u32(o, 0); }

// Writes the block's total length at `start + 4` and at the end.
void finish(std::string& o, std::size_t start) {
  const auto len = static_cast<std::uint32_t>(o.size() - start + 4);
  for (int i = 0; i < 4; ++i) o[start + 4 + i] = static_cast<char>(len >> (8 * i));
  u32(o, len);
}

constexpr std::size_t kMaxOption = 65535 - 4;

}  // namespace

void section_header(std::string& o, std::string_view application) {
  const auto start = o.size();
  u32(o, 0x0A0D0D0A);
  u32(o, 0);  // length, patched
  u32(o, 0x1A2B3C4D);
  u16(o, 1);
  u16(o, 0);
  u32(o, 0xffffffff);  // section length unknown
  u32(o, 0xffffffff);
  option(o, 4, application.substr(0, kMaxOption));  // shb_userappl
  end_of_options(o);
  finish(o, start);
}

void interface_description(std::string& o, std::uint16_t link_type, std::string_view name,
                           std::string_view description) {
  const auto start = o.size();
  u32(o, 1);
  u32(o, 0);
  u16(o, link_type);
  u16(o, 0);
  u32(o, 0);  // snaplen: no limit
  if (!name.empty()) option(o, 2, name.substr(0, kMaxOption));                 // if_name
  if (!description.empty()) option(o, 3, description.substr(0, kMaxOption));   // if_description
  option(o, 9, std::string_view("\x09", 1));                                   // if_tsresol: 10^-9
  end_of_options(o);
  finish(o, start);
}

void enhanced_packet(std::string& o, std::uint32_t interface_id, std::uint64_t ts_ns, std::string_view data,
                     std::uint32_t orig_len, std::string_view comment) {
  const auto start = o.size();
  u32(o, 6);
  u32(o, 0);
  u32(o, interface_id);
  u32(o, static_cast<std::uint32_t>(ts_ns >> 32));
  u32(o, static_cast<std::uint32_t>(ts_ns));
  u32(o, static_cast<std::uint32_t>(data.size()));
  u32(o, orig_len < data.size() ? static_cast<std::uint32_t>(data.size()) : orig_len);
  o.append(data);
  pad4(o, data.size());
  if (!comment.empty()) {
    option(o, 1, comment.substr(0, kMaxOption));  // opt_comment
    end_of_options(o);
  }
  finish(o, start);
}

std::string metadata_comment(std::uint32_t dlt, std::uint32_t freq_khz, bool has_signal, int signal_dbm, bool has_gps,
                             double lat, double lon, double alt) {
  const bool radio = dlt == 105 && (freq_khz || has_signal);
  if (!has_gps && !radio) return {};
  std::string out = "hopwire:";
  char buf[96];
  if (has_gps) {
    std::snprintf(buf, sizeof buf, " lat=%.7f lon=%.7f alt=%.1f", lat, lon, alt);
    out += buf;
  }
  if (radio) {
    std::snprintf(buf, sizeof buf, " freq_khz=%u", freq_khz);
    out += buf;
    if (has_signal) {
      std::snprintf(buf, sizeof buf, " signal_dbm=%d", signal_dbm);
      out += buf;
    }
  }
  return out;
}

}  // namespace hopwire::collector::pcapng

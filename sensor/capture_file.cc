#include "capture_file.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace hopwire::sensor {

namespace {
constexpr std::uint32_t kPcapMagicUs = 0xa1b2c3d4;
constexpr std::uint32_t kPcapMagicNs = 0xa1b23c4d;
constexpr std::uint32_t kShbType = 0x0A0D0D0A;
constexpr std::uint32_t kIdbType = 1;
constexpr std::uint32_t kObsoletePacketType = 2;
constexpr std::uint32_t kSpbType = 3;
constexpr std::uint32_t kEpbType = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
// The link type of an interface whose description was too large to read:
// its packets are skipped (and counted).
constexpr std::uint32_t kSkippedInterface = 0xffffffff;

std::uint32_t bswap32(std::uint32_t v) { return __builtin_bswap32(v); }
}  // namespace

capture_file::capture_file(std::size_t buffer_bytes)
    : buf_(new std::uint8_t[buffer_bytes]), cap_(buffer_bytes) {
  interfaces_.reserve(8);
}

capture_file::~capture_file() {
  if (file_) std::fclose(file_);
}

std::uint16_t capture_file::rd16(const std::uint8_t* p) const {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return swapped_ ? __builtin_bswap16(v) : v;
}

std::uint32_t capture_file::rd32(const std::uint8_t* p) const {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped_ ? bswap32(v) : v;
}

bool capture_file::fill(std::size_t need) {
  if (end_ - pos_ >= need) return true;
  if (need > cap_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    file_offset_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  while (end_ < need) {
    const std::size_t n = std::fread(buf_.get() + end_, 1, cap_ - end_, file_);
    if (n == 0) return false;
    end_ += n;
  }
  return true;
}

capture_file::result capture_file::fail(std::string message) {
  error_ = path_ + ": " + message + " at byte " + std::to_string(file_offset_ + pos_);
  return result::error;
}

void capture_file::open(const std::string& path) {
  if (file_) std::fclose(file_);
  path_ = path;
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw std::runtime_error("cannot open capture file " + path + ": " + std::strerror(errno));
  rewind();
}

void capture_file::rewind() {
  std::fseek(file_, 0, SEEK_SET);
  pos_ = end_ = 0;
  file_offset_ = 0;
  interfaces_.clear();
  error_.clear();
  if (!fill(24)) throw std::runtime_error(path_ + ": too short to be a pcap or pcap-ng file");
  const std::uint8_t* p = buf_.get();
  std::uint32_t magic;
  std::memcpy(&magic, p, 4);
  if (magic == kShbType) {
    pcapng_ = true;
    // The section header is parsed by next_pcapng like any other block.
    if (!fill(12)) throw std::runtime_error(path_ + ": truncated pcap-ng section header");
    std::uint32_t bom;
    std::memcpy(&bom, p + 8, 4);
    if (bom != kByteOrderMagic && bswap32(bom) != kByteOrderMagic)
      throw std::runtime_error(path_ + ": pcap-ng section header has a bad byte-order magic");
    swapped_ = bom != kByteOrderMagic;
    // Read ahead to learn the first interface's link type.
    first_dlt_ = 0;
    return;
  }
  pcapng_ = false;
  if (magic == kPcapMagicUs || magic == kPcapMagicNs) {
    swapped_ = false;
  } else if (bswap32(magic) == kPcapMagicUs || bswap32(magic) == kPcapMagicNs) {
    swapped_ = true;
    magic = bswap32(magic);
  } else {
    throw std::runtime_error(path_ + ": not a pcap or pcap-ng file (unknown magic number)");
  }
  nanosecond_ = magic == kPcapMagicNs;
  const std::uint16_t major = rd16(p + 4);
  if (major != 2) throw std::runtime_error(path_ + ": unsupported pcap version " + std::to_string(major));
  snaplen_ = rd32(p + 16);
  // The upper bits of the link-type field may carry FCS information.
  first_dlt_ = rd32(p + 20) & 0x0fffffff;
  pos_ = 24;
}

namespace {

// frac/units of a second in nanoseconds (frac < units, so below 1e9), without
// 128-bit arithmetic: 32-bit targets such as MIPS routers have none.
std::uint64_t frac_to_ns(std::uint64_t frac, std::uint64_t units) {
  constexpr std::uint64_t kNs = 1000000000ull;
  if (units <= UINT64_MAX / kNs) return frac * kNs / units;  // frac * kNs cannot overflow
  if (units % kNs == 0) return frac / (units / kNs);         // 10^n units, n > 9
  return static_cast<std::uint64_t>(static_cast<long double>(frac) * kNs / static_cast<long double>(units));
}

}  // namespace

std::uint64_t capture_file::to_ns(const interface_info& ifc, std::uint64_t ts) const {
  const std::uint64_t units = ifc.ts_units_per_sec;
  std::uint64_t ns;
  if (units == 1000000000) {
    ns = ts;
  } else {
    const std::uint64_t sec = ts / units;
    const std::uint64_t frac = ts % units;
    ns = sec * 1000000000ull + frac_to_ns(frac, units);
  }
  // Unsigned: an offset of centuries must wrap, not overflow.
  return ns + static_cast<std::uint64_t>(ifc.ts_offset_sec) * 1000000000ull;
}

capture_file::result capture_file::next(file_packet& out) {
  if (!error_.empty()) return result::error;
  return pcapng_ ? next_pcapng(out) : next_pcap(out);
}

capture_file::result capture_file::next_pcap(file_packet& out) {
  if (!fill(16)) {
    if (end_ == pos_) return result::end;
    return fail("truncated packet header");
  }
  const std::uint8_t* h = buf_.get() + pos_;
  const std::uint32_t sec = rd32(h);
  const std::uint32_t frac = rd32(h + 4);
  const std::uint32_t incl = rd32(h + 8);
  const std::uint32_t orig = rd32(h + 12);
  if (incl > 262144 || incl + 16 > cap_) return fail("packet claims " + std::to_string(incl) + " bytes");
  if (!fill(16 + incl)) return fail("truncated packet data");
  h = buf_.get() + pos_;
  out.ts_ns = std::uint64_t(sec) * 1000000000ull + (nanosecond_ ? frac : std::uint64_t(frac) * 1000);
  out.orig_len = orig < incl ? incl : orig;
  out.dlt = first_dlt_;
  out.data = {h + 16, incl};
  pos_ += 16 + incl;
  ++packets_;
  return result::packet;
}

bool capture_file::parse_shb(const std::uint8_t* body, std::size_t len) {
  if (len < 4) return false;
  std::uint32_t bom;
  std::memcpy(&bom, body, 4);
  if (bom == kByteOrderMagic) swapped_ = false;
  else if (bswap32(bom) == kByteOrderMagic) swapped_ = true;
  else return false;
  interfaces_.clear();  // interface ids are per section
  return true;
}

void capture_file::parse_idb(const std::uint8_t* body, std::size_t len) {
  interface_info ifc;
  if (len >= 8) {
    ifc.dlt = rd16(body);
    // Options start after linktype(2) reserved(2) snaplen(4).
    std::size_t off = 8;
    while (off + 4 <= len) {
      const std::uint16_t code = rd16(body + off);
      const std::uint16_t olen = rd16(body + off + 2);
      off += 4;
      if (code == 0 || off + olen > len) break;
      if (code == 9 && olen >= 1) {  // if_tsresol
        const std::uint8_t r = body[off];
        const unsigned exp = r & 0x7f;
        std::uint64_t units = 1;
        if (r & 0x80) {
          units = exp < 64 ? (1ull << exp) : 0;
        } else {
          for (unsigned i = 0; i < exp && units <= 1000000000000000000ull; ++i) units *= 10;
          if (exp > 18) units = 0;
        }
        if (units) ifc.ts_units_per_sec = units;
      } else if (code == 14 && olen >= 8) {  // if_tsoffset, seconds
        std::uint64_t v;
        std::memcpy(&v, body + off, 8);
        if (swapped_) v = __builtin_bswap64(v);
        ifc.ts_offset_sec = static_cast<std::int64_t>(v);
      }
      off += (olen + 3u) & ~3u;
    }
  }
  if (interfaces_.empty() && first_dlt_ == 0) first_dlt_ = ifc.dlt;
  interfaces_.push_back(ifc);
}

capture_file::result capture_file::next_pcapng(file_packet& out) {
  for (;;) {
    if (!fill(12)) {
      if (end_ == pos_) return result::end;
      return fail("truncated block header");
    }
    const std::uint8_t* b = buf_.get() + pos_;
    std::uint32_t type;
    std::memcpy(&type, b, 4);
    if (type == kShbType) {
      // Byte order is defined by this block; read its magic before its length.
      std::uint32_t bom;
      std::memcpy(&bom, b + 8, 4);
      if (bom == kByteOrderMagic) swapped_ = false;
      else if (bswap32(bom) == kByteOrderMagic) swapped_ = true;
      else return fail("bad section header byte-order magic");
    } else {
      type = rd32(b);
    }
    const std::uint32_t total = rd32(b + 4);
    if (total < 12 || total % 4 != 0) return fail("bad block length " + std::to_string(total));
    if (total > cap_) {
      // Bigger than our buffer: no packet of ours is that large; skip it.
      // An interface description still takes its number, or every later
      // interface's packets would get the wrong link type.
      if (type == kIdbType) {
        interface_info placeholder;
        placeholder.dlt = kSkippedInterface;
        interfaces_.push_back(placeholder);
      }
      if (std::fseek(file_, static_cast<long>(file_offset_ + pos_ + total), SEEK_SET) != 0)
        return fail("cannot skip oversize block");
      file_offset_ += pos_ + total;
      pos_ = end_ = 0;
      ++skipped_;
      continue;
    }
    if (!fill(total)) return fail("truncated block");
    b = buf_.get() + pos_;
    const std::uint8_t* body = b + 8;
    const std::size_t body_len = total - 12;
    pos_ += total;

    switch (type) {
      case kShbType:
        if (!parse_shb(body, body_len)) return fail("bad section header");
        break;
      case kIdbType:
        parse_idb(body, body_len);
        break;
      case kEpbType: {
        if (body_len < 20) return fail("enhanced packet block too short");
        const std::uint32_t ifid = rd32(body);
        const std::uint64_t ts = (std::uint64_t(rd32(body + 4)) << 32) | rd32(body + 8);
        const std::uint32_t caplen = rd32(body + 12);
        const std::uint32_t orig = rd32(body + 16);
        if (caplen > body_len - 20) return fail("packet data runs past its block");
        if (ifid >= interfaces_.size() || interfaces_[ifid].dlt == kSkippedInterface) {
          ++skipped_;
          break;
        }
        const interface_info& ifc = interfaces_[ifid];
        out.ts_ns = to_ns(ifc, ts);
        out.orig_len = orig < caplen ? caplen : orig;
        out.dlt = ifc.dlt;
        out.data = {body + 20, caplen};
        ++packets_;
        return result::packet;
      }
      case kSpbType: {
        if (body_len < 4 || interfaces_.empty() || interfaces_[0].dlt == kSkippedInterface) {
          ++skipped_;
          break;
        }
        const std::uint32_t orig = rd32(body);
        std::uint32_t caplen = static_cast<std::uint32_t>(body_len - 4);
        if (orig < caplen) caplen = orig;
        out.ts_ns = 0;  // simple packet blocks carry no time
        out.orig_len = orig;
        out.dlt = interfaces_[0].dlt;
        out.data = {body + 4, caplen};
        ++packets_;
        return result::packet;
      }
      case kObsoletePacketType: {
        if (body_len < 20) return fail("packet block too short");
        const std::uint32_t ifid = rd16(body);
        const std::uint64_t ts = (std::uint64_t(rd32(body + 4)) << 32) | rd32(body + 8);
        const std::uint32_t caplen = rd32(body + 12);
        const std::uint32_t orig = rd32(body + 16);
        if (caplen > body_len - 20) return fail("packet data runs past its block");
        if (ifid >= interfaces_.size() || interfaces_[ifid].dlt == kSkippedInterface) {
          ++skipped_;
          break;
        }
        const interface_info& ifc = interfaces_[ifid];
        out.ts_ns = to_ns(ifc, ts);
        out.orig_len = orig < caplen ? caplen : orig;
        out.dlt = ifc.dlt;
        out.data = {body + 20, caplen};
        ++packets_;
        return result::packet;
      }
      default:
        break;  // statistics, name resolution, custom blocks: not ours
    }
  }
}

}  // namespace hopwire::sensor

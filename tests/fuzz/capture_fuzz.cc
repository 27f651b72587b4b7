// libFuzzer target over the sensor's capture-file reader
// (sensor/capture_file.h): open, next to the end, rewind, next again.
//
// Input: the bytes of a file, pcap or pcap-ng or anything else. capture_file
// reads a path, so the input goes into one memfd, reopened through
// /proc/self/fd for every reader. Two readers see each input: one with the
// sensor's buffer (256 KiB) and one with a 512-byte buffer, so that blocks
// too large for the buffer (skipped in pcap-ng, an error in pcap) are
// reachable with small inputs. Seeds: tests/fuzz/corpus/capture/
// (make_capture_seeds.py writes them).
//
// Oracles, besides the sanitizers:
//  - open() refuses with std::runtime_error and nothing else;
//  - every call to next() makes progress: a file of n bytes yields at most
//    n / 12 packets, and a reader ends with `end` or `error`, with a message
//    for the error;
//  - a packet fits in the reader's buffer and its original length is at
//    least its captured length; a pcap packet has the file's link type;
//  - rewind() reads exactly the same packets again, and the same ending;
//  - when the large reader reads the file to its end, what the small one
//    returns is a subsequence of that (it can only skip or stop earlier);
//    for pcap, a prefix.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "sensor/capture_file.h"

using hopwire::sensor::capture_file;
using hopwire::sensor::file_packet;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "capture_fuzz: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// The input as a file. One memfd for the whole run.
const std::string& input_path(const std::uint8_t* data, std::size_t size) {
  static const int fd = [] {
    const int f = memfd_create("capture_fuzz", 0);
    if (f < 0) fail("memfd_create failed");
    return f;
  }();
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (ftruncate(fd, 0) != 0) fail("ftruncate failed");
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) fail("pwrite failed");
    done += static_cast<std::size_t>(n);
  }
  return path;
}

struct seen {
  std::uint64_t ts_ns;
  std::uint32_t orig_len, dlt, len;
  std::uint64_t hash;
  bool same_packet(const seen& o) const { return orig_len == o.orig_len && len == o.len && hash == o.hash; }
  bool operator==(const seen&) const = default;
};

std::uint64_t fnv(std::span<const std::uint8_t> b) {
  std::uint64_t h = 1469598103934665603ull;
  for (const std::uint8_t x : b) h = (h ^ x) * 1099511628211ull;
  return h;
}

struct pass {
  std::vector<seen> packets;
  capture_file::result last = capture_file::result::end;
};

pass read_to_end(capture_file& f, std::size_t file_size, std::size_t buffer) {
  pass p;
  file_packet pkt;
  for (;;) {
    p.last = f.next(pkt);
    if (p.last != capture_file::result::packet) break;
    check(p.packets.size() <= file_size / 12, "more packets than the file has room for");
    check(pkt.data.size() <= buffer, "packet larger than the reader's buffer");
    check(pkt.orig_len >= pkt.data.size(), "original length below the captured length");
    if (!f.is_pcapng()) check(pkt.dlt == f.first_dlt(), "pcap packet with another link type than the file's");
    p.packets.push_back({pkt.ts_ns, pkt.orig_len, pkt.dlt, static_cast<std::uint32_t>(pkt.data.size()), fnv(pkt.data)});
  }
  if (p.last == capture_file::result::error) check(!f.error_message().empty(), "error without a message");
  else check(f.error_message().empty(), "clean end with an error message");
  return p;
}

// Returns false when the file does not open.
bool read_twice(const std::string& path, std::size_t size, std::size_t buffer, pass& out, bool& pcapng) {
  capture_file f(buffer);
  try {
    f.open(path);
  } catch (const std::runtime_error& e) {
    check(std::strlen(e.what()) > 0, "refusal without a message");
    return false;
  }
  pcapng = f.is_pcapng();
  out = read_to_end(f, size, buffer);
  check(f.packets_read() == out.packets.size(), "packets_read() miscounts");
  try {
    f.rewind();
  } catch (const std::runtime_error&) {
    fail("rewind refused a file that opened");
  }
  const pass again = read_to_end(f, size, buffer);
  check(again.last == out.last, "rewind ends differently");
  check(again.packets == out.packets, "rewind reads other packets");
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = input_path(data, size);
  constexpr std::size_t kSensorBuffer = 256 * 1024, kSmallBuffer = 512;
  pass large, small;
  bool ng_large = false, ng_small = false;
  const bool opened = read_twice(path, size, kSensorBuffer, large, ng_large);
  const bool opened_small = read_twice(path, size, kSmallBuffer, small, ng_small);
  check(opened == opened_small, "the buffer size decides whether a file opens");
  if (!opened) return 0;
  check(ng_large == ng_small, "the buffer size decides the format");
  // The small reader skips (pcap-ng) or stops (pcap) where a block does not
  // fit; whatever it returns, the large one returned too, in that order. (A
  // skipped block is not looked into: when the large reader stopped at a
  // corrupt one, the small one may read on past it.)
  if (large.last != capture_file::result::end) return 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < small.packets.size(); ++i, ++j) {
    while (j < large.packets.size() && !large.packets[j].same_packet(small.packets[i])) ++j;
    check(j < large.packets.size(), "the small reader returned a packet the large one did not");
    if (!ng_small) check(j == i && small.packets[i] == large.packets[j], "pcap: the small reader is not a prefix");
  }
  return 0;
}

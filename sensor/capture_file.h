#pragma once
// Reads packets from a pcap or pcap-ng file through one fixed buffer: memory
// stays constant however large the file, and no packet is copied to the heap.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace hopwire::sensor {

struct file_packet {
  std::uint64_t ts_ns = 0;       // ns since the Unix epoch
  std::uint32_t orig_len = 0;
  std::uint32_t dlt = 0;         // link type of this packet's interface
  std::span<const std::uint8_t> data;  // valid until the next call to next()
};

class capture_file {
 public:
  enum class result { packet, end, error };

  explicit capture_file(std::size_t buffer_bytes = 256 * 1024);
  ~capture_file();
  capture_file(const capture_file&) = delete;
  capture_file& operator=(const capture_file&) = delete;

  // Opens and reads the file header. Throws std::runtime_error with a clear
  // message (no such file, not a capture, unsupported version).
  void open(const std::string& path);
  // Back to the first packet (for looping replays).
  void rewind();

  // Reads the next packet. `error` means the rest of the file cannot be read
  // (truncated or corrupt); error_message() says where and why.
  result next(file_packet& out);

  const std::string& error_message() const { return error_; }
  bool is_pcapng() const { return pcapng_; }
  // Link type of the first interface (pcap: the file's link type).
  std::uint32_t first_dlt() const { return first_dlt_; }
  std::uint64_t packets_read() const { return packets_; }
  // Packets skipped because they could not be used (unknown interface,
  // oversize block); the file is still readable after them.
  std::uint64_t skipped() const { return skipped_; }

 private:
  struct interface_info {
    std::uint32_t dlt = 0;
    std::uint64_t ts_units_per_sec = 1000000;  // if_tsresol
    std::int64_t ts_offset_sec = 0;            // if_tsoffset
  };

  bool fill(std::size_t need);  // make `need` bytes available at pos_
  std::uint16_t rd16(const std::uint8_t* p) const;
  std::uint32_t rd32(const std::uint8_t* p) const;
  result fail(std::string message);
  result next_pcap(file_packet& out);
  result next_pcapng(file_packet& out);
  bool parse_shb(const std::uint8_t* body, std::size_t len);
  void parse_idb(const std::uint8_t* body, std::size_t len);
  std::uint64_t to_ns(const interface_info& ifc, std::uint64_t ts) const;

  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t cap_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::FILE* file_ = nullptr;
  std::string path_;
  std::string error_;
  std::uint64_t file_offset_ = 0;  // offset of buf_[0] in the file

  bool pcapng_ = false;
  bool swapped_ = false;
  bool nanosecond_ = false;  // pcap only
  std::uint32_t first_dlt_ = 0;
  std::uint32_t snaplen_ = 0;
  std::vector<interface_info> interfaces_;  // pcap-ng: grows only when an IDB is read
  std::uint64_t packets_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace hopwire::sensor

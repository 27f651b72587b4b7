#pragma once
// What the collector remembers about a source across restarts, and the
// interface of whatever keeps it (RocksDB standalone; the cluster later).

#include <cstdint>
#include <string>

namespace hopwire::collector {

// Counters are stored with the batch sequence they include, in one write,
// so that after a crash the count and the duplicate filter agree.
struct stored_source {
  std::string uuid;
  std::string name;
  std::string type;
  std::string interface;
  std::string definition;
  std::uint32_t dlt = 0;
  std::uint64_t boot_id = 0;    // sensor process the sequence belongs to
  std::uint64_t last_seq = 0;   // highest batch stored for boot_id
  std::uint64_t num_packets = 0;
  std::uint64_t num_error_packets = 0;
  std::uint64_t dropped_ring_base = 0;    // sum over earlier sensor boots
  std::uint64_t dropped_ring_boot = 0;    // latest report of this boot
  std::uint64_t dropped_kernel_base = 0;
  std::uint64_t dropped_kernel_boot = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t first_seen_ns = 0;
  std::uint64_t last_seen_ns = 0;
  std::string remote_ip;
};

class source_store {
 public:
  virtual ~source_store() = default;
  // False when the record could not be kept: a link must not acknowledge
  // what the record counts.
  virtual bool put_source(const stored_source& s) = 0;
};

}  // namespace hopwire::collector

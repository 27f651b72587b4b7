#pragma once
// Live pcap-ng streams. Every accepted packet is offered to every stream
// whose filter takes it; each stream has a bounded queue, and a packet that
// does not fit is dropped whole and counted, so a slow client never holds
// ingest back and never gets a partial block. The HTTP session pulls the
// queue through the body_stream interface.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "collector/core/pipeline.h"
#include "collector/decode/decoded_packet.h"
#include "collector/net/http_types.h"
#include "common/mac_addr.h"

namespace hopwire::collector {

struct pcap_filter {
  enum class kind { all, source, device, bssid };
  kind k = kind::all;
  std::string uuid;  // kind::source
  mac_addr mac;      // kind::device (any address of the frame), kind::bssid
  std::string describe() const;
};

struct pcap_stream_stats {
  std::uint64_t id = 0;
  std::string filter, remote;
  std::uint64_t started_unix = 0;
  std::uint64_t bytes_sent = 0;       // written to the client's connection
  std::uint64_t packets_sent = 0;     // accepted into the queue (sent unless the client leaves)
  std::uint64_t packets_dropped = 0;  // did not fit in the queue
  std::uint64_t queued_bytes = 0;
  std::uint64_t queue_limit = 0;
};

class pcap_hub final : public packet_sink {
 public:
  explicit pcap_hub(std::size_t queue_bytes);
  ~pcap_hub() override;

  // A new stream, starting now. The first bytes (section header) are queued.
  std::shared_ptr<body_stream> subscribe(pcap_filter filter, std::string remote);

  void on_packets(const ingest_source& source, std::span<const decoded_packet> packets) override;

  std::vector<pcap_stream_stats> stats() const;
  std::size_t queue_bytes() const { return queue_bytes_; }

 private:
  class subscriber;
  void remove(const subscriber* s);

  std::size_t queue_bytes_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<subscriber>> subs_;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace hopwire::collector

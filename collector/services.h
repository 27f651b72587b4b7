#pragma once
// The collector's long-lived parts, handed to every session.

#include <chrono>
#include <functional>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/answer_budget.h"
#include "collector/auth.h"
#include "collector/channel_planner.h"
#include "collector/login_limiter.h"
#include "collector/meta_gps.h"
#include "collector/sources.h"
#include "collector/stats.h"
#include "collector/store.h"
#include "hopwire/hopwire_generated.h"

namespace hopwire::collector {

// A stage that sees every accepted batch (decoder, tracker, pcap-ng hub,
// packet log). Called on the link's thread; must not block.
class packet_sink {
 public:
  virtual ~packet_sink() = default;
  // Returns how many of the batch's packets were error packets (undecodable,
  // bad FCS); the caller adds them to the source's error count.
  virtual std::uint64_t on_batch(source_entry& source, const wire::PacketBatch& batch) = 0;
};

class device_tracker;
class pcap_hub;
class packet_log;

struct services {
  credential_store& auth;
  store& db;
  source_registry& sources;
  collector_stats& stats;
  std::vector<packet_sink*> sinks;
  device_tracker* tracker = nullptr;
  pcap_hub* pcap = nullptr;
  packet_log* log = nullptr;  // null when the packet log is off
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::uint64_t started_unix = 0;
  login_limiter limiter;
  std::string uri_prefix;  // see server_config::uri_prefix
  channel_planner planner;
  // Re-reads the fleet file; returns the errors (empty: applied). Set by main.
  std::function<std::vector<std::string>()> reload;
  meta_gps gps;
  answer_budget answers{256ull << 20};  // --answer-memory
};

}  // namespace hopwire::collector

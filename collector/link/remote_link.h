#pragma once
// The collector's side of one sensor link, whatever carries it (WebSocket or
// legacy TCP): checks Hello, stores batches, acknowledges them, answers
// pings and watches for silence. Sessions feed it whole messages and send
// what it queues.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "collector/auth/auth.h"
#include "collector/cluster/cluster_node.h"
#include "collector/core/events.h"
#include "collector/core/messages.h"
#include "collector/core/pipeline.h"
#include "collector/core/sources.h"
#include "collector/core/stats.h"
#include "collector/net/message_handler.h"
#include "collector/plan/channel_planner.h"
#include "hopwire/hopwire_generated.h"

namespace hopwire::collector {

// What a link needs of the collector, and nothing more.
struct link_env {
  credential_store& auth;
  source_registry& sources;
  source_store& db;
  channel_planner& planner;
  ingest_pipeline& pipeline;
  collector_stats& stats;
  message_bus& messages;
  event_hub* events = nullptr;  // source up and down
  cluster_node* cluster = nullptr;  // cluster mode: source records live there (docs/cluster.md)
};

class remote_link final : public message_handler {
 public:
  // `who.upgrade_role` is the role proven on the WebSocket upgrade; the TCP
  // link has none and must bring a token in Hello.
  remote_link(link_env& env, const connection_info& who, message_io io);
  ~remote_link() override;
  remote_link(const remote_link&) = delete;
  remote_link& operator=(const remote_link&) = delete;

  // The factory the network front calls for each new link.
  static message_handler_factory factory(link_env& env);

  // Handles one received message. Returns false when the link must close
  // (an Error frame has been queued where it made sense).
  bool on_message(std::span<const std::uint8_t> msg, bool binary) override;
  // Once a second. Returns false when the peer has been silent too long.
  bool on_tick() override;
  // The transport refused a message before it got here (oversize).
  void refuse(refusal why, std::size_t size) override;
  std::size_t max_message_bytes() const override;

  const std::string& remote_ip() const { return remote_ip_; }

 private:
  bool on_hello(const wire::Hello& h);
  // Cluster mode: the claim's answer, on the strand.
  void on_claimed(cluster_claim_result r);
  // Tells the sensor where to resume and starts the source.
  void welcome(std::uint64_t acked);
  // Cluster mode: the record holds `seq`; the Ack may go out.
  void on_committed(std::uint64_t seq, bool ok, const std::string& why);
  // Queues an Error frame from a posted callback; the next tick closes.
  void close_later(wire::ErrorCode code, const std::string& why);
  bool on_batch(const wire::PacketBatch& b);
  void on_status(const wire::Status& s);
  void on_configure_result(const wire::ConfigureResult& r);
  // Sends the channel plan the collector wants, if the sensor has not had it.
  void send_pending_config();
  bool fail(wire::ErrorCode code, const std::string& why);
  void publish_source(event_kind k);
  void send_built();
  // Writes the source's count and sequence, then acknowledges every batch
  // counted so far; on a store failure it withholds the Ack (unacked_).
  void store_and_ack();

  link_env& env_;
  transport_kind kind_;
  std::string remote_ip_;
  std::optional<role> upgrade_role_;
  message_io io_;
  std::shared_ptr<source_entry> source_;
  flatbuffers::FlatBufferBuilder fbb_{256};
  std::chrono::steady_clock::time_point last_rx_;
  std::chrono::steady_clock::time_point last_ping_;
  std::uint64_t ping_nonce_ = 0;
  bool unacked_ = false;  // the store refused the last write: no Ack until it takes one
  std::uint32_t waiting_ = 0;   // batches counted since the last Ack
  std::uint32_t withheld_ = 0;  // of those, already counted in acks_withheld
  bool ack_timer_armed_ = false;
  bool welcomed_ = false;  // Welcome sent: batches may come
  std::shared_ptr<std::atomic<bool>> claim_alive_;  // cluster mode: false once this link is gone
  bool close_ = false;     // close_later: on_tick ends the link
  std::string sensor_version_;  // from Hello, for the connected message
  std::uint64_t acked_sent_ = 0;  // cluster mode: the highest Ack sent
  std::uint64_t epoch_ = 0;       // cluster mode: the claim's epoch
  bool lost_ = false;  // went silent: its going is an error, not a goodbye
  std::string lost_why_;
};

}  // namespace hopwire::collector

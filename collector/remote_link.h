#pragma once
// The collector's side of one sensor link, whatever carries it (WebSocket or
// legacy TCP): checks Hello, stores batches, acknowledges them, answers
// pings and watches for silence. Sessions feed it whole messages and send
// what it queues.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "collector/services.h"

namespace hopwire::collector {

class remote_link {
 public:
  enum class kind { websocket, tcp };
  using send_fn = std::function<void(std::span<const std::uint8_t>)>;
  // Runs a function later on the link's own strand, if the link still exists.
  using post_fn = std::function<void(std::function<void()>)>;

  // `upgrade_role` is the role proven on the WebSocket upgrade; the TCP link
  // has none and must bring a token in Hello.
  remote_link(services& svc, kind k, std::string remote_ip, std::optional<role> upgrade_role, send_fn send,
              post_fn post);
  ~remote_link();
  remote_link(const remote_link&) = delete;
  remote_link& operator=(const remote_link&) = delete;

  // Handles one received message. Returns false when the link must close
  // (an Error frame has been queued where it made sense).
  bool on_message(std::span<const std::uint8_t> msg);
  // Once a second. Returns false when the peer has been silent too long.
  bool on_tick();
  // The transport refused a message before it got here (e.g. oversize).
  void refuse(wire::ErrorCode code, const std::string& why);

  const std::string& remote_ip() const { return remote_ip_; }

 private:
  bool on_hello(const wire::Hello& h);
  bool on_batch(const wire::PacketBatch& b);
  void on_status(const wire::Status& s);
  void on_configure_result(const wire::ConfigureResult& r);
  // Sends the channel plan the collector wants, if the sensor has not had it.
  void send_pending_config();
  // Applies the collector's clock and the source's virtual GPS. Returns the
  // batch the sinks see: `b` itself, or a copy in rebuilt_.
  const wire::PacketBatch& adjust(const wire::PacketBatch& b);
  bool fail(wire::ErrorCode code, const std::string& why);
  void send_built();

  services& svc_;
  kind kind_;
  std::string remote_ip_;
  std::optional<role> upgrade_role_;
  send_fn send_;
  post_fn post_;
  flatbuffers::FlatBufferBuilder rebuilt_{0};
  std::shared_ptr<source_entry> source_;
  flatbuffers::FlatBufferBuilder fbb_{256};
  std::chrono::steady_clock::time_point last_rx_;
  std::chrono::steady_clock::time_point last_ping_;
  std::uint64_t ping_nonce_ = 0;
};

}  // namespace hopwire::collector

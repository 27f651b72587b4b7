#pragma once
// A conversation of whole messages over a WebSocket or a framed TCP stream
// (sensor links; later the event bus and Kismet's tools). The session owns
// the socket, the write queue, the timers and the closing; the handler
// speaks the protocol. Called on the session's strand only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "collector/auth/auth.h"

namespace hopwire::collector {

enum class transport_kind : std::uint8_t { websocket, tcp };
// Which link protocol a TCP stream speaks, told by its first bytes: ours
// (a 4-byte length, then a FlatBuffers frame) or Kismet's v3 external
// protocol (frames starting 0xDECAFBAD). On a WebSocket the handler decides
// from the first message.
enum class link_protocol : std::uint8_t { hopwire, kismet_v3 };

// Who is on the other end, as far as the transport knows.
struct connection_info {
  transport_kind transport = transport_kind::websocket;
  std::string remote_ip;
  std::optional<role> upgrade_role;  // proven on the WebSocket upgrade; the TCP link has none
  std::string principal;
  link_protocol protocol = link_protocol::hopwire;  // TCP: from the first bytes
};

// What the session offers the handler.
struct message_io {
  // Queues one message (binary or text on a WebSocket; framed on TCP).
  std::function<void(std::span<const std::uint8_t> msg, bool binary)> send;
  // Runs `f` later on the session's strand, if the session still exists.
  // Any thread may call it.
  std::function<void(std::function<void()> f)> post;
  // Runs `f` on the session's strand after `delay`, if the session still
  // exists then. On the strand only.
  std::function<void(std::chrono::milliseconds delay, std::function<void()> f)> after;
  // Bytes queued and not yet written (on the strand only): a handler that
  // pushes (the event bus) drops instead of letting the queue reach its cut.
  std::function<std::size_t()> queued_bytes;
};

// Why the transport refused a message before the handler could see it.
enum class refusal : std::uint8_t { too_large };

class message_handler {
 public:
  virtual ~message_handler() = default;
  // One received message. False: the session closes once the queue is sent.
  virtual bool on_message(std::span<const std::uint8_t> msg, bool binary) = 0;
  // Once a second. False: close (the handler has queued its reason).
  virtual bool on_tick() = 0;
  // The transport refuses a message; the handler may queue an answer saying
  // why before the session closes.
  virtual void refuse(refusal why, std::size_t size) = 0;
  // The largest message the handler takes; the transport refuses bigger ones.
  virtual std::size_t max_message_bytes() const = 0;
};

using message_handler_factory =
    std::function<std::unique_ptr<message_handler>(const connection_info& who, message_io io)>;

}  // namespace hopwire::collector

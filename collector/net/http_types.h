#pragma once
// What a handler answers, for every part that produces HTTP answers (REST
// handlers, pcap-ng streams, historic packets): a status with a body, or a
// body produced over time. A leaf: no Beast, no sockets.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hopwire::collector {

// A response body produced over time (pcap-ng streams, device lists). The
// HTTP session sends it with chunked transfer encoding until it ends or the
// client goes away. Implementations are called from the session's strand
// and, for wake callbacks, from any thread.
class body_stream {
 public:
  virtual ~body_stream() = default;
  // Appends up to `max` pending bytes to `out`. When nothing is pending,
  // keeps `wake` and calls it once, from any thread, when bytes arrive (or
  // the stream ends). Returns false once the stream has ended and is drained.
  virtual bool pull(std::string& out, std::size_t max, std::function<void()> wake) = 0;
  // Bytes pulled have been written to the client.
  virtual void delivered(std::size_t bytes) = 0;
  // The client went away or the server stops: release everything.
  virtual void close() = 0;
  // The most memory the stream holds at once (its queue and buffers), which
  // the session reserves from the answer budget before it starts.
  virtual std::size_t memory_bound() const { return 0; }
};

struct http_reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<body_stream> stream;  // set: body is streamed, `body` unused
};

// A plain-text answer; the message ends with a newline.
http_reply text_reply(unsigned status, std::string message);

}  // namespace hopwire::collector

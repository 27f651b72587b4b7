#pragma once
// The collector's HTTP routes: one table that names every route with its
// method and the roles that may use it, and the handlers for the REST ones.
// Nothing here knows about sockets; http_server.cc does the I/O.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/auth.h"
#include "collector/services.h"

namespace hopwire::collector {

// A response body produced over time (pcap-ng streams). The HTTP session
// sends it with chunked transfer encoding until it ends or the client goes
// away. Implementations are called from the session's strand and, for wake
// callbacks, from any thread.
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

http_reply text_reply(unsigned status, std::string message);

struct request_ctx {
  services& svc;
  std::string_view method;
  std::string_view path;
  std::vector<std::string> params;  // {placeholders} of the route, in order
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view body;
  std::string_view content_type;
  auth_result auth;
  std::string_view remote;  // client address and port

  std::optional<std::string> query_param(std::string_view key) const;
};

struct route {
  std::string_view method;   // GET, POST, or WS for the WebSocket upgrade
  std::string_view pattern;  // path; {name} matches one segment
  role_mask roles;           // who may use it; admin may always
  std::string_view summary;
  std::function<http_reply(request_ctx&)> handler;  // empty for WS
  std::size_t body_limit = 0;  // bytes accepted in a request body
};

const std::vector<route>& route_table();

struct route_match {
  const route* r = nullptr;
  std::vector<std::string> params;
  bool path_known = false;  // some route has this path, with another method
};
route_match match_route(std::string_view method, std::string_view path);

// The JSON text of a command: the raw body, or Kismet's form field json=
// (application/x-www-form-urlencoded). Empty when a form body has no json=.
std::optional<std::string> command_text(const request_ctx& ctx);
// The sentence for a form body without json=.
inline constexpr std::string_view kNoJsonField =
    "the form body has no json= field: send the command as json=<JSON object>, or as a raw JSON body";

// Splits "a=1&b=x%20y" with URL decoding.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);
// True if the query names something that looks like a credential.
bool query_has_credentials(const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace hopwire::collector

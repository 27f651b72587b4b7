#pragma once
// How frames reach the collector: a WebSocket (plain or TLS) or the legacy
// length-prefixed TCP link. The link logic above sees only whole frames.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace hopwire::sensor {

namespace net = boost::asio;
namespace beast = boost::beast;

class link_transport {
 public:
  using handler = std::function<void(beast::error_code)>;
  virtual ~link_transport() = default;

  // TCP connect, TLS handshake, WebSocket upgrade (with the auth headers).
  virtual void async_open(const net::ip::tcp::resolver::results_type& endpoints, handler h) = 0;
  // One whole frame. At most one write and one read in flight.
  virtual void async_write(net::const_buffer frame, handler h) = 0;
  virtual void async_read(beast::flat_buffer& buffer, handler h) = 0;
  // Orderly goodbye (WebSocket close); the handler runs when done.
  virtual void async_close(handler h) = 0;
  // Abrupt: cancels everything outstanding.
  virtual void abort() = 0;

  // After a failed open: the HTTP status of the upgrade response (0 if none
  // arrived) and the collector's explanation from its body.
  virtual unsigned upgrade_status() const { return 0; }
  virtual std::string upgrade_body() const { return {}; }
  // Why the collector's certificate was refused, when it was.
  virtual std::string verify_failure() const { return {}; }
};

struct ws_settings {
  std::string host;      // for the Host header, SNI and certificate check
  std::string target;    // request path, e.g. /datasource/remote/remotesource.ws
  std::string authorization;  // full Authorization header value
  std::string user_agent;
};

// ssl_ctx may be null for plain WebSocket. Transports keep themselves alive
// while an operation is outstanding, so the owner may drop them at any time.
std::shared_ptr<link_transport> make_ws_transport(net::io_context& io, net::ssl::context* ssl_ctx,
                                                  ws_settings settings);
std::shared_ptr<link_transport> make_tcp_transport(net::io_context& io);

}  // namespace hopwire::sensor

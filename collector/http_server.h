#pragma once
// The collector's network front: one Boost.Beast listener serving REST, the
// sensor WebSocket (plain or TLS on the same port), and the legacy TCP link.

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "collector/services.h"

namespace hopwire::collector {

struct server_config {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 2501;
  std::string tcp_listen_address = "127.0.0.1";
  std::uint16_t tcp_port = 3501;   // 0: no legacy TCP listener
  std::string tls_cert;            // PEM; with tls_key enables HTTPS/WSS
  std::string tls_key;
  bool allow_plain_with_tls = false;
  // Behind a reverse proxy that forwards /PREFIX/...: requests may carry the
  // prefix, which is stripped before routing ("" = none).
  std::string uri_prefix;
};

class http_server {
 public:
  // Binds both listeners; throws std::runtime_error with the address and
  // reason on failure (port in use, no permission).
  http_server(boost::asio::io_context& io, services& svc, const server_config& cfg);
  ~http_server();
  void start();
  void stop();
  boost::asio::ip::tcp::endpoint http_endpoint() const;
  boost::asio::ip::tcp::endpoint tcp_endpoint() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hopwire::collector

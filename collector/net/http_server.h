#pragma once
// The collector's network front: one Boost.Beast listener serving REST,
// streamed answers and WebSocket upgrades (plain or TLS on the same port),
// and the legacy TCP port for sensor links. Knows nothing of what it serves:
// the route table and the message handler factories say that.

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "collector/auth/auth.h"
#include "collector/auth/login_limiter.h"
#include "collector/config/settings.h"
#include "collector/net/answer_budget.h"
#include "collector/net/message_handler.h"
#include "collector/net/net_stats.h"
#include "collector/net/routes.h"

namespace hopwire::collector {

struct http_server_parts {
  const route_table& routes;
  credential_store& auth;
  login_limiter& limiter;
  answer_budget& answers;
  net_stats& stats;
  // The protocol of the legacy TCP port (framed messages); empty: no TCP port.
  message_handler_factory tcp_link;
  // Kismet's capture tools on the same port (v3 frames); empty: refused.
  message_handler_factory kismet_tcp;
};

class http_server {
 public:
  // Binds both listeners; throws std::runtime_error with the address and
  // reason on failure (port in use, no permission).
  http_server(boost::asio::io_context& io, http_server_parts parts, const server_config& cfg);
  ~http_server();
  void start();
  void stop();
  boost::asio::ip::tcp::endpoint http_endpoint() const;
  boost::asio::ip::tcp::endpoint tcp_endpoint() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The default for --max-connections: what the descriptor limit leaves after
// a reserve for the database and the process's own files.
std::size_t default_max_connections();

}  // namespace hopwire::collector

// The only translation unit of the sensor that instantiates Beast's
// WebSocket and TLS streams.
#include "link_transport.h"

#include <array>
#include <cstring>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/protocol.h"

namespace hopwire::sensor {

namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Every operation on these streams is a template instantiated per stream
// type, and together they are most of the sensor's code, so they are kept
// lean for routers (docs/performance.md, sensor size): they name the one
// io_context's executor instead of the type-erased any_io_executor,
// permessage-deflate is compiled out (Beast leaves it off unless asked, and
// the sensor never asks), and the WebSocket runs over flex_stream, so that
// it is instantiated once rather than once for TCP and once for TLS.
using tcp_stream = beast::basic_stream<tcp, net::io_context::executor_type, beast::unlimited_rate_policy>;
using tls_stream = beast::ssl_stream<tcp_stream>;

constexpr auto kConnectTimeout = std::chrono::seconds(15);

// TCP, or TLS over TCP, chosen at run time.
class flex_stream {
 public:
  using executor_type = tcp_stream::executor_type;

  flex_stream(net::io_context& io, net::ssl::context* ssl_ctx) {
    if (ssl_ctx)
      tls_.emplace(io, *ssl_ctx);
    else
      tcp_.emplace(io);
  }

  executor_type get_executor() noexcept { return tcp().get_executor(); }
  tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *tcp_; }
  tls_stream* tls() { return tls_ ? &*tls_ : nullptr; }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    else
      tcp_->async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    else
      tcp_->async_write_some(buffers, std::forward<Handler>(handler));
  }

  // What Beast's WebSocket needs of a stream besides reading and writing.
  friend void beast_close_socket(flex_stream& s) { beast::close_socket(s.tcp()); }

  friend void teardown(beast::role_type role, flex_stream& s, beast::error_code& ec) {
    using beast::websocket::teardown;
    if (s.tls_)
      teardown(role, *s.tls_, ec);
    else
      teardown(role, *s.tcp_, ec);
  }

  template <class Handler>
  friend void async_teardown(beast::role_type role, flex_stream& s, Handler&& handler) {
    using beast::websocket::async_teardown;
    if (s.tls_)
      async_teardown(role, *s.tls_, std::forward<Handler>(handler));
    else
      async_teardown(role, *s.tcp_, std::forward<Handler>(handler));
  }

 private:
  std::optional<tcp_stream> tcp_;
  std::optional<tls_stream> tls_;
};

class ws_transport final : public link_transport, public std::enable_shared_from_this<ws_transport> {
 public:
  ws_transport(ws_settings s, net::io_context& io, net::ssl::context* ssl_ctx)
      : s_(std::move(s)), ws_(io, ssl_ctx) {
    ws_.binary(true);
    ws_.auto_fragment(false);
    ws_.read_message_max(protocol::kMaxFrameBytes);
    ws_.write_buffer_bytes(64 * 1024);
    websocket::stream_base::timeout t{};
    t.handshake_timeout = kConnectTimeout;
    t.idle_timeout = websocket::stream_base::none();  // the link pings and times out itself
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      if (!s_.authorization.empty()) req.set(http::field::authorization, s_.authorization);
      req.set(http::field::user_agent, s_.user_agent);
    }));
  }

  void async_open(const tcp::resolver::results_type& endpoints, handler h) override {
    auto& tcp_layer = ws_.next_layer().tcp();
    tcp_layer.expires_after(kConnectTimeout);
    tcp_layer.async_connect(endpoints, [this, self = this->shared_from_this(), h = std::move(h)](beast::error_code ec, const tcp::endpoint&) mutable {
      if (ec) return h(ec);
      net::ip::tcp::no_delay nd(true);
      ws_.next_layer().tcp().socket().set_option(nd, ec);
      on_connected(std::move(h));
    });
  }

  void async_write(net::const_buffer frame, handler h) override {
    ws_.async_write(frame, [self = this->shared_from_this(), h = std::move(h)](beast::error_code ec, std::size_t) { h(ec); });
  }

  void async_read(beast::flat_buffer& buffer, handler h) override {
    ws_.async_read(buffer, [self = this->shared_from_this(), h = std::move(h)](beast::error_code ec, std::size_t) { h(ec); });
  }

  void async_close(handler h) override {
    ws_.async_close(websocket::close_code::normal,
                    [self = this->shared_from_this(), h = std::move(h)](beast::error_code ec) { h(ec); });
  }

  void abort() override {
    beast::error_code ec;
    ws_.next_layer().tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    ws_.next_layer().tcp().close();
  }

  unsigned upgrade_status() const override { return res_.result_int(); }
  std::string verify_failure() const override { return verify_failure_; }
  std::string upgrade_body() const override { return res_.body(); }

 private:
  void on_connected(handler h) {
    if (auto* tls = ws_.next_layer().tls()) {
      auto& ssl = *tls;
      if (!SSL_set_tlsext_host_name(ssl.native_handle(), s_.host.c_str())) {
        return h(beast::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()));
      }
      // As host_name_verification, but remembering why a certificate was
      // refused so that the message can say so.
      ssl.set_verify_callback([this, host = s_.host](bool preverified, net::ssl::verify_context& ctx) {
        if (!preverified) {
          verify_failure_ = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.native_handle()));
          return false;
        }
        if (!net::ssl::host_name_verification(host)(preverified, ctx)) {
          verify_failure_ = "the certificate is not for host " + host;
          return false;
        }
        return true;
      });
      ssl.async_handshake(net::ssl::stream_base::client, [this, self = this->shared_from_this(), h = std::move(h)](beast::error_code ec) mutable {
        if (ec) return h(ec);
        do_upgrade(std::move(h));
      });
    } else {
      do_upgrade(std::move(h));
    }
  }

  void do_upgrade(handler h) {
    ws_.next_layer().tcp().expires_never();  // the websocket timeout takes over
    ws_.async_handshake(res_, s_.host, s_.target,
                        [self = this->shared_from_this(), h = std::move(h)](beast::error_code ec) { h(ec); });
  }

  ws_settings s_;
  std::string verify_failure_;
  websocket::stream<flex_stream, false> ws_;
  websocket::response_type res_;
};

class tcp_transport final : public link_transport, public std::enable_shared_from_this<tcp_transport> {
 public:
  explicit tcp_transport(net::io_context& io) : stream_(io) {}

  void async_open(const tcp::resolver::results_type& endpoints, handler h) override {
    stream_.expires_after(kConnectTimeout);
    stream_.async_connect(endpoints, [this, self = shared_from_this(), h = std::move(h)](beast::error_code ec, const tcp::endpoint&) {
      stream_.expires_never();
      if (!ec) {
        net::ip::tcp::no_delay nd(true);
        stream_.socket().set_option(nd, ec);
        ec = {};
      }
      h(ec);
    });
  }

  void async_write(net::const_buffer frame, handler h) override {
    const auto n = static_cast<std::uint32_t>(frame.size());
    wprefix_ = {std::uint8_t(n), std::uint8_t(n >> 8), std::uint8_t(n >> 16), std::uint8_t(n >> 24)};
    std::array<net::const_buffer, 2> bufs{net::buffer(wprefix_), frame};
    net::async_write(stream_, bufs, [self = shared_from_this(), h = std::move(h)](beast::error_code ec, std::size_t) { h(ec); });
  }

  void async_read(beast::flat_buffer& buffer, handler h) override {
    net::async_read(stream_, net::buffer(rprefix_), [this, self = shared_from_this(), &buffer, h = std::move(h)](beast::error_code ec, std::size_t) mutable {
      if (ec) return h(ec);
      const std::uint32_t n = std::uint32_t(rprefix_[0]) | std::uint32_t(rprefix_[1]) << 8 |
                              std::uint32_t(rprefix_[2]) << 16 | std::uint32_t(rprefix_[3]) << 24;
      if (n > protocol::kMaxFrameBytes) return h(beast::error_code(beast::errc::message_size, beast::generic_category()));
      auto mb = buffer.prepare(n);
      net::async_read(stream_, mb, [self, &buffer, h = std::move(h)](beast::error_code ec, std::size_t got) {
        if (!ec) buffer.commit(got);
        h(ec);
      });
    });
  }

  void async_close(handler h) override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    h(ec);
  }

  void abort() override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  tcp_stream stream_;
  std::array<std::uint8_t, 4> wprefix_{};
  std::array<std::uint8_t, 4> rprefix_{};
};

}  // namespace

std::shared_ptr<link_transport> make_ws_transport(net::io_context& io, net::ssl::context* ssl_ctx,
                                                  ws_settings settings) {
  return std::make_shared<ws_transport>(std::move(settings), io, ssl_ctx);
}

std::shared_ptr<link_transport> make_tcp_transport(net::io_context& io) {
  return std::make_shared<tcp_transport>(io);
}

}  // namespace hopwire::sensor

// Everything Beast: listeners, HTTP sessions (plain and TLS through one CRTP
// base, after Beast's advanced_server_flex example), the sensor WebSocket
// session and the legacy TCP link session. Kept in one translation unit so
// the heavy templates are compiled once.
#include "http_server.h"

#include <algorithm>
#include <limits>
#include <deque>
#include <optional>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "collector/remote_link.h"
#include "collector/rest_api.h"
#include "common/log.h"
#include "common/protocol.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr auto kKeepAliveTimeout = std::chrono::seconds(60);
constexpr std::size_t kMaxQueuedFrames = 4096;  // per link, before we call it stuck
// A streamed body goes out in chunks of at most this many bytes; a chunk
// that makes no progress for kStreamWriteTimeout ends the stream (a client
// reading 1 KiB/s still finishes a chunk well within it).
constexpr std::size_t kStreamChunk = 64 * 1024;
constexpr auto kStreamWriteTimeout = std::chrono::seconds(120);

std::string remote_endpoint_of(const tcp::socket& s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                              : ep.address().to_string() + ":" + std::to_string(ep.port());
}

std::string remote_ip_of(const tcp::socket& s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string();
}

// ---------------------------------------------------------------------------
// WebSocket session for sensors.

template <class Derived>
class websocket_session {
 public:
  websocket_session(services& svc, std::string remote_ip, role granted)
      : svc_(svc), remote_ip_(std::move(remote_ip)), granted_(granted) {}

  template <class Body, class Allocator>
  void run(http::request<Body, http::basic_fields<Allocator>> req) {
    auto& ws = derived().ws();
    ws.binary(true);
    ws.auto_fragment(false);
    // A little over the frame limit, so an oversize frame reaches the link
    // and is refused with an Error frame instead of a bare close.
    ws.read_message_max(protocol::kMaxFrameBytes + 64 * 1024);
    websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::server);
    t.idle_timeout = websocket::stream_base::none();  // the link watches silence itself
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, std::string("hopwire-collector/") + kVersion);
    }));
    timer_.emplace(ws.get_executor());
    ws.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept, derived().shared_from_this()));
  }

 private:
  Derived& derived() { return static_cast<Derived&>(*this); }

  void on_accept(beast::error_code ec) {
    if (ec) return;
    link_.emplace(svc_, remote_link::kind::websocket, remote_ip_, granted_,
                  [this](std::span<const std::uint8_t> frame) { queue(frame); },
                  [w = derived().weak_from_this(), ex = derived().ws().get_executor()](std::function<void()> f) {
                    net::post(ex, [w, f = std::move(f)] {
                      auto self = w.lock();
                      if (self && !static_cast<websocket_session&>(*self).closed_) f();
                    });
                  });
    arm_timer();
    do_read();
  }

  void arm_timer() {
    timer_->expires_after(std::chrono::seconds(1));
    timer_->async_wait([self = derived().shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      if (!self->link_->on_tick()) return self->close_after_flush();
      self->arm_timer();
    });
  }

  void do_read() {
    buffer_.clear();
    derived().ws().async_read(buffer_,
                              beast::bind_front_handler(&websocket_session::on_read, derived().shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::message_too_big) collector_stats::bump(svc_.stats.frames_oversize);
      return shutdown();
    }
    if (closing_) return;
    if (!derived().ws().got_binary()) {
      link_->refuse(wire::ErrorCode::Malformed, "text message; Hopwire frames are binary");
      return close_after_flush();
    }
    const auto data = buffer_.cdata();
    if (data.size() > protocol::kMaxFrameBytes) {
      link_->refuse(wire::ErrorCode::TooLarge, "frame of " + std::to_string(data.size()) + " bytes exceeds the limit of " +
                                                   std::to_string(protocol::kMaxFrameBytes));
      return close_after_flush();
    }
    if (!link_->on_message({static_cast<const std::uint8_t*>(data.data()), data.size()}))
      return close_after_flush();
    if (queue_.size() > kMaxQueuedFrames) return shutdown();  // peer is not reading
    do_read();
  }

  void queue(std::span<const std::uint8_t> frame) {
    if (closed_) return;
    queue_.emplace_back(frame.begin(), frame.end());
    if (queue_.size() == 1) do_write();
  }

  void do_write() {
    derived().ws().async_write(net::buffer(queue_.front()),
                               beast::bind_front_handler(&websocket_session::on_write, derived().shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return shutdown();
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (closing_) {
      derived().ws().async_close(websocket::close_code::policy_error,
                                 [self = derived().shared_from_this()](beast::error_code) { self->shutdown(); });
    }
  }

  void close_after_flush() {
    closing_ = true;
    if (queue_.empty()) {
      derived().ws().async_close(websocket::close_code::policy_error,
                                 [self = derived().shared_from_this()](beast::error_code) { self->shutdown(); });
    }
  }

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    if (timer_) timer_->cancel();
    beast::error_code ec;
    beast::get_lowest_layer(derived().ws()).socket().close(ec);
    link_.reset();  // releases the source
  }

  services& svc_;
  std::string remote_ip_;
  role granted_;
  beast::flat_buffer buffer_;
  std::optional<remote_link> link_;
  std::deque<std::vector<std::uint8_t>> queue_;
  std::optional<net::steady_timer> timer_;
  bool closing_ = false;
  bool closed_ = false;
};

class plain_websocket_session : public websocket_session<plain_websocket_session>,
                                public std::enable_shared_from_this<plain_websocket_session> {
 public:
  plain_websocket_session(beast::tcp_stream&& stream, services& svc, std::string ip, role granted)
      : websocket_session(svc, std::move(ip), granted), ws_(std::move(stream)) {}
  websocket::stream<beast::tcp_stream>& ws() { return ws_; }

 private:
  websocket::stream<beast::tcp_stream> ws_;
};

class ssl_websocket_session : public websocket_session<ssl_websocket_session>,
                              public std::enable_shared_from_this<ssl_websocket_session> {
 public:
  ssl_websocket_session(beast::ssl_stream<beast::tcp_stream>&& stream, services& svc, std::string ip, role granted)
      : websocket_session(svc, std::move(ip), granted), ws_(std::move(stream)) {}
  websocket::stream<beast::ssl_stream<beast::tcp_stream>>& ws() { return ws_; }

 private:
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
};

// ---------------------------------------------------------------------------
// HTTP sessions.

template <class Derived>
class http_session {
 public:
  http_session(services& svc, beast::flat_buffer buffer, std::string remote_ip, std::string remote_endpoint)
      : svc_(svc), buffer_(std::move(buffer)), remote_ip_(std::move(remote_ip)),
        remote_endpoint_(std::move(remote_endpoint)) {}

 protected:
  Derived& derived() { return static_cast<Derived&>(*this); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The route decides the body limit once the header names it; until
    // then Beast must not refuse a Content-Length on its own.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(derived().stream()).expires_after(first_request_ ? kRequestTimeout : kKeepAliveTimeout);
    http::async_read_header(derived().stream(), buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_header, derived().shared_from_this()));
  }

 private:
  void on_header(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return derived().do_eof();
    if (ec == http::error::header_limit) {
      // Say why before closing: a client with a huge URL or cookie should
      // not be left guessing at a reset.
      return send(text_reply(431, "request line and headers exceed the limit of " + std::to_string(kHeaderLimit / 1024) +
                                      " KiB (a URL that long is not a Kismet or Hopwire route)"),
                  false);
    }
    if (ec) return;  // timeout, reset, garbage: nothing to answer
    first_request_ = false;
    beast::get_lowest_layer(derived().stream()).expires_after(kRequestTimeout);
    collector_stats::bump(svc_.stats.http_requests);
    auto& req = parser_->get();

    const std::string_view target(req.target().data(), req.target().size());
    const auto qpos = target.find('?');
    path_ = std::string(target.substr(0, qpos));
    if (const auto& prefix = svc_.uri_prefix; !prefix.empty() && path_.size() > prefix.size() &&
                                              path_.compare(0, prefix.size(), prefix) == 0 &&
                                              path_[prefix.size()] == '/')
      path_.erase(0, prefix.size());
    query_ = qpos == std::string_view::npos ? decltype(query_){} : parse_query(target.substr(qpos + 1));

    if (query_has_credentials(query_))
      return send(text_reply(400, "credentials in the URL are refused: send them in the Authorization header "
                                  "(HTTP Basic or Bearer token)"),
                  false);

    const bool upgrade = websocket::is_upgrade(req);
    const std::string method = upgrade ? std::string("WS") : std::string(req.method_string());
    match_ = match_route(method == "HEAD" ? "GET" : method, path_);
    if (!match_.r) {
      if (match_.path_known) {
        auto r = text_reply(405, "method " + std::string(req.method_string()) + " is not allowed on " + path_);
        return send(std::move(r), false);
      }
      return send(text_reply(404, "no such route: " + path_), false);
    }

    const bool has_credentials = req.find(http::field::authorization) != req.end() || !kismet_cookie(req).empty();
    if (has_credentials) {
      if (const unsigned wait = svc_.limiter.retry_after(remote_ip_)) {
        auto r = text_reply(429, "too many failed logins from " + remote_ip_ + "; try again in " +
                                     std::to_string(wait) + " s");
        r.headers.emplace_back("Retry-After", std::to_string(wait));
        return send(std::move(r), false);
      }
    }
    bool by_password = false;
    auth_ = authenticate(req, by_password);
    set_cookie_.clear();
    if (auth_.ok() && by_password && !upgrade) {
      svc_.limiter.succeeded(remote_ip_);
      // A browser that logged in with a password gets a session cookie.
      set_cookie_ = "KISMET=" + svc_.auth.create_session(auth_) + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                    std::to_string(std::chrono::seconds(credential_store::kSessionTtl).count()) +
                    (Derived::kTls ? "; Secure" : "");
    }
    if (!auth_.ok() && auth_.st != auth_result::status::none) svc_.limiter.failed(remote_ip_);
    if (!auth_.ok()) {
      collector_stats::bump(svc_.stats.http_auth_failures);
      auto r = text_reply(401, auth_.st == auth_result::status::none
                                   ? "authentication required: HTTP Basic or Authorization: Bearer <token>"
                                   : auth_.message);
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"hopwire\", charset=\"UTF-8\"");
      return send(std::move(r), false);
    }
    if (auth_.granted != role::admin && !(match_.r->roles & mask(auth_.granted))) {
      return send(text_reply(403, std::string("role '") + role_name(auth_.granted) + "' may not use " +
                                      std::string(match_.r->method) + " " + std::string(match_.r->pattern)),
                  false);
    }

    if (upgrade) {
      // Hand the connection to a WebSocket session, with the request.
      beast::get_lowest_layer(derived().stream()).expires_never();
      return derived().upgrade(parser_->release(), auth_.granted);
    }

    const std::size_t limit = match_.r->body_limit;
    // Beast checks a declared length against the limit only while reading
    // the header (when the route was not known yet): check it here.
    if (const auto declared = parser_->content_length(); declared && *declared > limit) {
      return send(text_reply(413, "request body of " + std::to_string(*declared) + " bytes exceeds the limit of " +
                                      std::to_string(limit) + " bytes for " + path_),
                  false);
    }
    parser_->body_limit(limit);
    http::async_read(derived().stream(), buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, derived().shared_from_this()));
  }

  // The KISMET cookie's value, or empty.
  static std::string_view kismet_cookie(const http::request<http::string_body>& req) {
    auto it = req.find(http::field::cookie);
    if (it == req.end()) return {};
    std::string_view v(it->value().data(), it->value().size());
    while (!v.empty()) {
      const auto semi = v.find(';');
      std::string_view item = v.substr(0, semi);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      if (item.substr(0, 7) == "KISMET=") return item.substr(7);
      if (semi == std::string_view::npos) break;
      v.remove_prefix(semi + 1);
    }
    return {};
  }

  auth_result authenticate(const http::request<http::string_body>& req, bool& by_password) {
    auto authz = req.find(http::field::authorization);
    if (authz != req.end()) {
      const std::string_view h(authz->value().data(), authz->value().size());
      by_password = h.size() > 6 && (h[0] == 'B' || h[0] == 'b') && (h[1] == 'a' || h[1] == 'A');
      return svc_.auth.check_authorization(h);
    }
    if (const auto cookie = kismet_cookie(req); !cookie.empty()) return svc_.auth.check_cookie(cookie);
    return {};  // none
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
      return send(text_reply(413, "request body exceeds the limit of " + std::to_string(match_.r->body_limit) +
                                      " bytes for " + path_),
                  false);
    }
    if (ec) return;
    auto& req = parser_->get();
    auto ct = req.find(http::field::content_type);
    request_ctx ctx{svc_,
                    std::string_view(req.method_string().data(), req.method_string().size()),
                    path_,
                    match_.params,
                    query_,
                    req.body(),
                    ct == req.end() ? std::string_view() : std::string_view(ct->value().data(), ct->value().size()),
                    auth_,
                    remote_endpoint_};
    http_reply reply;
    try {
      reply = match_.r->handler(ctx);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: {}", std::string(req.method_string()), path_, e.what());
      reply = text_reply(500, "internal error");
    }
    send(std::move(reply), req.keep_alive(), req.method() == http::verb::head);
  }

  // Status and the headers every answer carries, streamed or not.
  template <class Body>
  void set_headers(http::response<Body>& res, const http_reply& reply) const {
    res.version(11);
    res.result(reply.status);
    res.set(http::field::server, std::string("hopwire-collector/") + kVersion);
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : reply.headers) res.set(k, v);
    if (!set_cookie_.empty()) res.set(http::field::set_cookie, set_cookie_);
  }

  void send(http_reply reply, bool keep_alive, bool head = false) {
    if (reply.stream && !head) return start_stream(std::move(reply));
    auto res = std::make_shared<http::response<http::string_body>>();
    set_headers(*res, reply);
    res->keep_alive(keep_alive);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    if (head) res->body().clear();
    res_ = res;
    http::async_write(derived().stream(), *res,
                      beast::bind_front_handler(&http_session::on_write, derived().shared_from_this(), !keep_alive));
  }

  void on_write(bool close, beast::error_code ec, std::size_t) {
    res_.reset();
    if (ec) return;
    if (close) return derived().do_eof();
    do_read();
  }

  // Streaming: header with chunked encoding, then one chunk per pull, until
  // the stream ends or the client goes away. A read runs alongside to see
  // the client leave while we wait for data.
  void start_stream(http_reply reply) {
    reservation_ = svc_.answers.reserve(reply.stream->memory_bound() + kStreamChunk);
    if (!reservation_) {
      reply.stream->close();
      auto busy = text_reply(503, "the collector is answering as much as its memory budget allows (--answer-memory " +
                                      std::to_string(svc_.answers.limit() >> 20) + " MiB); try again shortly");
      busy.headers.emplace_back("Retry-After", "1");
      return send(std::move(busy), false);
    }
    stream_ = std::move(reply.stream);
    auto res = std::make_shared<http::response<http::empty_body>>();
    set_headers(*res, reply);
    res->keep_alive(false);
    res->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    res_ = std::make_shared<std::pair<decltype(res), decltype(sr)>>(res, sr);
    beast::get_lowest_layer(derived().stream()).expires_after(kStreamWriteTimeout);
    http::async_write_header(derived().stream(), *sr,
                             beast::bind_front_handler(&http_session::on_stream_header, derived().shared_from_this()));
  }

  void on_stream_header(beast::error_code ec, std::size_t) {
    if (ec) return end_stream();
    watch_client();
    pull_stream();
  }

  void watch_client() {
    derived().stream().async_read_some(
        net::buffer(watch_buf_), [self = derived().shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->end_stream();
          self->watch_client();  // a client has nothing to say here; ignore it
        });
  }

  void pull_stream() {
    if (!stream_ || writing_) return;
    chunk_.clear();
    auto ex = derived().stream().get_executor();
    const bool more = stream_->pull(chunk_, kStreamChunk, [self = derived().shared_from_this(), ex] {
      net::post(ex, [self] { self->pull_stream(); });
    });
    if (!chunk_.empty()) {
      writing_ = true;
      beast::get_lowest_layer(derived().stream()).expires_after(kStreamWriteTimeout);
      net::async_write(derived().stream(), http::make_chunk(net::buffer(chunk_)),
                       beast::bind_front_handler(&http_session::on_chunk, derived().shared_from_this()));
    } else if (!more) {
      writing_ = true;
      net::async_write(derived().stream(), http::make_chunk_last(),
                       [self = derived().shared_from_this()](beast::error_code, std::size_t) { self->end_stream(); });
    } else {
      // Nothing pending: the wake callback brings us back.
      beast::get_lowest_layer(derived().stream()).expires_never();
    }
  }

  void on_chunk(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return end_stream();
    if (stream_) stream_->delivered(chunk_.size());
    pull_stream();
  }

  void end_stream() {
    if (!stream_) return;
    auto s = std::move(stream_);
    s->close();
    reservation_.reset();
    beast::error_code ec;
    beast::get_lowest_layer(derived().stream()).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(derived().stream()).close();
  }

 protected:
  services& svc_;
  beast::flat_buffer buffer_;
  std::string remote_ip_;
  std::string remote_endpoint_;  // ip:port

 private:
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> res_;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> query_;
  route_match match_;
  auth_result auth_;
  bool first_request_ = true;
  std::string set_cookie_;
  // Streaming state.
  std::shared_ptr<body_stream> stream_;
  std::unique_ptr<answer_budget::reservation> reservation_;
  std::string chunk_;
  bool writing_ = false;
  char watch_buf_[256];
};

class plain_http_session : public http_session<plain_http_session>,
                           public std::enable_shared_from_this<plain_http_session> {
 public:
  static constexpr bool kTls = false;
  plain_http_session(beast::tcp_stream&& stream, beast::flat_buffer&& buffer, services& svc)
      : http_session(svc, std::move(buffer), remote_ip_of(stream.socket()), remote_endpoint_of(stream.socket())),
        stream_(std::move(stream)) {}

  void run() { do_read(); }
  beast::tcp_stream& stream() { return stream_; }

  void upgrade(http::request<http::string_body> req, role granted) {
    std::make_shared<plain_websocket_session>(std::move(stream_), svc_, remote_ip_, granted)->run(std::move(req));
  }

  void do_eof() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

 private:
  beast::tcp_stream stream_;
};

class ssl_http_session : public http_session<ssl_http_session>, public std::enable_shared_from_this<ssl_http_session> {
 public:
  static constexpr bool kTls = true;
  ssl_http_session(beast::tcp_stream&& stream, ssl::context& ctx, beast::flat_buffer&& buffer, services& svc)
      : http_session(svc, std::move(buffer), remote_ip_of(stream.socket()), remote_endpoint_of(stream.socket())),
        stream_(std::move(stream), ctx) {}

  void run() {
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    // The detector may have read bytes of the ClientHello already.
    stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                            beast::bind_front_handler(&ssl_http_session::on_handshake, shared_from_this()));
  }

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

  void upgrade(http::request<http::string_body> req, role granted) {
    std::make_shared<ssl_websocket_session>(std::move(stream_), svc_, remote_ip_, granted)->run(std::move(req));
  }

  void do_eof() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

 private:
  void on_handshake(beast::error_code ec, std::size_t used) {
    if (ec) {
      spdlog::debug("TLS handshake from {} failed: {}", remote_ip_, ec.message());
      return;
    }
    buffer_.consume(used);
    do_read();
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
};

// Plain or TLS? Peeks at the first bytes, as in Beast's flex server.
class detect_session : public std::enable_shared_from_this<detect_session> {
 public:
  detect_session(tcp::socket&& socket, ssl::context& ctx, services& svc, bool allow_plain)
      : stream_(std::move(socket)), ctx_(ctx), svc_(svc), allow_plain_(allow_plain) {}

  void run() {
    stream_.expires_after(kRequestTimeout);
    beast::async_detect_ssl(stream_, buffer_,
                            beast::bind_front_handler(&detect_session::on_detect, shared_from_this()));
  }

 private:
  void on_detect(beast::error_code ec, bool tls) {
    if (ec) return;
    if (tls) {
      std::make_shared<ssl_http_session>(std::move(stream_), ctx_, std::move(buffer_), svc_)->run();
    } else if (allow_plain_) {
      std::make_shared<plain_http_session>(std::move(stream_), std::move(buffer_), svc_)->run();
    } else {
      static const std::string kRefusal =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 49\r\n\r\n"
          "this collector requires TLS: use https:// or wss\n";
      net::async_write(stream_, net::buffer(kRefusal),
                       [self = shared_from_this()](beast::error_code, std::size_t) {
                         beast::error_code ec2;
                         self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec2);
                       });
    }
  }

  beast::tcp_stream stream_;
  ssl::context& ctx_;
  services& svc_;
  bool allow_plain_;
  beast::flat_buffer buffer_;
};

// ---------------------------------------------------------------------------
// Legacy TCP link: 4-byte little-endian length, then one frame.

class tcp_link_session : public std::enable_shared_from_this<tcp_link_session> {
 public:
  tcp_link_session(tcp::socket&& socket, services& svc)
      : stream_(std::move(socket)), svc_(svc), timer_(stream_.get_executor()) {}

  void run() {
    link_.emplace(svc_, remote_link::kind::tcp, remote_ip_of(stream_.socket()), std::nullopt,
                  [this](std::span<const std::uint8_t> frame) { queue(frame); },
                  [w = weak_from_this(), ex = stream_.get_executor()](std::function<void()> f) {
                    net::post(ex, [w, f = std::move(f)] {
                      auto self = w.lock();
                      if (self && !self->closed_) f();
                    });
                  });
    arm_timer();
    read_prefix();
  }

 private:
  void arm_timer() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      if (!self->link_->on_tick()) return self->close_after_flush();
      self->arm_timer();
    });
  }

  void read_prefix() {
    net::async_read(stream_, net::buffer(prefix_),
                    beast::bind_front_handler(&tcp_link_session::on_prefix, shared_from_this()));
  }

  void on_prefix(beast::error_code ec, std::size_t) {
    if (ec || closing_) return shutdown();
    const std::uint32_t n = std::uint32_t(prefix_[0]) | std::uint32_t(prefix_[1]) << 8 |
                            std::uint32_t(prefix_[2]) << 16 | std::uint32_t(prefix_[3]) << 24;
    if (n > protocol::kMaxFrameBytes) {
      link_->refuse(wire::ErrorCode::TooLarge, "frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                                                   std::to_string(protocol::kMaxFrameBytes));
      return close_after_flush();
    }
    body_.resize(n);
    net::async_read(stream_, net::buffer(body_),
                    beast::bind_front_handler(&tcp_link_session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec || closing_) return shutdown();
    if (!link_->on_message(body_)) return close_after_flush();
    if (queue_.size() > kMaxQueuedFrames) return shutdown();
    read_prefix();
  }

  void queue(std::span<const std::uint8_t> frame) {
    if (closed_) return;
    std::vector<std::uint8_t> msg(4 + frame.size());
    const auto n = static_cast<std::uint32_t>(frame.size());
    msg[0] = std::uint8_t(n);
    msg[1] = std::uint8_t(n >> 8);
    msg[2] = std::uint8_t(n >> 16);
    msg[3] = std::uint8_t(n >> 24);
    std::copy(frame.begin(), frame.end(), msg.begin() + 4);
    queue_.push_back(std::move(msg));
    if (queue_.size() == 1) do_write();
  }

  void do_write() {
    net::async_write(stream_, net::buffer(queue_.front()),
                     beast::bind_front_handler(&tcp_link_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return shutdown();
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (closing_) shutdown();
  }

  void close_after_flush() {
    closing_ = true;
    if (queue_.empty()) shutdown();
  }

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    link_.reset();
  }

  beast::tcp_stream stream_;
  services& svc_;
  net::steady_timer timer_;
  std::array<std::uint8_t, 4> prefix_{};
  std::vector<std::uint8_t> body_;
  std::optional<remote_link> link_;
  std::deque<std::vector<std::uint8_t>> queue_;
  bool closing_ = false;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------
// Listeners.

enum class listener_kind { http, tcp_link };

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& io, tcp::endpoint ep, listener_kind kind, services& svc, ssl::context* tls,
           bool allow_plain)
      : io_(io), acceptor_(io), backoff_timer_(io), kind_(kind), svc_(svc), tls_(tls), allow_plain_(allow_plain) {
    beast::error_code ec;
    auto fail = [&](const char* what) {
      throw std::runtime_error(std::string("cannot ") + what + " " + ep.address().to_string() + ":" +
                               std::to_string(ep.port()) + ": " + ec.message());
    };
    acceptor_.open(ep.protocol(), ec);
    if (ec) fail("open a socket for");
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ep.address().is_v6()) acceptor_.set_option(net::ip::v6_only(true), ec);
    acceptor_.bind(ep, ec);
    if (ec) fail("listen on");
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) fail("listen on");
  }

  void run() { do_accept(); }
  void stop() {
    beast::error_code ec;
    acceptor_.close(ec);
    backoff_timer_.cancel();
  }
  tcp::endpoint endpoint() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) return accept_failed(ec);
    backoff_ = std::chrono::milliseconds(0);
    {
      socket.set_option(tcp::no_delay(true), ec);
      if (kind_ == listener_kind::tcp_link) {
        std::make_shared<tcp_link_session>(std::move(socket), svc_)->run();
      } else if (tls_) {
        std::make_shared<detect_session>(std::move(socket), *tls_, svc_, allow_plain_)->run();
      } else {
        std::make_shared<plain_http_session>(beast::tcp_stream(std::move(socket)), beast::flat_buffer(), svc_)->run();
      }
    }
    do_accept();
  }

  // Out of descriptors (or kernel memory), the pending connection stays in
  // the backlog and accept fails again at once: wait before retrying, so a
  // flood of connections costs a timer, not a core and a log line each.
  void accept_failed(const beast::error_code& ec) {
    collector_stats::bump(svc_.stats.accept_errors);
    ++failures_since_log_;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_log_ >= std::chrono::seconds(10)) {
      spdlog::warn("accept failed on {}: {} ({} times in the last {} s); new connections wait", endpoint_text(),
                   ec.message(), failures_since_log_,
                   last_log_.time_since_epoch().count() ? std::chrono::duration_cast<std::chrono::seconds>(now - last_log_).count() : 0);
      last_log_ = now;
      failures_since_log_ = 0;
    }
    const bool resources = ec == net::error::no_descriptors || ec.value() == ENFILE || ec == net::error::no_memory ||
                           ec == net::error::no_buffer_space;
    if (!resources) return do_accept();
    backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
    backoff_timer_.expires_after(backoff_);
    backoff_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e && self->acceptor_.is_open()) self->do_accept();
    });
  }

  std::string endpoint_text() const {
    const auto ep = endpoint();
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_timer_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point last_log_{};
  std::uint64_t failures_since_log_ = 0;
  listener_kind kind_;
  services& svc_;
  ssl::context* tls_;
  bool allow_plain_;
};

tcp::endpoint make_endpoint(const std::string& address, std::uint16_t port) {
  beast::error_code ec;
  auto addr = net::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("'" + address + "' is not an IP address to listen on");
  return {addr, port};
}

}  // namespace

struct http_server::impl {
  std::unique_ptr<ssl::context> tls;
  std::shared_ptr<listener> http;
  std::shared_ptr<listener> tcp_link;
};

http_server::http_server(net::io_context& io, services& svc, const server_config& cfg) : impl_(new impl) {
  if (!cfg.tls_cert.empty() || !cfg.tls_key.empty()) {
    if (cfg.tls_cert.empty() || cfg.tls_key.empty())
      throw std::runtime_error("TLS needs both --tls-cert and --tls-key");
    impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    auto& ctx = *impl_->tls;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX_set_cipher_list(ctx.native_handle(),
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    beast::error_code ec;
    ctx.use_certificate_chain_file(cfg.tls_cert, ec);
    if (ec) throw std::runtime_error("cannot load TLS certificate " + cfg.tls_cert + ": " + ec.message());
    ctx.use_private_key_file(cfg.tls_key, ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load TLS key " + cfg.tls_key + ": " + ec.message());
  }
  impl_->http = std::make_shared<listener>(io, make_endpoint(cfg.listen_address, cfg.listen_port),
                                           listener_kind::http, svc, impl_->tls.get(), cfg.allow_plain_with_tls);
  if (cfg.tcp_port != 0)
    impl_->tcp_link = std::make_shared<listener>(io, make_endpoint(cfg.tcp_listen_address, cfg.tcp_port),
                                                 listener_kind::tcp_link, svc, nullptr, false);
}

http_server::~http_server() = default;

void http_server::start() {
  impl_->http->run();
  if (impl_->tcp_link) impl_->tcp_link->run();
}

void http_server::stop() {
  impl_->http->stop();
  if (impl_->tcp_link) impl_->tcp_link->stop();
}

tcp::endpoint http_server::http_endpoint() const { return impl_->http->endpoint(); }
tcp::endpoint http_server::tcp_endpoint() const {
  return impl_->tcp_link ? impl_->tcp_link->endpoint() : tcp::endpoint();
}

}  // namespace hopwire::collector

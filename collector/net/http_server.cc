// Everything Beast: listeners, HTTP sessions (plain and TLS through one CRTP
// base, after Beast's advanced_server_flex example), and one message session
// for WebSocket and framed TCP links, with a transport policy for the
// difference. Kept in one translation unit so the heavy templates are
// compiled once.
#include "collector/net/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "collector/net/admission.h"
#include "common/log.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::size_t default_max_connections() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 4096;
  // RocksDB keeps its files open (max_open_files = -1) and the packet log
  // adds more over time: leave a quarter, at least 128, for them.
  const auto soft = static_cast<std::size_t>(rl.rlim_cur);
  const std::size_t reserve = std::max<std::size_t>(128, soft / 4);
  return std::max<std::size_t>(64, soft > reserve ? soft - reserve : 0);
}

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr auto kKeepAliveTimeout = std::chrono::seconds(60);
// A message link whose peer does not read: once this much waits to be
// sent, the link is cut (counted as not_reading).
constexpr std::size_t kMaxQueuedBytes = 8 * 1024 * 1024;
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
// Connection limits: in all and per client address. A slot is held for the
// life of a connection, through every session it passes (detect, HTTP,
// WebSocket), and given back when the last of them lets go.

class connection_limits : public std::enable_shared_from_this<connection_limits> {
 public:
  connection_limits(std::size_t total, std::size_t per_address, net_stats& stats)
      : total_(total), per_address_(per_address), stats_(stats) {}

  class slot {
   public:
    slot(std::shared_ptr<connection_limits> l, std::string ip) : l_(std::move(l)), ip_(std::move(ip)) {}
    ~slot() { l_->release(ip_); }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;

   private:
    std::shared_ptr<connection_limits> l_;
    std::string ip_;
  };
  using slot_ptr = std::shared_ptr<slot>;

  // Null, counted, when a limit is reached; `why` says which.
  slot_ptr acquire(const std::string& ip, std::string& why) {
    std::lock_guard lock(mu_);
    if (open_ >= total_) {
      net_stats::bump(stats_.refused_total_limit);
      why = "too many connections: the collector has its maximum of " + std::to_string(total_) +
            " open (--max-connections)";
      return nullptr;
    }
    auto& n = by_ip_[ip];
    if (per_address_ && n >= per_address_) {
      net_stats::bump(stats_.refused_per_address_limit);
      why = "too many connections from " + ip + ": it has " + std::to_string(n) +
            " open, the most one address may have (--max-connections-per-address)";
      return nullptr;
    }
    ++n;
    ++open_;
    stats_.connections_open.store(open_, std::memory_order_relaxed);
    return std::make_shared<slot>(shared_from_this(), ip);
  }

  std::size_t total() const { return total_; }

 private:
  void release(const std::string& ip) {
    std::lock_guard lock(mu_);
    auto it = by_ip_.find(ip);
    if (it != by_ip_.end() && --it->second == 0) by_ip_.erase(it);
    --open_;
    stats_.connections_open.store(open_, std::memory_order_relaxed);
  }

  const std::size_t total_, per_address_;
  net_stats& stats_;
  std::mutex mu_;
  std::size_t open_ = 0;
  std::map<std::string, std::size_t> by_ip_;
};

// Refusals of connections, logged at most once per 10 s with a count, so a
// flood costs a counter and not a line each.
class quiet_log {
 public:
  template <typename... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < std::chrono::seconds(10)) {
      ++suppressed_;
      return;
    }
    const std::string line = fmt::format(f, std::forward<Args>(args)...);
    if (suppressed_) spdlog::warn("{} ({} more like this in the last {} s)", line, suppressed_,
                                  std::chrono::duration_cast<std::chrono::seconds>(now - last_).count());
    else spdlog::warn("{}", line);
    suppressed_ = 0;
    last_ = now;
  }

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

// What every session of one server shares.
struct server_ctx {
  http_server_parts parts;
  std::string uri_prefix;
  std::shared_ptr<connection_limits> limits;
  quiet_log refusals;
};

// ---------------------------------------------------------------------------
// Transports for message sessions: how a whole message is read and written.

struct read_result {
  std::span<const std::uint8_t> data;
  bool binary = true;
  bool too_large = false;
  std::size_t size = 0;  // of a refused message, as far as it is known
};

// A WebSocket stream, plain or TLS. Reads a message a piece at a time, so
// one over the handler's limit is refused with a reason instead of Beast's
// bare close.
template <class Stream>
class ws_transport {
 public:
  explicit ws_transport(Stream&& s) : ws_(std::move(s)) {}

  template <class Request, class Handler>
  void accept(Request& req, Handler&& h) {
    ws_.binary(true);
    ws_.auto_fragment(false);
    auto t = websocket::stream_base::timeout::suggested(beast::role_type::server);
    t.idle_timeout = websocket::stream_base::none();  // handlers watch silence themselves
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, std::string("hopwire-collector/") + kVersion);
    }));
    ws_.async_accept(req, std::forward<Handler>(h));
  }

  void set_limit(std::size_t max_message) {
    max_ = max_message;
    // No limit of Beast's own (0): read() reads a message a piece at a time
    // and refuses it one byte past max_, so the handler can say why first.
    ws_.read_message_max(0);
  }

  template <class Handler>
  void read(Handler&& h) {
    buffer_.clear();
    read_piece(std::forward<Handler>(h));
  }

  template <class Handler>
  void write(const std::vector<std::uint8_t>& msg, bool binary, Handler&& h) {
    ws_.binary(binary);
    ws_.async_write(net::buffer(msg), std::forward<Handler>(h));
  }

  template <class Handler>
  void close(Handler&& h) {
    ws_.async_close(websocket::close_code::policy_error, std::forward<Handler>(h));
  }

  void shutdown() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  auto get_executor() { return ws_.get_executor(); }

 private:
  template <class Handler>
  void read_piece(Handler&& h) {
    // Up to one byte past the limit: a message over it is seen as such, and
    // Beast reads a frame in one piece when it can (its buffer grows once).
    const std::size_t room = max_ >= buffer_.size() ? max_ - buffer_.size() + 1 : 1;
    ws_.async_read_some(buffer_, room,
                        [this, h = std::forward<Handler>(h)](beast::error_code ec, std::size_t) mutable {
                          if (ec) return h(ec, read_result{});
                          if (buffer_.size() > max_) {
                            read_result r;
                            r.too_large = true;
                            r.size = buffer_.size();
                            return h(ec, r);
                          }
                          if (!ws_.is_message_done()) return read_piece(std::move(h));
                          const auto d = buffer_.cdata();
                          read_result r;
                          r.data = {static_cast<const std::uint8_t*>(d.data()), d.size()};
                          r.binary = ws_.got_binary();
                          h(ec, r);
                        });
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  std::size_t max_ = 0;
};

// The legacy TCP port, which carries either link protocol, told apart by
// the first four bytes (already read by the listener):
//   ours:     a 4-byte little-endian length, then one message;
//   Kismet's: self-delimiting v3 frames (20-byte header, big-endian length
//             at byte 8, then the payload); a message is a whole frame.
class tcp_transport {
 public:
  tcp_transport(beast::tcp_stream&& s, link_protocol framing, std::array<std::uint8_t, 4> first)
      : s_(std::move(s)), framing_(framing), first_(first) {}

  void set_limit(std::size_t max_message) { max_ = max_message; }

  template <class Handler>
  void read(Handler&& h) {
    if (framing_ == link_protocol::kismet_v3) return read_v3(std::forward<Handler>(h));
    if (pending_first_) {
      pending_first_ = false;
      prefix_ = first_;
      return on_prefix(beast::error_code{}, std::forward<Handler>(h));
    }
    net::async_read(s_, net::buffer(prefix_),
                    [this, h = std::forward<Handler>(h)](beast::error_code ec, std::size_t) mutable {
                      on_prefix(ec, std::move(h));
                    });
  }

  template <class Handler>
  void write(const std::vector<std::uint8_t>& msg, bool, Handler&& h) {
    if (framing_ == link_protocol::kismet_v3) return net::async_write(s_, net::buffer(msg), std::forward<Handler>(h));
    const auto n = static_cast<std::uint32_t>(msg.size());
    out_prefix_ = {std::uint8_t(n), std::uint8_t(n >> 8), std::uint8_t(n >> 16), std::uint8_t(n >> 24)};
    const std::array<net::const_buffer, 2> bufs{net::buffer(out_prefix_), net::buffer(msg)};
    net::async_write(s_, bufs, std::forward<Handler>(h));
  }

  template <class Handler>
  void close(Handler&& h) {
    h(beast::error_code{});
  }

  void shutdown() {
    beast::error_code ec;
    s_.socket().shutdown(tcp::socket::shutdown_both, ec);
    s_.socket().close(ec);
  }

  auto get_executor() { return s_.get_executor(); }

 private:
  template <class Handler>
  void on_prefix(beast::error_code ec, Handler&& h) {
    if (ec) return h(ec, read_result{});
    const std::uint32_t n = std::uint32_t(prefix_[0]) | std::uint32_t(prefix_[1]) << 8 | std::uint32_t(prefix_[2]) << 16 |
                            std::uint32_t(prefix_[3]) << 24;
    if (n > max_) {
      read_result r;
      r.too_large = true;
      r.size = n;
      return h(ec, r);
    }
    body_.resize(n);
    net::async_read(s_, net::buffer(body_), [this, h = std::forward<Handler>(h)](beast::error_code ec2, std::size_t) mutable {
      read_result r;
      r.data = body_;
      h(ec2, r);
    });
  }

  template <class Handler>
  void read_v3(Handler&& h) {
    constexpr std::size_t kHeader = 20;
    body_.resize(kHeader);
    std::size_t have = 0;
    if (pending_first_) {
      pending_first_ = false;
      std::copy(first_.begin(), first_.end(), body_.begin());
      have = first_.size();
    }
    net::async_read(s_, net::buffer(body_.data() + have, kHeader - have),
                    [this, h = std::forward<Handler>(h)](beast::error_code ec, std::size_t) mutable {
                      if (ec) return h(ec, read_result{});
                      const std::uint32_t len = std::uint32_t(body_[8]) << 24 | std::uint32_t(body_[9]) << 16 |
                                                std::uint32_t(body_[10]) << 8 | std::uint32_t(body_[11]);
                      if (std::size_t(len) + kHeader > max_) {
                        read_result r;
                        r.too_large = true;
                        r.size = std::size_t(len) + kHeader;
                        return h(ec, r);
                      }
                      body_.resize(kHeader + len);
                      net::async_read(s_, net::buffer(body_.data() + kHeader, len),
                                      [this, h = std::move(h)](beast::error_code ec2, std::size_t) mutable {
                                        read_result r;
                                        r.data = body_;
                                        h(ec2, r);
                                      });
                    });
  }

  beast::tcp_stream s_;
  link_protocol framing_;
  std::array<std::uint8_t, 4> first_{};
  bool pending_first_ = true;
  std::array<std::uint8_t, 4> prefix_{}, out_prefix_{};
  std::vector<std::uint8_t> body_;
  std::size_t max_ = 0;
};

// ---------------------------------------------------------------------------
// One message session for every transport: the write queue (bounded in
// bytes, checked when a message is queued), the tick timer, and closing
// after the queue is flushed.

template <class Transport>
class message_session : public std::enable_shared_from_this<message_session<Transport>> {
 public:
  using transport_type = Transport;
  message_session(Transport&& t, server_ctx& ctx, connection_limits::slot_ptr slot)
      : t_(std::move(t)), ctx_(ctx), slot_(std::move(slot)), timer_(t_.get_executor()) {}

  Transport& transport() { return t_; }

  // Creates the handler and starts reading. A null handler closes at once.
  void start(const connection_info& who, const message_handler_factory& factory) {
    auto w = this->weak_from_this();
    auto ex = t_.get_executor();
    message_io io;
    io.send = [this](std::span<const std::uint8_t> m, bool binary) { queue(m, binary); };
    io.queued_bytes = [this] { return queued_bytes_; };
    io.post = [w, ex](std::function<void()> f) {
      net::post(ex, [w, f = std::move(f)] {
        auto self = w.lock();
        if (self && !self->closed_) f();
      });
    };
    io.after = [w, ex](std::chrono::milliseconds delay, std::function<void()> f) {
      auto t = std::make_shared<net::steady_timer>(ex, delay);
      t->async_wait([t, w, f = std::move(f)](beast::error_code ec) {
        auto self = w.lock();
        if (!ec && self && !self->closed_) f();
      });
    };
    handler_ = factory(who, std::move(io));
    if (!handler_) return shutdown();
    t_.set_limit(handler_->max_message_bytes());
    arm_timer();
    do_read();
  }

 private:
  void arm_timer() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      if (!self->handler_->on_tick()) return self->close_after_flush(cut_reason::handler);
      self->arm_timer();
    });
  }

  void do_read() {
    t_.read([self = this->shared_from_this()](beast::error_code ec, read_result r) { self->on_read(ec, r); });
  }

  void on_read(beast::error_code ec, const read_result& r) {
    if (closed_) return;
    if (ec) {
      if (ec == websocket::error::message_too_big) ctx_.parts.stats.cut(cut_reason::oversize);
      else if (!closing_) ctx_.parts.stats.cut(cut_reason::peer_closed);
      return shutdown();
    }
    if (closing_) return;
    if (r.too_large) {
      handler_->refuse(refusal::too_large, r.size);
      return close_after_flush(cut_reason::oversize);
    }
    if (!handler_->on_message(r.data, r.binary)) return close_after_flush(cut_reason::handler);
    if (closed_) return;  // cut while handling (queue over its bound)
    do_read();
  }

  void queue(std::span<const std::uint8_t> m, bool binary) {
    if (closed_) return;
    if (queued_bytes_ + m.size() > kMaxQueuedBytes) {
      // The peer has stopped reading: a bounded queue, and then the cut.
      ctx_.parts.stats.cut(cut_reason::not_reading);
      return shutdown();
    }
    queued_bytes_ += m.size();
    queue_.push_back({std::vector<std::uint8_t>(m.begin(), m.end()), binary});
    if (queue_.size() == 1) do_write();
  }

  void do_write() {
    t_.write(queue_.front().first, queue_.front().second,
             [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec) return shutdown();
    queued_bytes_ -= queue_.front().first.size();
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (closing_) finish_close();
  }

  void close_after_flush(cut_reason why) {
    if (closing_ || closed_) return;
    ctx_.parts.stats.cut(why);
    closing_ = true;
    if (queue_.empty()) finish_close();
  }

  void finish_close() {
    t_.close([self = this->shared_from_this()](beast::error_code) { self->shutdown(); });
  }

  void shutdown() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    t_.shutdown();
    // The handler lets go of what it holds (a source) — later, since this
    // may run inside one of its own calls (a send over the queue's bound).
    net::post(t_.get_executor(), [self = this->shared_from_this()] { self->handler_.reset(); });
  }

  Transport t_;
  server_ctx& ctx_;
  connection_limits::slot_ptr slot_;
  net::steady_timer timer_;
  std::unique_ptr<message_handler> handler_;
  std::deque<std::pair<std::vector<std::uint8_t>, bool>> queue_;
  std::size_t queued_bytes_ = 0;
  bool closing_ = false;
  bool closed_ = false;
};

using plain_ws_session = message_session<ws_transport<beast::tcp_stream>>;
using ssl_ws_session = message_session<ws_transport<beast::ssl_stream<beast::tcp_stream>>>;
using tcp_link_session = message_session<tcp_transport>;

// ---------------------------------------------------------------------------
// HTTP sessions.

template <class Derived>
class http_session {
 public:
  http_session(server_ctx& ctx, beast::flat_buffer buffer, std::string remote_ip, std::string remote_endpoint,
               connection_limits::slot_ptr slot)
      : ctx_(ctx), buffer_(std::move(buffer)), remote_ip_(std::move(remote_ip)),
        remote_endpoint_(std::move(remote_endpoint)), slot_(std::move(slot)) {}

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
  template <class Field>
  static std::string_view header(const http::request<http::string_body>& req, Field f) {
    auto it = req.find(f);
    return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
  }

  void on_header(beast::error_code ec, std::size_t) {
    started_ = std::chrono::steady_clock::now();
    if (ec == http::error::end_of_stream) return derived().do_eof();
    if (ec == http::error::header_limit) {
      // Say why before closing: a client with a huge URL or cookie should
      // not be left guessing at a reset. The header was not read: 431.
      return send(text_reply(431, "request line and headers exceed the limit of " +
                                      std::to_string(kHeaderLimit / 1024) +
                                      " KiB (a URL that long is not a Kismet or Hopwire route)"),
                  false);
    }
    if (ec) return;  // timeout, reset, garbage: nothing to answer
    first_request_ = false;
    beast::get_lowest_layer(derived().stream()).expires_after(kRequestTimeout);
    net_stats::bump(ctx_.parts.stats.http_requests);
    auto& req = parser_->get();

    request_head head;
    head.method = std::string_view(req.method_string().data(), req.method_string().size());
    head.target = std::string_view(req.target().data(), req.target().size());
    head.upgrade = websocket::is_upgrade(req);
    head.authorization = header(req, http::field::authorization);
    head.cookie = header(req, http::field::cookie);
    head.from_script = header(req, "X-Requested-With") == "XMLHttpRequest";
    if (const auto n = parser_->content_length()) head.content_length = *n;
    head.remote_ip = remote_ip_;
    adm_ = admit(head, admission_env{ctx_.parts.routes, ctx_.parts.auth, ctx_.parts.limiter, ctx_.uri_prefix,
                                     Derived::kTls});
    set_cookie_ = adm_.set_cookie;
    if (adm_.auth_failed) net_stats::bump(ctx_.parts.stats.http_auth_failures);
    switch (adm_.what) {
      case admission::verdict::answer: return send(std::move(adm_.reply), false);
      case admission::verdict::upgrade: {
        beast::get_lowest_layer(derived().stream()).expires_never();
        connection_info who;
        who.transport = transport_kind::websocket;
        who.remote_ip = remote_ip_;
        who.upgrade_role = adm_.auth.granted;
        who.principal = adm_.auth.principal;
        return derived().upgrade(parser_->release(), std::move(who), adm_.r->upgrade);
      }
      case admission::verdict::read_body:
        parser_->body_limit(adm_.r->body_limit);
        http::async_read(derived().stream(), buffer_, *parser_,
                         beast::bind_front_handler(&http_session::on_read, derived().shared_from_this()));
        return;
    }
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
      return send(text_reply(413, "request body exceeds the limit of " + std::to_string(adm_.r->body_limit) +
                                      " bytes for " + adm_.path),
                  false);
    }
    if (ec) return;
    auto& req = parser_->get();
    request r;
    r.method = std::string_view(req.method_string().data(), req.method_string().size());
    r.path = adm_.path;
    r.params = std::move(adm_.params);
    r.query = std::move(adm_.query);
    r.body = req.body();
    r.content_type = header(req, http::field::content_type);
    r.session_cookie = kismet_cookie(header(req, http::field::cookie));
    r.accept_encoding = header(req, http::field::accept_encoding);
    r.if_none_match = header(req, http::field::if_none_match);
    r.auth = std::move(adm_.auth);
    r.remote = remote_endpoint_;
    http_reply reply;
    try {
      reply = adm_.r->handler(r);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: {}", std::string(req.method_string()), adm_.path, e.what());
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
    ctx_.parts.stats.answered(reply.status,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
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
    reservation_ = ctx_.parts.answers.reserve(reply.stream->memory_bound() + kStreamChunk);
    if (!reservation_) {
      reply.stream->close();
      auto busy = text_reply(503, "the collector is answering as much as its memory budget allows (--answer-memory " +
                                      std::to_string(ctx_.parts.answers.limit() >> 20) + " MiB); try again shortly");
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
  server_ctx& ctx_;
  beast::flat_buffer buffer_;
  std::string remote_ip_;
  std::string remote_endpoint_;  // ip:port
  connection_limits::slot_ptr slot_;

 private:
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> res_;
  admission adm_;
  bool first_request_ = true;
  std::chrono::steady_clock::time_point started_{};
  std::string set_cookie_;
  // Streaming state.
  std::shared_ptr<body_stream> stream_;
  std::unique_ptr<answer_budget::reservation> reservation_;
  std::string chunk_;
  bool writing_ = false;
  char watch_buf_[256];
};

// Hands an upgraded connection to a message session for the route's handler.
template <class Session, class Stream>
void start_websocket(Stream&& stream, http::request<http::string_body> req, connection_info who,
                     const message_handler_factory& factory, server_ctx& ctx, connection_limits::slot_ptr slot) {
  if (!factory) return;
  auto s = std::make_shared<Session>(typename Session::transport_type(std::move(stream)), ctx, std::move(slot));
  // The handler's limit is known once it exists; a generous bound applies
  // during the handshake.
  auto req_ptr = std::make_shared<http::request<http::string_body>>(std::move(req));
  s->transport().accept(*req_ptr, [s, req_ptr, who = std::move(who), factory](beast::error_code ec) mutable {
                          if (ec) return;
                          s->start(who, factory);
                        });
}

class plain_http_session : public http_session<plain_http_session>,
                           public std::enable_shared_from_this<plain_http_session> {
 public:
  static constexpr bool kTls = false;
  plain_http_session(beast::tcp_stream&& stream, beast::flat_buffer&& buffer, server_ctx& ctx,
                     connection_limits::slot_ptr slot)
      : http_session(ctx, std::move(buffer), remote_ip_of(stream.socket()), remote_endpoint_of(stream.socket()),
                     std::move(slot)),
        stream_(std::move(stream)) {}

  void run() { do_read(); }
  beast::tcp_stream& stream() { return stream_; }

  void upgrade(http::request<http::string_body> req, connection_info who, const message_handler_factory& f) {
    start_websocket<plain_ws_session>(std::move(stream_), std::move(req), std::move(who), f, ctx_, slot_);
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
  ssl_http_session(beast::tcp_stream&& stream, ssl::context& tls, beast::flat_buffer&& buffer, server_ctx& ctx,
                   connection_limits::slot_ptr slot)
      : http_session(ctx, std::move(buffer), remote_ip_of(stream.socket()), remote_endpoint_of(stream.socket()),
                     std::move(slot)),
        stream_(std::move(stream), tls) {}

  void run() {
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    // The detector may have read bytes of the ClientHello already.
    stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                            beast::bind_front_handler(&ssl_http_session::on_handshake, shared_from_this()));
  }

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

  void upgrade(http::request<http::string_body> req, connection_info who, const message_handler_factory& f) {
    start_websocket<ssl_ws_session>(std::move(stream_), std::move(req), std::move(who), f, ctx_, slot_);
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
  detect_session(tcp::socket&& socket, ssl::context& tls, server_ctx& ctx, bool allow_plain,
                 connection_limits::slot_ptr slot)
      : stream_(std::move(socket)), tls_(tls), ctx_(ctx), allow_plain_(allow_plain), slot_(std::move(slot)) {}

  void run() {
    stream_.expires_after(kRequestTimeout);
    beast::async_detect_ssl(stream_, buffer_,
                            beast::bind_front_handler(&detect_session::on_detect, shared_from_this()));
  }

 private:
  void on_detect(beast::error_code ec, bool tls) {
    if (ec) return;
    if (tls) {
      std::make_shared<ssl_http_session>(std::move(stream_), tls_, std::move(buffer_), ctx_, std::move(slot_))->run();
    } else if (allow_plain_) {
      std::make_shared<plain_http_session>(std::move(stream_), std::move(buffer_), ctx_, std::move(slot_))->run();
    } else {
      static const std::string kRefusal =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 49\r\n\r\n"
          "this collector requires TLS: use https:// or wss\n";
      net::async_write(stream_, net::buffer(kRefusal), [self = shared_from_this()](beast::error_code, std::size_t) {
        beast::error_code ec2;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec2);
      });
    }
  }

  beast::tcp_stream stream_;
  ssl::context& tls_;
  server_ctx& ctx_;
  bool allow_plain_;
  connection_limits::slot_ptr slot_;
  beast::flat_buffer buffer_;
};

// ---------------------------------------------------------------------------
// Listeners.

enum class listener_kind { http, tcp_link };

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& io, tcp::endpoint ep, listener_kind kind, server_ctx& ctx, ssl::context* tls,
           bool allow_plain)
      : io_(io), acceptor_(io), backoff_timer_(io), kind_(kind), ctx_(ctx), tls_(tls), allow_plain_(allow_plain) {
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
    const std::string ip = remote_ip_of(socket);
    std::string why;
    auto slot = ctx_.limits->acquire(ip, why);
    if (!slot) {
      ctx_.refusals.warn("refused a connection from {}: {}", ip, why);
      refuse(std::move(socket), why);
      return do_accept();
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (kind_ == listener_kind::tcp_link) {
      detect_link(std::make_shared<beast::tcp_stream>(std::move(socket)), ip, std::move(slot));
    } else if (tls_) {
      std::make_shared<detect_session>(std::move(socket), *tls_, ctx_, allow_plain_, std::move(slot))->run();
    } else {
      std::make_shared<plain_http_session>(beast::tcp_stream(std::move(socket)), beast::flat_buffer(), ctx_,
                                           std::move(slot))
          ->run();
    }
    do_accept();
  }

  // The TCP port's protocol, from its first four bytes (within the request
  // timeout): Kismet's frames start 0xDECAFBAD, ours with a length.
  void detect_link(std::shared_ptr<beast::tcp_stream> stream, std::string ip, connection_limits::slot_ptr slot) {
    auto first = std::make_shared<std::array<std::uint8_t, 4>>();
    stream->expires_after(kRequestTimeout);
    net::async_read(*stream, net::buffer(*first),
                    [this, self = shared_from_this(), stream, first, ip = std::move(ip),
                     slot = std::move(slot)](beast::error_code ec, std::size_t) mutable {
                      if (ec) return;
                      stream->expires_never();
                      const bool v3 = (*first)[0] == 0xde && (*first)[1] == 0xca && (*first)[2] == 0xfb &&
                                      (*first)[3] == 0xad;
                      const auto& factory = v3 ? ctx_.parts.kismet_tcp : ctx_.parts.tcp_link;
                      if (!factory) {
                        ctx_.refusals.warn("a Kismet capture tool connected to the TCP port from {}; Kismet tools "
                                           "are off (kismet_sensors: true in the config turns them on)",
                                           ip);
                        beast::error_code e;
                        stream->socket().close(e);
                        return;
                      }
                      auto s = std::make_shared<tcp_link_session>(
                          tcp_transport(std::move(*stream), v3 ? link_protocol::kismet_v3 : link_protocol::hopwire,
                                        *first),
                          ctx_, std::move(slot));
                      connection_info who;
                      who.transport = transport_kind::tcp;
                      who.remote_ip = ip;
                      who.protocol = v3 ? link_protocol::kismet_v3 : link_protocol::hopwire;
                      s->start(who, factory);
                    });
  }

  // Over a connection limit: an HTTP client is told why (best effort, the
  // socket is not read); a TCP link is just closed.
  void refuse(tcp::socket socket, const std::string& why) {
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    if (kind_ == listener_kind::tcp_link || tls_) {
      beast::error_code e;
      s->close(e);
      return;
    }
    auto text = std::make_shared<std::string>("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                              "Connection: close\r\nRetry-After: 5\r\nContent-Length: " +
                                              std::to_string(why.size() + 1) + "\r\n\r\n" + why + "\n");
    net::async_write(*s, net::buffer(*text), [s, text](beast::error_code, std::size_t) {
      beast::error_code e;
      s->shutdown(tcp::socket::shutdown_both, e);
      s->close(e);
    });
  }

  // Out of descriptors (or kernel memory), the pending connection stays in
  // the backlog and accept fails again at once: wait before retrying, so a
  // flood of connections costs a timer, not a core and a log line each.
  void accept_failed(const beast::error_code& ec) {
    net_stats::bump(ctx_.parts.stats.accept_errors);
    ctx_.refusals.warn("accept failed on {}: {}; new connections wait", endpoint_text(), ec.message());
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
  listener_kind kind_;
  server_ctx& ctx_;
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
  explicit impl(http_server_parts p) : ctx{std::move(p), {}, nullptr, {}} {}
  server_ctx ctx;
  std::unique_ptr<ssl::context> tls;
  std::shared_ptr<listener> http;
  std::shared_ptr<listener> tcp_link;
};

http_server::http_server(net::io_context& io, http_server_parts parts, const server_config& cfg)
    : impl_(new impl(std::move(parts))) {
  impl_->ctx.uri_prefix = cfg.uri_prefix;
  impl_->ctx.limits = std::make_shared<connection_limits>(
      cfg.max_connections ? cfg.max_connections : default_max_connections(), cfg.max_connections_per_address,
      impl_->ctx.parts.stats);
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
                                           listener_kind::http, impl_->ctx, impl_->tls.get(), cfg.allow_plain_with_tls);
  if (cfg.tcp_port != 0 && impl_->ctx.parts.tcp_link)
    impl_->tcp_link = std::make_shared<listener>(io, make_endpoint(cfg.tcp_listen_address, cfg.tcp_port),
                                                 listener_kind::tcp_link, impl_->ctx, nullptr, false);
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

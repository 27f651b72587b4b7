// Alert outputs: syslog and webhooks, one thread and one bounded queue
// each. The HTTP(S) client is Beast's, driven on the output's own thread
// with a private io_context: each step (resolve, connect, handshake, write,
// read) runs to completion or to the request's deadline, so a receiver that
// never answers costs the output its timeout and nothing else.
#include "collector/alerts/outputs.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/hmac.h>

#include "collector/alerts/alert_engine.h"
#include "collector/alerts/alert_json.h"
#include "common/log.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Formats.

std::uint8_t syslog_severity(std::uint8_t s) {
  if (s >= kSevCritical) return 2;
  if (s >= kSevHigh) return 3;
  if (s >= kSevMedium) return 4;
  if (s >= kSevLow) return 5;
  return 6;
}

namespace {

// PRINTUSASCII without spaces (RFC 5424 header fields), at most `max`.
std::string header_field(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() == max) break;
    if (c > 32 && c < 127) out += c;
  }
  return out.empty() ? "-" : out;
}

// An SD-PARAM value: '"', '\' and ']' escaped.
std::string sd_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string rfc5424_message(const alert& a, std::uint8_t facility, std::string_view app_name,
                            std::string_view hostname, long pid) {
  const unsigned pri = static_cast<unsigned>(facility) * 8 + syslog_severity(a.severity);
  const std::time_t secs = static_cast<std::time_t>(a.ts_ns / 1000000000ull);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(a.ts_ns / 1000 % 1000000));
  std::string sensors;
  for (const auto& s : a.seenby) sensors += (sensors.empty() ? "" : ",") + s.name;
  std::string m = "<" + std::to_string(pri) + ">1 " + ts + " " + header_field(hostname, 255) + " " +
                  header_field(app_name, 48) + " " + std::to_string(pid) + " " + header_field(a.header, 32) + " ";
  // 32473 is the enterprise number RFC 5612 reserves for documentation and
  // examples; Hopwire has none of its own.
  m += "[hopwire@32473 id=\"" + std::to_string(a.id) + "\" class=\"" + sd_value(a.alert_class) + "\" severity=\"" +
       std::to_string(a.severity) + "\" transmitter=\"" + mac_text(a.transmitter) + "\" source=\"" +
       mac_text(a.source) + "\" dest=\"" + mac_text(a.dest) + "\" channel=\"" + sd_value(a.channel) +
       "\" hash=\"" + std::to_string(a.hash) + "\" sensors=\"" + sd_value(sensors) + "\"] ";
  m += a.header + " " + a.text;
  return m;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  static constexpr char d[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += d[out[i] >> 4];
    hex += d[out[i] & 15];
  }
  return hex;
}

std::optional<url_parts> parse_http_url(std::string_view url, std::string& why) {
  url_parts u;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    why = "expected an http:// or https:// URL";
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.target = std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) {
    why = "credentials in the URL are not sent; use the secret for the signature";
    return std::nullopt;
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "unclosed [ in the host";
      return std::nullopt;
    }
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) {
    why = "no host in the URL";
    return std::nullopt;
  }
  u.port = u.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) {
        why = "bad port in the URL";
        return std::nullopt;
      }
      p = p * 10 + static_cast<unsigned>(c - '0');
    }
    if (p == 0 || p > 65535) {
      why = "bad port in the URL";
      return std::nullopt;
    }
    u.port = static_cast<std::uint16_t>(p);
  }
  return u;
}

// ---------------------------------------------------------------------------
// Workers: a bounded queue and a thread.

struct alert_outputs::worker {
  explicit worker(std::size_t max) : max_(std::max<std::size_t>(max, 1)) {}
  virtual ~worker() { stop(); }

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void push(const alert& a) {
    if (a.severity < min_severity_) return;
    {
      std::lock_guard lock(mu_);
      if (q_.size() >= max_) {
        q_.pop_front();
        ++st_.dropped;
      }
      q_.push_back(a);
      ++st_.queued;
    }
    cv_.notify_one();
  }
  output_stats stats() const {
    std::lock_guard lock(mu_);
    auto s = st_;
    s.waiting = q_.size();
    return s;
  }

 protected:
  // Sends one alert (retrying as the output does); on the worker's thread.
  virtual void deliver(alert& a) = 0;
  // Waits until `t` or stop(); false when stopping.
  bool sleep_until(clock_type::time_point t) {
    std::unique_lock lock(mu_);
    return !cv_.wait_until(lock, t, [this] { return stop_; });
  }
  bool stopping() const {
    std::lock_guard lock(mu_);
    return stop_;
  }
  template <typename Fn>
  void count(Fn&& fn) {
    std::lock_guard lock(mu_);
    fn(st_);
  }

  std::uint8_t min_severity_ = 0;
  output_stats st_;

 private:
  void run() {
    for (;;) {
      alert a;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !q_.empty(); });
        if (stop_) return;
        a = std::move(q_.front());
        q_.pop_front();
      }
      deliver(a);
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<alert> q_;
  std::size_t max_;
  bool stop_ = false;
  std::thread thread_;
};

namespace {

using output_stats = alert_outputs::output_stats;

// ---------------------------------------------------------------------------
// Syslog: datagrams, sent without waiting (MSG_DONTWAIT).

class syslog_worker final : public alert_outputs::worker {
 public:
  explicit syslog_worker(const syslog_output_config& c) : worker(1000), cfg_(c) {
    min_severity_ = c.min_severity;
    st_.name = c.udp ? "syslog udp://" + c.host + ":" + std::to_string(c.port) : "syslog " + c.socket_path;
    char host[256] = {0};
    if (::gethostname(host, sizeof host - 1) == 0) hostname_ = host;
  }
  ~syslog_worker() override {
    stop();
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  bool open_socket(std::string& why) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!cfg_.udp) {
      fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::strncpy(sa.sun_path, cfg_.socket_path.c_str(), sizeof sa.sun_path - 1);
      if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        why = cfg_.socket_path + ": " + std::strerror(errno);
        return false;
      }
      return true;
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_DGRAM;
    const int rc = ::getaddrinfo(cfg_.host.c_str(), std::to_string(cfg_.port).c_str(), &hints, &res);
    if (rc != 0 || !res) {
      why = cfg_.host + ": " + ::gai_strerror(rc);
      return false;
    }
    fd_ = ::socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool ok = fd_ >= 0 && ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
    if (!ok) why = cfg_.host + ": " + std::strerror(errno);
    ::freeaddrinfo(res);
    return ok;
  }

  void deliver(alert& a) override {
    const std::string msg = rfc5424_message(a, cfg_.facility, cfg_.app_name, hostname_, ::getpid());
    std::string why;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !open_socket(why)) continue;
      if (::send(fd_, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size())) {
        count([](output_stats& s) { ++s.sent; });
        return;
      }
      why = std::strerror(errno);
      ::close(fd_);  // reconnect: syslogd may have restarted
      fd_ = -1;
    }
    count([&](output_stats& s) {
      ++s.failed;
      s.last_error = why;
    });
  }

  syslog_output_config cfg_;
  std::string hostname_ = "-";
  int fd_ = -1;
};

// ---------------------------------------------------------------------------
// Webhooks.

struct http_result {
  bool ok = false;
  bool retry = true;  // worth another attempt
  unsigned status = 0;
  std::string error;
};

class webhook_worker final : public alert_outputs::worker {
 public:
  webhook_worker(const webhook_output_config& c, url_parts url, const alert_engine* engine)
      : worker(c.queue), cfg_(c), url_(std::move(url)), engine_(engine), tls_(ssl::context::tls_client) {
    min_severity_ = c.min_severity;
    st_.name = "webhook " + c.url;
    if (url_.tls) {
      tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      if (c.tls_verify) {
        tls_.set_verify_mode(ssl::verify_peer);
        if (c.ca_file.empty()) tls_.set_default_verify_paths();
        else tls_.load_verify_file(c.ca_file);  // throws: the constructor's caller reports it
      } else {
        tls_.set_verify_mode(ssl::verify_none);
      }
    }
  }
  ~webhook_worker() override { stop(); }

 private:
  // Runs the io_context until the pending operation completes.
  void run_io() {
    ioc_.restart();
    ioc_.run();
  }

  template <typename Stream>
  http_result exchange(Stream& stream, const std::string& body, const std::string& signature, const alert& a) {
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    const bool default_port = url_.port == (url_.tls ? 443 : 80);
    const std::string host = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    req.set(http::field::host, default_port ? host : host + ":" + std::to_string(url_.port));
    req.set(http::field::user_agent, std::string("hopwire/") + kVersion);
    req.set(http::field::content_type, "application/json");
    if (!signature.empty()) req.set("X-Hopwire-Signature", "sha256=" + signature);
    req.set("X-Hopwire-Alert", a.header);
    req.set("X-Hopwire-Alert-Id", std::to_string(a.id));
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec = net::error::would_block;
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run_io();
    if (ec) return {false, true, 0, "sending: " + ec.message()};
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    ec = net::error::would_block;
    http::async_read(stream, buf, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run_io();
    if (ec) return {false, true, 0, "reading the answer: " + ec.message()};
    const unsigned status = parser.get().result_int();
    if (status >= 200 && status < 300) return {true, false, status, {}};
    const bool retry = status >= 500 || status == 408 || status == 429;
    return {false, retry, status, "HTTP " + std::to_string(status)};
  }

  http_result post(const std::string& body, const std::string& signature, const alert& a) {
    const auto deadline = clock_type::now() + std::chrono::milliseconds(cfg_.timeout_ms);
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    beast::error_code ec = net::error::would_block;
    bool resolved = false;
    resolver.async_resolve(url_.host, std::to_string(url_.port),
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             resolved = true;
                           });
    ioc_.restart();
    ioc_.run_until(deadline);
    if (!resolved) {
      resolver.cancel();
      run_io();
      return {false, true, 0, "timed out resolving " + url_.host};
    }
    if (ec) return {false, true, 0, "resolving " + url_.host + ": " + ec.message()};

    if (!url_.tls) {
      beast::tcp_stream stream(ioc_);
      stream.expires_at(deadline);
      ec = net::error::would_block;
      stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
      run_io();
      if (ec) return {false, true, 0, "connecting: " + ec.message()};
      auto r = exchange(stream, body, signature, a);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      return r;
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc_, tls_);
    beast::get_lowest_layer(stream).expires_at(deadline);
    boost::system::error_code addr_ec;
    net::ip::make_address(url_.host, addr_ec);
    const bool is_ip = !addr_ec;  // no SNI for an address (RFC 6066)
    if (!is_ip && !SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str()))
      return {false, false, 0, "TLS: cannot set the server name"};
    if (cfg_.tls_verify) stream.set_verify_callback(ssl::host_name_verification(url_.host));
    ec = net::error::would_block;
    beast::get_lowest_layer(stream).async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run_io();
    if (ec) return {false, true, 0, "connecting: " + ec.message()};
    ec = net::error::would_block;
    stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run_io();
    if (ec) return {false, true, 0, "TLS handshake: " + ec.message()};
    auto r = exchange(stream, body, signature, a);
    // A short, bounded close: the answer is in already.
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(200));
    stream.async_shutdown([](beast::error_code) {});
    run_io();
    return r;
  }

  void deliver(alert& a) override {
    if (cfg_.delay_ms) {
      // Wait for the merge window's sensors, then send the alert as it is.
      const auto raised_wall = std::chrono::nanoseconds(a.ts_ns);
      const auto now_wall = std::chrono::system_clock::now().time_since_epoch();
      const auto wait = raised_wall + std::chrono::milliseconds(cfg_.delay_ms) - now_wall;
      if (wait.count() > 0 && !sleep_until(clock_type::now() + std::chrono::duration_cast<clock_type::duration>(wait)))
        return;
      if (engine_)
        if (auto latest = engine_->by_id(a.id)) a = std::move(*latest);
    }
    const std::string body = alert_json(a);
    const std::string signature = cfg_.secret.empty() ? std::string() : hmac_sha256_hex(cfg_.secret, body);
    std::uint32_t backoff = std::max<std::uint32_t>(cfg_.backoff_ms, 1);
    for (std::uint32_t attempt = 1;; ++attempt) {
      http_result r;
      try {
        r = post(body, signature, a);
      } catch (const std::exception& e) {
        r = {false, true, 0, e.what()};
      }
      if (r.ok) {
        count([](output_stats& s) { ++s.sent; });
        return;
      }
      if (!r.retry || attempt >= cfg_.attempts || stopping()) {
        count([&](output_stats& s) {
          ++s.failed;
          s.last_error = r.error;
        });
        spdlog::warn("webhook {}: alert {} not delivered after {} attempt(s): {}", cfg_.url, a.id, attempt, r.error);
        return;
      }
      count([&](output_stats& s) {
        ++s.retried;
        s.last_error = r.error;
      });
      if (!sleep_until(clock_type::now() + std::chrono::milliseconds(backoff))) return;
      backoff = std::min<std::uint32_t>(backoff * 2, std::max(cfg_.backoff_max_ms, cfg_.backoff_ms));
    }
  }

  webhook_output_config cfg_;
  url_parts url_;
  const alert_engine* engine_;
  net::io_context ioc_;
  ssl::context tls_;
};

}  // namespace

// ---------------------------------------------------------------------------

alert_outputs::alert_outputs(const alerts_config& cfg, const alert_engine* engine) {
  for (const auto& s : cfg.syslog) workers_.push_back(std::make_unique<syslog_worker>(s));
  for (const auto& w : cfg.webhooks) {
    std::string why;
    auto url = parse_http_url(w.url, why);
    if (!url) {
      problems_.push_back("webhook " + w.url + ": " + why);
      continue;
    }
    try {
      workers_.push_back(std::make_unique<webhook_worker>(w, std::move(*url), engine));
    } catch (const std::exception& e) {
      problems_.push_back("webhook " + w.url + ": " + e.what() + (w.ca_file.empty() ? "" : " (ca_file " + w.ca_file + ")"));
    }
  }
}

alert_outputs::~alert_outputs() { stop(); }

void alert_outputs::start() {
  for (auto& w : workers_) w->start();
}

void alert_outputs::stop() {
  for (auto& w : workers_) w->stop();
}

void alert_outputs::on_alert(const alert& a) {
  for (auto& w : workers_) w->push(a);
}

std::vector<alert_outputs::output_stats> alert_outputs::stats() const {
  std::vector<output_stats> out;
  for (const auto& w : workers_) out.push_back(w->stats());
  return out;
}

}  // namespace hopwire::collector

#pragma once
// Where alerts go besides the REST API and the event bus: syslog (RFC 5424,
// to the local /dev/log datagram socket or over UDP to a host) and webhooks
// (an HTTP or HTTPS POST of the alert's JSON, signed with
// X-Hopwire-Signature: sha256=<hex HMAC-SHA256 of the body>, retried with
// exponential backoff).
//
// Each output has its own thread and a bounded queue: on_alert() (an
// engine subscriber, on the raising thread) only copies the alert into the
// queues, dropping the oldest waiting alert of a full one (counted), so a
// dead or slow receiver never holds alerting back. The HTTP client (Beast
// and OpenSSL) lives in outputs.cc alone.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/alerts/alert.h"
#include "collector/config/alerts_config.h"

namespace hopwire::collector {

class alert_engine;

class alert_outputs {
 public:
  struct output_stats {
    std::string name;        // "syslog udp://host:514", "webhook https://..."
    std::uint64_t queued = 0, sent = 0, failed = 0, retried = 0, dropped = 0;
    std::size_t waiting = 0;
    std::string last_error;
  };

  // `engine` (may be null) lets a webhook with a delay send the alert as it
  // is by then (every sensor that added to it). Outputs whose settings
  // cannot work (a CA file that does not load) are left out, with the
  // reason in problems().
  alert_outputs(const alerts_config& cfg, const alert_engine* engine);
  ~alert_outputs();  // stop()
  alert_outputs(const alert_outputs&) = delete;
  alert_outputs& operator=(const alert_outputs&) = delete;

  void start();
  // Stops the threads; an HTTP request in flight ends at its timeout.
  void stop();

  // An engine subscriber: copies the alert into each queue. Never blocks.
  void on_alert(const alert& a);

  std::vector<output_stats> stats() const;
  const std::vector<std::string>& problems() const { return problems_; }

  struct worker;

 private:
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::string> problems_;
};

// The pieces, for tests.

// Kismet's severity to syslog's: 20 crit(2), 15 err(3), 10 warning(4),
// 5 notice(5), 0 info(6).
std::uint8_t syslog_severity(std::uint8_t alert_severity);
// One RFC 5424 message: <PRI>1 TIME HOST APP PID HEADER [hopwire@32473 ...] HEADER text
std::string rfc5424_message(const alert& a, std::uint8_t facility, std::string_view app_name,
                            std::string_view hostname, long pid);
// Lower-case hex of HMAC-SHA256(key, data).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

struct url_parts {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target = "/";
};
std::optional<url_parts> parse_http_url(std::string_view url, std::string& why);

}  // namespace hopwire::collector

#pragma once
// The sd_notify protocol, spoken natively (no libsystemd): tells the service
// manager listening on $NOTIFY_SOCKET when the collector is ready, that it is
// still alive (watchdog) and when it is stopping. Everything here is a no-op
// when NOTIFY_SOCKET is unset, so the collector behaves the same outside
// systemd.
#include <atomic>
#include <chrono>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hopwire::collector {

// One datagram socket towards $NOTIFY_SOCKET (a path, or an abstract name
// written with a leading '@').
class sd_notifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
  sd_notifier();
  ~sd_notifier();
  sd_notifier(const sd_notifier&) = delete;
  sd_notifier& operator=(const sd_notifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // Sends one message such as "READY=1\nSTATUS=listening". Failures are
  // logged once and otherwise ignored: the manager may have gone away, the
  // collector keeps running.
  bool notify(std::string_view state);
  // How often systemd wants WATCHDOG=1 at the latest; zero when it does not.
  std::chrono::microseconds watchdog_timeout() const { return watchdog_; }

 private:
  int fd_ = -1;
  std::chrono::microseconds watchdog_{0};
  std::atomic<bool> warned_{false};
};

// Sends WATCHDOG=1 every half watchdog timeout from a timer on the io
// context, so a stuck event loop stops the pings and systemd restarts us.
class sd_watchdog {
 public:
  sd_watchdog(boost::asio::io_context& io, sd_notifier& notifier);
  void start();
  void stop();

 private:
  void arm();

  boost::asio::steady_timer timer_;
  sd_notifier& notifier_;
  std::chrono::microseconds period_;
  bool running_ = false;
};

}  // namespace hopwire::collector

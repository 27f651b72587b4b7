#include "collector/app/sd_notify.h"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

namespace hopwire::collector {

namespace net = boost::asio;

namespace {

// Fills addr from NOTIFY_SOCKET; returns the address length, 0 if unusable.
socklen_t notify_address(const char* name, sockaddr_un& addr) {
  const std::size_t len = std::strlen(name);
  addr = {};
  addr.sun_family = AF_UNIX;
  // An abstract name keeps its exact length (no terminating NUL); a path
  // needs room for one.
  if (len < 2 || (name[0] != '/' && name[0] != '@') || len >= sizeof addr.sun_path) return 0;
  std::memcpy(addr.sun_path, name, len);
  if (name[0] == '@') addr.sun_path[0] = '\0';
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (name[0] == '/' ? 1 : 0));
}

}  // namespace

sd_notifier::sd_notifier() {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (!socket_name || !*socket_name) return;
  sockaddr_un addr;
  const socklen_t addr_len = notify_address(socket_name, addr);
  if (!addr_len) {
    spdlog::warn("NOTIFY_SOCKET={} is neither a path nor an abstract '@' name; not notifying systemd", socket_name);
    return;
  }
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    spdlog::warn("sd_notify: socket: {}", std::strerror(errno));
    return;
  }
  // Connected once, so every later send is a plain send() and a vanished
  // manager shows up as an error instead of a silent loss.
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
    spdlog::warn("sd_notify: cannot reach NOTIFY_SOCKET={}: {}", socket_name, std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    return;
  }

  // The watchdog is ours only if WATCHDOG_PID is unset or names us.
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  if (usec && *usec && (!pid || !*pid || std::strtoll(pid, nullptr, 10) == static_cast<long long>(::getpid()))) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(usec, &end, 10);
    if (end && *end == '\0' && v > 0)
      watchdog_ = std::chrono::microseconds(v);
    else
      spdlog::warn("WATCHDOG_USEC={} is not a positive number of microseconds; no watchdog pings", usec);
  }
}

sd_notifier::~sd_notifier() {
  if (fd_ >= 0) ::close(fd_);
}

bool sd_notifier::notify(std::string_view state) {
  if (fd_ < 0) return false;
  const ssize_t n = ::send(fd_, state.data(), state.size(), MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(state.size())) return true;
  if (!warned_.exchange(true)) {
    spdlog::warn("sd_notify: sending to NOTIFY_SOCKET failed: {}", n < 0 ? std::strerror(errno) : "short write");
  }
  return false;
}

sd_watchdog::sd_watchdog(net::io_context& io, sd_notifier& notifier)
    : timer_(net::make_strand(io)), notifier_(notifier), period_(notifier.watchdog_timeout() / 2) {}

void sd_watchdog::start() {
  if (!notifier_.enabled() || period_.count() <= 0) return;
  spdlog::info("systemd watchdog: pinging every {} ms", period_.count() / 1000);
  net::post(timer_.get_executor(), [this] {
    running_ = true;
    notifier_.notify("WATCHDOG=1");
    arm();
  });
}

void sd_watchdog::stop() {
  net::post(timer_.get_executor(), [this] {
    running_ = false;
    timer_.cancel();
  });
}

void sd_watchdog::arm() {
  timer_.expires_after(period_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    notifier_.notify("WATCHDOG=1");
    arm();
  });
}

}  // namespace hopwire::collector

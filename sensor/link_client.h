#pragma once
// The sensor's end of the link: connects, says Hello, streams batches from
// the ring, frees them on Ack, pings, reports Status, and reconnects with
// backoff when the collector goes away.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <flatbuffers/flatbuffers.h>

#include "hopwire/hopwire_generated.h"

#include "sensor/capture_source.h"
#include "sensor/link_transport.h"
#include "sensor/packet_ring.h"

namespace hopwire::sensor {

struct collector_address {
  std::string host;
  std::string port;
};

struct link_options {
  // The collectors to try, in turn (--connect a:2501,b:2501): a lost link
  // is retried on the collector that last welcomed the sensor, a refused
  // one moves to the next entry at once, and only a whole failed pass backs
  // off. Empty: host and port alone.
  std::vector<collector_address> collectors;
  std::string host = "127.0.0.1";  // the one being tried now
  std::string port = "2501";
  std::string endpoint = "/datasource/remote/remotesource.ws";
  bool tcp = false;          // legacy length-prefixed TCP instead of WebSocket
  bool tls = false;
  std::string ca_file;       // empty: the system's trust store
  bool insecure_skip_verify = false;
  std::string user;
  std::string password;
  std::string apikey;
  bool retry = true;
  std::string gps_name;
  std::size_t max_batch_packets = 2048;
  std::size_t max_batch_bytes = 256 * 1024;
  // The sensor stops its io_context when its one link is done; a process
  // that runs many links on one (tests/bench/link_swarm.cc) does not.
  bool stop_io_when_done = true;
};

class link_client {
 public:
  link_client(net::io_context& io, link_options opts, packet_ring& ring, capture_source& source);

  // Begins connecting; the io_context then runs until the replay is done or
  // a fatal error. exit_code() tells which.
  void start();
  // From any thread: the source finished; exit once everything is acked.
  void notify_source_done();
  // From the io thread: stop now (signal).
  void shutdown();
  int exit_code() const { return exit_code_; }
  // From any thread: the link is done (exit_code() holds); how often it
  // was welcomed (the first connect and each reconnect), and warned it
  // would retry.
  bool done() const { return done_.load(std::memory_order_acquire); }
  std::uint64_t welcomes() const { return welcomes_.load(std::memory_order_relaxed); }
  std::uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }

 private:
  enum class state { idle, connecting, hello, streaming, closing, done };

  void connect();
  void on_resolved(beast::error_code ec, net::ip::tcp::resolver::results_type results);
  void on_open(beast::error_code ec);
  void send_hello();
  void on_welcome_read(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec);
  void handle_frame(const wire::Frame& frame);
  void pump();
  void on_write(beast::error_code ec);
  void queue_control(flatbuffers::FlatBufferBuilder& fbb);
  void queue_status();
  void build_batch(const packet_ring::batch_ref& b);
  void on_tick();
  // `next_collector`: go on to the next collector of --connect at once
  // (this one said it cannot take the source now).
  void lost(const std::string& why, bool auth_failure = false, bool next_collector = false);
  void finish(int code);
  void maybe_complete();
  std::chrono::milliseconds next_backoff(bool auth_failure);

  net::io_context& io_;
  link_options opts_;
  packet_ring& ring_;
  capture_source& source_;
  std::unique_ptr<net::ssl::context> ssl_ctx_;
  net::ip::tcp::resolver resolver_;
  net::steady_timer retry_timer_;
  net::steady_timer tick_timer_;
  std::shared_ptr<link_transport> transport_;
  std::uint64_t generation_ = 0;  // bumps per connection; stale handlers check it

  state state_ = state::idle;
  bool write_in_flight_ = false;
  bool source_done_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
  std::uint64_t boot_id_ = 0;
  std::uint64_t reconnects_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> welcomes_{0}, retries_{0};
  unsigned failures_ = 0;
  bool acked_since_welcome_ = false;
  std::chrono::steady_clock::time_point welcomed_at_{};
  std::size_t current_ = 0;     // index into opts_.collectors
  std::size_t tries_left_ = 0;  // entries left in this pass over them
  bool pass_auth_failure_ = false;
  std::chrono::steady_clock::time_point last_rx_;
  std::chrono::steady_clock::time_point last_ping_;
  std::chrono::steady_clock::time_point last_status_;
  void note_unacknowledged(std::chrono::steady_clock::time_point now);
  std::uint64_t acked_seen_ = 0;
  std::chrono::steady_clock::time_point unacked_since_{}, warned_unacked_{};
  std::uint64_t ping_nonce_ = 0;
  std::mt19937_64 rng_;

  beast::flat_buffer read_buf_;
  flatbuffers::FlatBufferBuilder batch_fbb_;
  flatbuffers::FlatBufferBuilder ctl_fbb_;
  std::deque<std::vector<std::uint8_t>> control_;  // small frames waiting to go out
  std::vector<std::uint8_t> writing_;              // the control frame being written
  std::vector<wire::PacketRecord> scratch_records_;  // sized once, reused per batch
  std::vector<wire::GpsFix> scratch_gps_;
};

}  // namespace hopwire::sensor

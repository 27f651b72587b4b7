#include "link_client.h"

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/websocket/error.hpp>
#include <openssl/rand.h>

#include "common/log.h"
#include "common/protocol.h"
#include "hopwire/version.h"

namespace hopwire::sensor {

namespace {

// Records still in the ring. A push the ring refused counts as dropped but
// was never captured, so the difference can dip below zero: clamp it.
std::uint64_t held_records(const ring_counters& c) {
  const auto gone = c.acked + c.dropped_ring;
  return c.captured > gone ? c.captured - gone : 0;
}

}  // namespace

namespace {

std::string base64(std::string_view in) {
  std::string out;
  out.resize(beast::detail::base64::encoded_size(in.size()));
  out.resize(beast::detail::base64::encode(out.data(), in.data(), in.size()));
  return out;
}

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) v = std::random_device{}();
  return v ? v : 1;
}

// First line of a server's explanation, trimmed, for one-line messages.
std::string first_line(std::string s) {
  auto nl = s.find_first_of("\r\n");
  if (nl != std::string::npos) s.resize(nl);
  if (s.size() > 200) s.resize(200);
  return s;
}

}  // namespace

link_client::link_client(net::io_context& io, link_options opts, packet_ring& ring, capture_source& source)
    : io_(io),
      opts_(std::move(opts)),
      ring_(ring),
      source_(source),
      resolver_(io),
      retry_timer_(io),
      tick_timer_(io),
      rng_(random_u64()),
      batch_fbb_(opts_.max_batch_bytes + opts_.max_batch_packets * sizeof(wire::PacketRecord) + 4096),
      ctl_fbb_(1024) {
  boot_id_ = random_u64();
  if (opts_.collectors.empty()) opts_.collectors.push_back({opts_.host, opts_.port});
  tries_left_ = opts_.collectors.size();
  scratch_records_.resize(opts_.max_batch_packets);
  scratch_gps_.resize(opts_.max_batch_packets);
  if (opts_.tls) {
    ssl_ctx_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    ssl_ctx_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                          net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                          net::ssl::context::no_tlsv1_1);
    if (opts_.insecure_skip_verify) {
      ssl_ctx_->set_verify_mode(net::ssl::verify_none);
    } else {
      ssl_ctx_->set_verify_mode(net::ssl::verify_peer);
      if (opts_.ca_file.empty()) {
        ssl_ctx_->set_default_verify_paths();
      } else {
        beast::error_code ec;
        ssl_ctx_->load_verify_file(opts_.ca_file, ec);
        if (ec) throw std::runtime_error("cannot load CA file " + opts_.ca_file + ": " + ec.message());
      }
    }
  }
  ring_.set_data_ready_callback([this] { net::post(io_, [this] { pump(); }); });
}

void link_client::start() {
  connect();
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) on_tick();
  });
}

void link_client::notify_source_done() {
  net::post(io_, [this] {
    source_done_ = true;
    maybe_complete();
  });
}

void link_client::shutdown() {
  if (state_ == state::done) return;
  stopping_ = true;
  spdlog::info("stopping");
  finish(0);
}

void link_client::connect() {
  state_ = state::connecting;
  ++generation_;
  opts_.host = opts_.collectors[current_].host;
  opts_.port = opts_.collectors[current_].port;
  if (opts_.tcp) {
    transport_ = make_tcp_transport(io_);
  } else {
    ws_settings s;
    s.host = opts_.host;
    s.target = opts_.endpoint;
    s.user_agent = std::string("hopwire-sensor/") + kVersion;
    if (!opts_.apikey.empty()) {
      s.authorization = "Bearer " + opts_.apikey;
    } else if (!opts_.user.empty()) {
      s.authorization = "Basic " + base64(opts_.user + ":" + opts_.password);
    }
    transport_ = make_ws_transport(io_, ssl_ctx_.get(), std::move(s));
  }
  const auto gen = generation_;
  resolver_.async_resolve(opts_.host, opts_.port,
                          [this, gen](beast::error_code ec, net::ip::tcp::resolver::results_type r) {
                            if (gen != generation_) return;
                            on_resolved(ec, std::move(r));
                          });
}

void link_client::on_resolved(beast::error_code ec, net::ip::tcp::resolver::results_type results) {
  if (ec) return lost("cannot resolve " + opts_.host + ": " + ec.message());
  const auto gen = generation_;
  transport_->async_open(results, [this, gen](beast::error_code ec) {
    if (gen != generation_) return;
    on_open(ec);
  });
}

void link_client::on_open(beast::error_code ec) {
  const std::string where = opts_.host + ":" + opts_.port;
  if (ec) {
    if (ec == beast::websocket::error::upgrade_declined) {
      const unsigned status = transport_->upgrade_status();
      std::string why = first_line(transport_->upgrade_body());
      if (status == 401) {
        if (why.empty()) why = "bad or missing user name/password or API token";
        return lost("authentication failed (HTTP 401): " + why, true);
      }
      if (status == 403) {
        if (why.empty()) why = "the credentials lack the 'datasource' role";
        return lost("not allowed (HTTP 403): " + why, true);
      }
      if (status == 404)
        return lost("the collector has no remote-capture endpoint at " + opts_.endpoint + " (HTTP 404)", true);
      return lost("the collector declined the WebSocket upgrade (HTTP " + std::to_string(status) + ")" +
                      (why.empty() ? "" : ": " + why),
                  status >= 400 && status < 500);
    }
    if (ec.category() == net::error::get_ssl_category() ||
        ec.category() == net::ssl::error::get_stream_category()) {
      const std::string why = transport_ ? transport_->verify_failure() : std::string();
      return lost("TLS handshake with " + where + " failed: " + ec.message() + (why.empty() ? "" : ": " + why) +
                      (opts_.ca_file.empty() ? " (system CA store)" : " (CA file " + opts_.ca_file + ")"),
                  true);
    }
    return lost("cannot connect to " + where + ": " + ec.message());
  }
  state_ = state::hello;
  last_rx_ = last_ping_ = last_status_ = std::chrono::steady_clock::now();

  // Hello goes first; streaming starts when Welcome arrives.
  auto& fbb = ctl_fbb_;
  fbb.Clear();
  const auto& id = source_.identity();
  std::vector<flatbuffers::Offset<flatbuffers::String>> chans;
  for (const auto& c : id.channels) chans.push_back(fbb.CreateString(c));
  auto src = wire::CreateSourceInfo(fbb, fbb.CreateString(id.uuid), fbb.CreateString(id.name),
                                    fbb.CreateString(id.type), fbb.CreateString(id.interface),
                                    fbb.CreateString(id.definition), id.dlt, fbb.CreateVector(chans));
  std::vector<flatbuffers::Offset<flatbuffers::String>> caps{fbb.CreateString(id.type)};
  auto token = opts_.tcp ? fbb.CreateString(opts_.apikey) : 0;
  auto hello = wire::CreateHello(fbb, protocol::kMajor, protocol::kMinor, fbb.CreateString(kVersion), boot_id_,
                                 src, fbb.CreateVector(caps), token,
                                 opts_.gps_name.empty() ? 0 : fbb.CreateString(opts_.gps_name));
  wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, wire::Body::Hello, hello.Union()));
  control_.clear();
  queue_control(fbb);
  do_read();
}

void link_client::do_read() {
  read_buf_.clear();
  const auto gen = generation_;
  transport_->async_read(read_buf_, [this, gen](beast::error_code ec) {
    if (gen != generation_) return;
    on_read(ec);
  });
}

void link_client::on_read(beast::error_code ec) {
  if (ec) {
    if (state_ == state::closing) return;
    return lost("link to the collector lost: " + ec.message());
  }
  last_rx_ = std::chrono::steady_clock::now();
  std::string why;
  const auto data = read_buf_.data();
  const wire::Frame* frame =
      protocol::verify_frame({static_cast<const std::uint8_t*>(data.data()), data.size()}, why);
  if (!frame) return lost("bad frame from the collector: " + why);
  const auto gen = generation_;
  handle_frame(*frame);
  if (gen == generation_ && state_ != state::done && state_ != state::idle) do_read();
}

void link_client::handle_frame(const wire::Frame& frame) {
  switch (frame.body_type()) {
    case wire::Body::Welcome: {
      const auto* w = frame.body_as_Welcome();
      if (state_ != state::hello) return lost("collector sent Welcome twice");
      if (w->proto_major() != protocol::kMajor) {
        spdlog::error("collector speaks protocol {}.{}, this sensor {}.{}; upgrade one of them",
                      w->proto_major(), w->proto_minor(), protocol::kMajor, protocol::kMinor);
        return finish(1);
      }
      ring_.on_welcome(w->acked_seq());
      state_ = state::streaming;
      acked_since_welcome_ = false;
      welcomed_at_ = std::chrono::steady_clock::now();
      tries_left_ = opts_.collectors.size();
      pass_auth_failure_ = false;
      const auto c = ring_.counters();
      // Silence is measured from now: the link is new, nothing was owed before.
      acked_seen_ = c.acked;
      unacked_since_ = std::chrono::steady_clock::now();
      warned_unacked_ = {};
      welcomes_.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("connected to {}:{} (collector {}), source {} '{}'; {} records waiting", opts_.host, opts_.port,
                   protocol::str(w->collector_version()), source_.identity().uuid, source_.identity().name,
                   held_records(c));
      pump();
      maybe_complete();
      return;
    }
    case wire::Body::Ack:
      if (state_ != state::streaming && state_ != state::closing) return lost("Ack before Welcome");
      if (!acked_since_welcome_) {
        // The backoff starts over once a collector takes data, not at its
        // Welcome: one that welcomes and then drops every link (two
        // sensors with one UUID, say) is still backed off from.
        acked_since_welcome_ = true;
        failures_ = 0;
      }
      ring_.ack(frame.body_as_Ack()->seq());
      pump();
      maybe_complete();
      return;
    case wire::Body::Ping: {
      ctl_fbb_.Clear();
      protocol::build_pong(ctl_fbb_, frame.body_as_Ping()->nonce());
      queue_control(ctl_fbb_);
      return;
    }
    case wire::Body::Pong:
      return;
    case wire::Body::Error: {
      const auto* e = frame.body_as_Error();
      const std::string msg = std::string(protocol::str(e->message()));
      switch (e->code()) {
        case wire::ErrorCode::VersionMismatch:
          spdlog::error("collector refused this sensor: {}", msg);
          return finish(1);
        case wire::ErrorCode::Unauthorized:
        case wire::ErrorCode::Forbidden:
          return lost("collector refused the credentials: " + msg, true);
        case wire::ErrorCode::Unavailable:
        case wire::ErrorCode::DuplicateSource:
          // This collector cannot take the source now; another may.
          return lost("collector closed the link: " + msg, false, true);
        default:
          return lost("collector closed the link: " + msg);
      }
    }
    case wire::Body::Configure: {
      const auto* c = frame.body_as_Configure();
      hop_plan plan;
      if (const auto* p = c->plan()) {
        if (p->channels())
          for (const auto* ch : *p->channels()) plan.channels.emplace_back(protocol::str(ch));
        plan.hop = p->hop();
        plan.rate_per_sec = p->hop_rate_per_sec();
        plan.offset = p->offset();
        plan.shuffle = p->shuffle();
      }
      std::string message;
      std::vector<std::string> in_force;
      const bool ok = source_.configure(plan, message, in_force);
      if (ok) spdlog::info("collector set the channel plan: {}{}", plan.hop && in_force.size() > 1 ? "hop " : "lock ",
                           in_force.empty() ? std::string() : in_force.front() + (in_force.size() > 1 ? ",..." : ""));
      else spdlog::warn("collector's channel plan refused: {}", message);
      ctl_fbb_.Clear();
      std::vector<flatbuffers::Offset<flatbuffers::String>> chans;
      for (const auto& ch : in_force) chans.push_back(ctl_fbb_.CreateString(ch));
      auto r = wire::CreateConfigureResult(ctl_fbb_, c->request_id(), ok, ctl_fbb_.CreateString(message),
                                           ctl_fbb_.CreateVector(chans));
      wire::FinishFrameBuffer(ctl_fbb_, wire::CreateFrame(ctl_fbb_, wire::Body::ConfigureResult, r.Union()));
      queue_control(ctl_fbb_);
      return;
    }
    default:
      return lost(std::string("unexpected ") + protocol::body_name(frame.body_type()) + " frame from the collector");
  }
}

void link_client::queue_control(flatbuffers::FlatBufferBuilder& fbb) {
  // Control frames are tiny and rare; a long queue means the link is stuck,
  // and the idle timeout will notice. Keep it bounded regardless.
  if (control_.size() >= 64) control_.pop_front();
  const auto span = fbb.GetBufferSpan();
  control_.emplace_back(span.begin(), span.end());
  pump();
}

void link_client::queue_status() {
  const auto c = ring_.counters();
  auto& fbb = ctl_fbb_;
  fbb.Clear();
  const std::string chan = source_.current_channel();
  auto st = wire::CreateStatus(fbb, c.captured, c.sent, c.acked, c.dropped_ring, source_.kernel_drops(),
                               c.bytes_used, c.bytes_total, reconnects_,
                               chan.empty() ? 0 : fbb.CreateString(chan), source_.current_freq_khz());
  wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, wire::Body::Status, st.Union()));
  queue_control(fbb);
}

void link_client::build_batch(const packet_ring::batch_ref& b) {
  auto& fbb = batch_fbb_;
  fbb.Clear();
  std::uint8_t* data = nullptr;
  auto data_vec = fbb.CreateUninitializedVector<std::uint8_t>(b.data_bytes, &data);
  std::uint32_t off = 0;
  std::size_t n = 0, ngps = 0;
  ring_.read_batch(b, [&](const ring_record& r, const wire::GpsFix* gps, std::span<const std::uint8_t> bytes) {
    std::memcpy(data + off, bytes.data(), bytes.size());
    std::uint32_t gps_index = 0;
    if (gps) {
      const bool same = ngps > 0 && std::memcmp(&scratch_gps_[ngps - 1], gps, sizeof *gps) == 0;
      if (!same) scratch_gps_[ngps++] = *gps;
      gps_index = static_cast<std::uint32_t>(ngps - 1);
    }
    scratch_records_[n++] = wire::PacketRecord(r.ts_ns, off, r.cap_len, r.orig_len, r.dlt, r.freq_khz,
                                                r.signal_dbm, r.flags, gps_index);
    off += r.cap_len;
  });
  auto recs = fbb.CreateVectorOfStructs(scratch_records_.data(), n);
  auto gps_vec = ngps ? fbb.CreateVectorOfStructs(scratch_gps_.data(), ngps) : 0;
  auto batch = wire::CreatePacketBatch(fbb, b.seq, recs, data_vec, gps_vec);
  wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, wire::Body::PacketBatch, batch.Union()));
}

void link_client::pump() {
  if (write_in_flight_) return;
  if (state_ != state::hello && state_ != state::streaming && state_ != state::closing) return;
  const auto gen = generation_;
  auto done = [this, gen](beast::error_code ec) {
    if (gen != generation_) return;
    on_write(ec);
  };
  if (!control_.empty()) {
    writing_ = std::move(control_.front());
    control_.pop_front();
    write_in_flight_ = true;
    transport_->async_write(net::buffer(writing_), std::move(done));
    return;
  }
  if (state_ != state::streaming) return;
  packet_ring::batch_ref b;
  if (!ring_.next_batch(b, opts_.max_batch_packets, opts_.max_batch_bytes)) return;
  build_batch(b);
  write_in_flight_ = true;
  const auto span = batch_fbb_.GetBufferSpan();
  transport_->async_write(net::buffer(span.data(), span.size()), std::move(done));
}

void link_client::on_write(beast::error_code ec) {
  write_in_flight_ = false;
  if (ec) return lost("sending to the collector failed: " + ec.message());
  if (state_ == state::closing && control_.empty()) {
    const auto gen = generation_;
    transport_->async_close([this, gen](beast::error_code) {
      if (gen != generation_) return;
      const std::string err = source_.error();
      finish(err.empty() ? 0 : 1);
    });
    return;
  }
  pump();
}

void link_client::maybe_complete() {
  if (!source_done_ || state_ != state::streaming || !ring_.drained()) return;
  const auto c = ring_.counters();
  spdlog::info("replay complete: {} packets captured, {} acknowledged, {} dropped by the ring", c.captured, c.acked,
               c.dropped_ring);
  queue_status();  // the final counters
  state_ = state::closing;
  pump();
}

// The collector answers pings but acknowledges nothing (its storage fails,
// say): the data stays in the ring, and the log says so every 30 s.
void link_client::note_unacknowledged(std::chrono::steady_clock::time_point now) {
  const auto c = ring_.counters();
  if (c.acked != acked_seen_ || c.inflight_batches == 0) {
    acked_seen_ = c.acked;
    unacked_since_ = now;
    warned_unacked_ = {};
    return;
  }
  if (now - unacked_since_ < std::chrono::seconds(10) || now - warned_unacked_ < std::chrono::seconds(30)) return;
  warned_unacked_ = now;
  spdlog::warn("the collector is not acknowledging (nothing for {} s, {} batches in flight); holding {} records "
               "in the ring ({} of {} bytes used)",
               std::chrono::duration_cast<std::chrono::seconds>(now - unacked_since_).count(), c.inflight_batches,
               held_records(c), c.bytes_used, c.bytes_total);
}

void link_client::on_tick() {
  if (state_ == state::done) return;
  const auto now = std::chrono::steady_clock::now();
  if (state_ == state::hello || state_ == state::streaming) {
    if (now - last_rx_ > std::chrono::seconds(protocol::kIdleTimeoutSeconds)) {
      lost("collector silent for " + std::to_string(protocol::kIdleTimeoutSeconds) + " s");
    } else if (state_ == state::streaming) {
      if (now - last_ping_ >= std::chrono::seconds(protocol::kPingIntervalSeconds)) {
        last_ping_ = now;
        ctl_fbb_.Clear();
        protocol::build_ping(ctl_fbb_, ++ping_nonce_);
        queue_control(ctl_fbb_);
      }
      queue_status();
      note_unacknowledged(now);
      if (!acked_since_welcome_ && now - welcomed_at_ > std::chrono::seconds(30)) {
        acked_since_welcome_ = true;  // a quiet source: a long link counts as a good one
        failures_ = 0;
      }
    }
  }
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](beast::error_code ec) {
    if (!ec) on_tick();
  });
}

std::chrono::milliseconds link_client::next_backoff(bool auth_failure) {
  using namespace std::chrono;
  if (auth_failure) return seconds(30);
  const unsigned shift = std::min(failures_, 5u);  // 1, 2, 4, 8, 16, 30 s
  ++failures_;
  const auto base = std::min<milliseconds>(milliseconds(1000L << shift), seconds(30));
  // Jitter: anywhere in [base/2, base], so a fleet does not reconnect in step.
  std::uniform_int_distribution<long> dist(base.count() / 2, base.count());
  return milliseconds(dist(rng_));
}

void link_client::lost(const std::string& why, bool auth_failure, bool next_collector) {
  if (state_ == state::done) return;
  ++generation_;
  if (transport_) transport_->abort();
  transport_.reset();
  write_in_flight_ = false;
  control_.clear();
  const bool streamed = state_ == state::streaming || state_ == state::closing;
  const bool was_streaming = streamed && !next_collector;
  state_ = state::idle;
  ring_.on_disconnect();
  if (stopping_) return finish(0);
  if (!opts_.retry) {
    spdlog::error("{}; not retrying (--disable-retry)", why);
    return finish(auth_failure ? 3 : 2);
  }
  if (streamed) ++reconnects_;
  std::chrono::milliseconds delay;
  const std::size_t n = opts_.collectors.size();
  if (was_streaming || n == 1) {
    // The collector that last welcomed us first: most losses are short.
    tries_left_ = n;
    delay = next_backoff(auth_failure);
  } else {
    pass_auth_failure_ = pass_auth_failure_ || auth_failure;
    current_ = (current_ + 1) % n;
    if (--tries_left_ > 0) {
      delay = std::chrono::milliseconds(50);  // the next collector at once
    } else {
      tries_left_ = n;  // a whole pass failed: back off before the next
      delay = next_backoff(pass_auth_failure_);
      pass_auth_failure_ = false;
    }
  }
  retries_.fetch_add(1, std::memory_order_relaxed);
  if (n > 1 && !was_streaming)
    spdlog::warn("{}; trying {}:{} in {:.1f} s", why, opts_.collectors[current_].host, opts_.collectors[current_].port,
                 delay.count() / 1000.0);
  else
    spdlog::warn("{}; retrying in {:.1f} s", why, delay.count() / 1000.0);
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this](beast::error_code ec) {
    if (!ec && state_ == state::idle) connect();
  });
}

void link_client::finish(int code) {
  if (state_ == state::done) return;
  state_ = state::done;
  exit_code_ = code;
  ++generation_;
  if (transport_) transport_->abort();
  transport_.reset();
  beast::error_code ec;
  resolver_.cancel();
  retry_timer_.cancel();
  tick_timer_.cancel();
  ring_.stop();
  done_.store(true, std::memory_order_release);
  if (opts_.stop_io_when_done) io_.stop();
}

}  // namespace hopwire::sensor

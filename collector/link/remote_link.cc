#include "collector/link/remote_link.h"

#include <algorithm>
#include <cmath>

#include <mutex>

#include "common/clock.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/source_definition.h"
#include "common/text.h"
#include "common/uuid.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace {

// Small batches are acknowledged together. A link of a few hundred packets a
// second sends a batch per packet, and a durable write and an Ack for each
// cost more than the packets (a profile at 200 links x 200 packets/s: 15 %
// of the collector in the source write, 21 % in sending Acks). A batch of
// kAckNowPackets or more, or the kAckNowBatches-th waiting, is written and
// acknowledged at once, as every batch of a busy link is; a smaller one waits
// up to kAckDelay for those after it. The sensor's ring holds them meanwhile.
constexpr std::uint32_t kAckNowPackets = 32;
constexpr std::uint32_t kAckNowBatches = 64;
constexpr auto kAckDelay = std::chrono::milliseconds(20);

// Refusals before a link has proven who it is are logged at most once per
// 10 s with a count: a flood of bad links costs counters, not a line each.
class quiet_warnings {
 public:
  void warn(const std::string& line) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (last_.time_since_epoch().count() && now - last_ < std::chrono::seconds(10)) {
      ++suppressed_;
      return;
    }
    if (suppressed_)
      spdlog::warn("{} ({} more refusals before Hello in the last {} s)", line, suppressed_,
                   std::chrono::duration_cast<std::chrono::seconds>(now - last_).count());
    else
      spdlog::warn("{}", line);
    suppressed_ = 0;
    last_ = now;
  }

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

quiet_warnings g_before_hello;

}  // namespace

remote_link::remote_link(link_env& env, const connection_info& who, message_io io)
    : env_(env),
      kind_(who.transport),
      remote_ip_(who.remote_ip),
      upgrade_role_(who.upgrade_role),
      io_(std::move(io)),
      last_rx_(std::chrono::steady_clock::now()),
      last_ping_(last_rx_) {}

message_handler_factory remote_link::factory(link_env& env) {
  return [&env](const connection_info& who, message_io io) -> std::unique_ptr<message_handler> {
    return std::make_unique<remote_link>(env, who, std::move(io));
  };
}

remote_link::~remote_link() {
  if (claim_alive_) claim_alive_->store(false);
  if (source_ && !welcomed_) {
    env_.sources.release(source_);  // its claim was still open
  } else if (source_) {
    {
      std::lock_guard lock(source_->mu);
      source_->close_link = nullptr;
    }
    if (env_.cluster) env_.cluster->forget(source_->rec.uuid, epoch_);
    env_.sources.release(source_);
    env_.planner.left(source_);
    std::string text;
    {
      std::lock_guard lock(source_->mu);
      env_.db.put_source(source_->rec);
      text = "source '" + source_->rec.name + "' (" + source_->rec.uuid + ") from " + remote_ip_ + " disconnected" +
             (lost_ ? ": " + lost_why_ : std::string());
    }
    env_.messages.post(lost_ ? kMsgError : kMsgInfo, std::move(text));
    publish_source(event_kind::source_down);
  }
}

std::size_t remote_link::max_message_bytes() const { return protocol::kMaxFrameBytes; }

void remote_link::publish_source(event_kind k) {
  if (!env_.events || !env_.events->wants(k) || !source_) return;
  tracker_event e;
  e.kind = k;
  e.source = source_->index;
  e.ts_ns = wall_ns();
  e.source_lost = k == event_kind::source_down && lost_;
  if (e.source_lost) e.reason = lost_why_;
  env_.events->publish(e);
}

void remote_link::send_built() {
  const auto span = fbb_.GetBufferSpan();
  io_.send({span.data(), span.size()}, true);
}

bool remote_link::fail(wire::ErrorCode code, const std::string& why) {
  const std::string line = "link from " + remote_ip_ + ": " + why;
  if (source_) spdlog::warn("{}", line);
  else g_before_hello.warn(line);
  protocol::build_error(fbb_, code, why);
  send_built();
  return false;
}

void remote_link::refuse(refusal, std::size_t size) {
  collector_stats::bump(env_.stats.frames_oversize);
  fail(wire::ErrorCode::TooLarge, "frame of " + std::to_string(size) + " bytes exceeds the limit of " +
                                      std::to_string(protocol::kMaxFrameBytes));
}

bool remote_link::on_message(std::span<const std::uint8_t> msg, bool binary) {
  last_rx_ = std::chrono::steady_clock::now();
  if (!binary) {
    collector_stats::bump(env_.stats.frames_malformed);
    return fail(wire::ErrorCode::Malformed, "text message; Hopwire frames are binary");
  }
  std::string why;
  const wire::Frame* frame = protocol::verify_frame(msg, why);
  if (!frame) {
    collector_stats::bump(msg.size() > protocol::kMaxFrameBytes ? env_.stats.frames_oversize
                                                                 : env_.stats.frames_malformed);
    return fail(msg.size() > protocol::kMaxFrameBytes ? wire::ErrorCode::TooLarge : wire::ErrorCode::Malformed,
                "malformed frame: " + why);
  }
  const auto type = frame->body_type();
  if (!source_ && type != wire::Body::Hello) {
    collector_stats::bump(env_.stats.frames_malformed);
    return fail(wire::ErrorCode::Protocol,
                std::string("the first frame must be Hello, not ") + protocol::body_name(type));
  }
  switch (type) {
    case wire::Body::Hello:
      if (source_) {
        collector_stats::bump(env_.stats.frames_malformed);
        return fail(wire::ErrorCode::Protocol, "Hello sent twice on one link");
      }
      return on_hello(*frame->body_as_Hello());
    case wire::Body::PacketBatch:
      return on_batch(*frame->body_as_PacketBatch());
    case wire::Body::Status:
      on_status(*frame->body_as_Status());
      return true;
    case wire::Body::Ping:
      protocol::build_pong(fbb_, frame->body_as_Ping()->nonce());
      send_built();
      return true;
    case wire::Body::Pong:
      return true;
    case wire::Body::ConfigureResult:
      on_configure_result(*frame->body_as_ConfigureResult());
      return true;
    case wire::Body::Error: {
      const auto* e = frame->body_as_Error();
      const auto text = protocol::str(e->message());
      spdlog::warn("source {} from {} reported an error: {}", source_->rec.uuid, remote_ip_, text);
      if (env_.events && env_.events->wants(event_kind::source_error)) {
        tracker_event ev;
        ev.kind = event_kind::source_error;
        ev.source = source_->index;
        ev.ts_ns = wall_ns();
        ev.reason = text;
        env_.events->publish(ev);
      }
      return true;
    }
    default:
      collector_stats::bump(env_.stats.frames_malformed);
      return fail(wire::ErrorCode::Protocol,
                  std::string("a sensor may not send ") + protocol::body_name(type) + " frames");
  }
}

bool remote_link::on_hello(const wire::Hello& h) {
  if (h.proto_major() != protocol::kMajor) {
    collector_stats::bump(env_.stats.links_refused_other);
    return fail(wire::ErrorCode::VersionMismatch,
                "protocol version mismatch: collector speaks " + std::to_string(protocol::kMajor) + "." +
                    std::to_string(protocol::kMinor) + ", sensor " + std::to_string(h.proto_major()) + "." +
                    std::to_string(h.proto_minor()));
  }
  std::optional<role> granted = upgrade_role_;
  if (kind_ == transport_kind::tcp) {
    const auto token = protocol::str(h.token());
    if (token.empty()) {
      collector_stats::bump(env_.stats.links_refused_auth);
      return fail(wire::ErrorCode::Unauthorized, "the TCP link needs an API token with role 'datasource' in Hello");
    }
    const auto res = env_.auth.check_bearer(token);
    if (!res.ok()) {
      collector_stats::bump(env_.stats.links_refused_auth);
      return fail(wire::ErrorCode::Unauthorized, res.message);
    }
    granted = res.granted;
  }
  if (!granted || (*granted != role::datasource && *granted != role::admin)) {
    collector_stats::bump(env_.stats.links_refused_auth);
    return fail(wire::ErrorCode::Forbidden, "the credentials lack the 'datasource' role");
  }
  const auto* src = h.source();
  if (!src) {
    collector_stats::bump(env_.stats.links_refused_other);
    return fail(wire::ErrorCode::Malformed, "Hello carries no source");
  }
  const auto parsed = uuid::parse(protocol::str(src->uuid()));
  if (!parsed || parsed->is_nil()) {
    collector_stats::bump(env_.stats.links_refused_other);
    return fail(wire::ErrorCode::Malformed,
                "source UUID '" + std::string(protocol::str(src->uuid())) + "' is not a valid UUID");
  }
  // Clipped, and made valid UTF-8 (other bytes written as \xNN): these
  // strings end up in JSON and logs.
  auto clip = [](std::string_view s) { return ssid_text(s.substr(0, protocol::kMaxStringBytes)); };
  stored_source hello;
  hello.uuid = parsed->str();
  hello.name = clip(protocol::str(src->name()));
  hello.type = clip(protocol::str(src->type()));
  hello.interface = clip(protocol::str(src->interface()));
  hello.definition = clip(protocol::str(src->definition()));
  hello.dlt = src->dlt();
  hello.boot_id = h.boot_id();
  hello.remote_ip = remote_ip_;
  hello.first_seen_ns = hello.last_seen_ns = wall_ns();
  std::vector<std::string> channels;
  if (src->channels())
    for (const auto* c : *src->channels()) channels.push_back(clip(protocol::str(c)));

  if (const auto* f = env_.planner.fleet()->find(hello.uuid, hello.name); f && !f->enabled) {
    collector_stats::bump(env_.stats.links_refused_other);
    return fail(wire::ErrorCode::Forbidden, "source " + hello.uuid + " ('" + hello.name +
                                                "') is disabled in the collector's fleet file (enabled: false)");
  }
  std::string why;
  source_ = env_.sources.claim(hello, channels, kind_ == transport_kind::tcp ? "tcp" : "websocket", why);
  if (!source_) {
    collector_stats::bump(env_.stats.links_refused_other);
    return fail(wire::ErrorCode::DuplicateSource, why);
  }
  std::uint64_t acked = 0;
  {
    std::lock_guard lock(source_->mu);
    acked = source_->rec.last_seq;
    env_.db.put_source(source_->rec);
    source_->gps_name = clip(protocol::str(h.gps_name()));
    // The definition, parsed once for the life of the link. The sensor
    // checked it; one this collector cannot read still connects, with the
    // defaults, and says why.
    std::string def_why;
    auto def = source_definition::try_parse(source_->rec.definition, def_why);
    if (!def) spdlog::warn("source {} '{}': its definition is unreadable here ({}); using defaults", hello.uuid,
                           hello.name, def_why);
    source_->definition = def ? std::move(*def) : source_definition{};
    source_->options = read_source_options(source_->definition, hello.type, source_->channels);
    source_->plan.poke = [post = io_.post, this] { post([this] { send_pending_config(); }); };
  }
  sensor_version_ = clip(protocol::str(h.sensor_version()));
  if (env_.cluster) {
    // The cluster's record decides where the sensor resumes; the Welcome
    // waits for the claim.
    if (!env_.cluster->reachable()) {
      const std::string why = env_.cluster->unreachable_why();
      collector_stats::bump(env_.stats.links_refused_other);
      env_.sources.release(source_);
      source_.reset();
      return fail(wire::ErrorCode::Unavailable, why);
    }
    // A link gone before its claim answers leaves no claim behind.
    claim_alive_ = std::make_shared<std::atomic<bool>>(true);
    env_.cluster->claim(hello.uuid, hello.boot_id,
                        [post = io_.post, this, alive = claim_alive_, cluster = env_.cluster,
                         uuid = hello.uuid](cluster_claim_result r) {
                          if (!alive->load()) {
                            if (r.ok) cluster->forget(uuid, r.rec.epoch);
                            return;
                          }
                          post([this, r = std::move(r)]() mutable { on_claimed(std::move(r)); });
                        });
    return true;
  }
  welcome(acked);
  return true;
}

void remote_link::on_claimed(cluster_claim_result r) {
  if (!source_ || welcomed_) return;
  if (!r.ok) {
    collector_stats::bump(env_.stats.links_refused_other);
    env_.sources.release(source_);
    source_.reset();
    close_later(r.busy ? wire::ErrorCode::DuplicateSource : wire::ErrorCode::Unavailable, r.why);
    return;
  }
  {
    std::lock_guard lock(source_->mu);
    auto& rec = source_->rec;
    rec.last_seq = r.rec.last_seq;
    rec.num_packets = r.rec.num_packets;
    rec.num_error_packets = r.rec.num_error_packets;
    env_.db.put_source(rec);
    source_->close_link = [post = io_.post, this, uuid = rec.uuid] {
      post([this, uuid] {
        close_later(wire::ErrorCode::DuplicateSource, "source " + uuid + " was claimed by another collector");
      });
    };
  }
  if (!r.released_by.empty())
    spdlog::info("source {} moved here from collector {} (epoch {}), resuming after batch {}", r.rec.uuid,
                 r.released_by, r.rec.epoch, r.rec.last_seq);
  acked_sent_ = r.rec.last_seq;
  epoch_ = r.rec.epoch;
  welcome(r.rec.last_seq);
}

void remote_link::close_later(wire::ErrorCode code, const std::string& why) {
  if (close_) return;
  close_ = true;
  const std::string line = "link from " + remote_ip_ + ": " + why;
  spdlog::warn("{}", line);
  protocol::build_error(fbb_, code, why);
  send_built();
}

void remote_link::welcome(std::uint64_t acked) {
  std::string name, uuid, type;
  {
    std::lock_guard lock(source_->mu);
    name = source_->rec.name;
    uuid = source_->rec.uuid;
    type = source_->rec.type;
  }
  welcomed_ = true;
  collector_stats::bump(env_.stats.links_accepted);
  env_.messages.post(kMsgInfo, fmt::format("source '{}' ({}, {}) connected from {} over {}, sensor {}, resuming after "
                                           "batch {}",
                                           name, uuid, type, remote_ip_,
                                           kind_ == transport_kind::tcp ? "tcp" : "websocket", sensor_version_,
                                           acked));
  publish_source(event_kind::source_up);
  protocol::build_welcome(fbb_, kVersion, acked);
  send_built();
  env_.planner.joined(source_);
  send_pending_config();
}

void remote_link::send_pending_config() {
  if (!source_) return;
  hop_plan p;
  std::uint32_t id;
  {
    std::lock_guard lock(source_->mu);
    auto& st = source_->plan;
    if (st.request_id == 0 || st.sent_id == st.request_id) return;
    st.sent_id = st.request_id;
    p = st.wanted;
    id = st.request_id;
  }
  fbb_.Clear();
  std::vector<flatbuffers::Offset<flatbuffers::String>> chans;
  for (const auto& c : p.channels) chans.push_back(fbb_.CreateString(c));
  auto plan = wire::CreateChannelPlan(fbb_, fbb_.CreateVector(chans), p.hop, p.rate_per_sec, p.offset, p.shuffle);
  auto cfg = wire::CreateConfigure(fbb_, id, plan);
  wire::FinishFrameBuffer(fbb_, wire::CreateFrame(fbb_, wire::Body::Configure, cfg.Union()));
  send_built();
}

void remote_link::on_configure_result(const wire::ConfigureResult& r) {
  std::lock_guard lock(source_->mu);
  auto& st = source_->plan;
  st.result_id = r.request_id();
  st.result_ok = r.ok();
  st.result_message = ssid_text(protocol::str(r.message()).substr(0, protocol::kMaxStringBytes));
  if (r.channels()) {
    st.in_force.clear();
    for (const auto* c : *r.channels())
      if (st.in_force.size() < 1024) st.in_force.push_back(ssid_text(protocol::str(c).substr(0, 64)));
  }
  if (!r.ok())
    spdlog::warn("source {} '{}' refused channel plan {}: {}", source_->rec.uuid, source_->rec.name,
                 r.request_id(), st.result_message);
}

bool remote_link::on_batch(const wire::PacketBatch& b) {
  if (!welcomed_) {
    collector_stats::bump(env_.stats.frames_malformed);
    return fail(wire::ErrorCode::Protocol, "a batch before Welcome");
  }
  if (close_) return true;  // closing: nothing more is counted here
  std::string why;
  if (!protocol::check_batch(b, why)) {
    collector_stats::bump(env_.stats.frames_malformed);
    return fail(wire::ErrorCode::Malformed, "malformed batch: " + why);
  }
  collector_stats::bump(env_.stats.batches_received);
  const std::uint32_t count = b.packets() ? b.packets()->size() : 0;
  {
    std::unique_lock lock(source_->mu);
    auto& r = source_->rec;
    if (b.seq() <= r.last_seq) {
      // Resent after a reconnect but already counted: acknowledge, don't
      // count. What is counted but not yet on disk is acknowledged with it.
      ++source_->duplicate_batches;
      collector_stats::bump(env_.stats.batches_duplicate);
      // The sequence acknowledged must be on disk, whichever link counted it.
      if (unacked_ || waiting_) return true;
      lock.unlock();
      store_and_ack();
      return true;
    }
    if (b.seq() != r.last_seq + 1) collector_stats::bump(env_.stats.batches_gap);
    lock.unlock();
    const std::uint64_t errors = env_.pipeline.deliver(*source_, b);
    lock.lock();
    r.num_packets += count;
    r.num_error_packets += errors;
    r.last_seq = b.seq();
    r.last_seen_ns = wall_ns();
    collector_stats::bump(env_.stats.packets_received, count);
    collector_stats::bump(env_.stats.bytes_received, b.data() ? b.data()->size() : 0);
  }
  ++waiting_;
  // While the store fails, every batch tries it again (and on_tick does).
  if (unacked_ || count >= kAckNowPackets || waiting_ >= kAckNowBatches || !io_.after) {
    store_and_ack();
    return true;
  }
  if (!ack_timer_armed_) {
    ack_timer_armed_ = true;
    io_.after(kAckDelay, [this] {
      ack_timer_armed_ = false;
      if (waiting_ && !unacked_) store_and_ack();
    });
  }
  return true;
}

void remote_link::store_and_ack() {
  std::uint64_t seq, packets, errors;
  std::string uuid;
  {
    // Count and sequence go to disk together before the Ack, so neither a
    // crash nor a resend can make a packet count twice or not at all.
    std::lock_guard lock(source_->mu);
    if (!env_.db.put_source(source_->rec)) {
      // Not durable: no Ack. The sensor keeps the batches in its ring;
      // on_tick writes again and acknowledges once the store takes it.
      collector_stats::bump(env_.stats.acks_withheld, waiting_ - withheld_);
      withheld_ = waiting_;
      unacked_ = true;
      return;
    }
    seq = source_->rec.last_seq;
    if (env_.cluster) uuid = source_->rec.uuid;
    packets = source_->rec.num_packets;
    errors = source_->rec.num_error_packets;
  }
  unacked_ = false;
  waiting_ = withheld_ = 0;
  if (env_.cluster) {
    // The cluster's record first: an Ack promises the batch is counted
    // fleet-wide, wherever the sensor goes next.
    env_.cluster->commit(uuid, epoch_, seq, packets, errors, [post = io_.post, this, seq](bool ok, std::string why) {
      post([this, seq, ok, why = std::move(why)] { on_committed(seq, ok, why); });
    });
    return;
  }
  protocol::build_ack(fbb_, seq);
  send_built();
}

void remote_link::on_committed(std::uint64_t seq, bool ok, const std::string& why) {
  if (!ok) {
    lost_ = true;
    lost_why_ = why;
    close_later(wire::ErrorCode::Unavailable, why);
    return;
  }
  if (close_ || seq <= acked_sent_) return;
  acked_sent_ = seq;
  protocol::build_ack(fbb_, seq);
  send_built();
}

void remote_link::on_status(const wire::Status& s) {
  std::lock_guard lock(source_->mu);
  source_->captured = s.captured();
  source_->sent = s.sent();
  source_->acked = s.acked();
  source_->ring_bytes_used = s.ring_bytes_used();
  source_->ring_bytes_total = s.ring_bytes_total();
  source_->channel = ssid_text(protocol::str(s.channel()).substr(0, 64));
  source_->freq_khz = s.freq_khz();
  auto& r = source_->rec;
  const bool changed = r.dropped_ring_boot != s.dropped_ring() || r.dropped_kernel_boot != s.dropped_kernel();
  r.dropped_ring_boot = s.dropped_ring();
  r.dropped_kernel_boot = s.dropped_kernel();
  r.last_seen_ns = wall_ns();
  if (changed) env_.db.put_source(r);
}

bool remote_link::on_tick() {
  if (close_) return false;  // close_later queued the reason
  const auto now = std::chrono::steady_clock::now();
  if (now - last_rx_ > std::chrono::seconds(protocol::kIdleTimeoutSeconds)) {
    collector_stats::bump(env_.stats.links_timed_out);
    lost_ = true;
    lost_why_ = "silent for " + std::to_string(protocol::kIdleTimeoutSeconds) + " s";
    return fail(wire::ErrorCode::Timeout,
                "no frame for " + std::to_string(protocol::kIdleTimeoutSeconds) + " s; closing the link");
  }
  if (unacked_ && source_) store_and_ack();
  send_pending_config();
  if (source_ && now - last_ping_ >= std::chrono::seconds(protocol::kPingIntervalSeconds)) {
    last_ping_ = now;
    protocol::build_ping(fbb_, ++ping_nonce_);
    send_built();
  }
  return true;
}

}  // namespace hopwire::collector

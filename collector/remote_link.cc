#include "remote_link.h"

#include <algorithm>
#include <cmath>

#include "collector/device_json.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/source_definition.h"
#include "common/uuid.h"
#include "hopwire/version.h"

namespace hopwire::collector {

remote_link::remote_link(services& svc, kind k, std::string remote_ip, std::optional<role> upgrade_role,
                         send_fn send, post_fn post)
    : svc_(svc),
      kind_(k),
      remote_ip_(std::move(remote_ip)),
      upgrade_role_(upgrade_role),
      send_(std::move(send)),
      post_(std::move(post)),
      last_rx_(std::chrono::steady_clock::now()),
      last_ping_(last_rx_) {}

remote_link::~remote_link() {
  if (source_) {
    svc_.sources.release(source_);
    svc_.planner.left(source_);
    std::lock_guard lock(source_->mu);
    svc_.db.put_source(source_->rec);
    spdlog::info("source {} '{}' from {} disconnected", source_->rec.uuid, source_->rec.name, remote_ip_);
  }
}

void remote_link::send_built() {
  const auto span = fbb_.GetBufferSpan();
  send_({span.data(), span.size()});
}

bool remote_link::fail(wire::ErrorCode code, const std::string& why) {
  spdlog::warn("link from {}: {}", remote_ip_, why);
  protocol::build_error(fbb_, code, why);
  send_built();
  return false;
}

void remote_link::refuse(wire::ErrorCode code, const std::string& why) {
  if (code == wire::ErrorCode::TooLarge) collector_stats::bump(svc_.stats.frames_oversize);
  else collector_stats::bump(svc_.stats.frames_malformed);
  fail(code, why);
}

bool remote_link::on_message(std::span<const std::uint8_t> msg) {
  last_rx_ = std::chrono::steady_clock::now();
  std::string why;
  const wire::Frame* frame = protocol::verify_frame(msg, why);
  if (!frame) {
    collector_stats::bump(msg.size() > protocol::kMaxFrameBytes ? svc_.stats.frames_oversize
                                                                 : svc_.stats.frames_malformed);
    return fail(msg.size() > protocol::kMaxFrameBytes ? wire::ErrorCode::TooLarge : wire::ErrorCode::Malformed,
                "malformed frame: " + why);
  }
  const auto type = frame->body_type();
  if (!source_ && type != wire::Body::Hello) {
    collector_stats::bump(svc_.stats.frames_malformed);
    return fail(wire::ErrorCode::Protocol,
                std::string("the first frame must be Hello, not ") + protocol::body_name(type));
  }
  switch (type) {
    case wire::Body::Hello:
      if (source_) {
        collector_stats::bump(svc_.stats.frames_malformed);
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
      spdlog::warn("source {} from {} reported an error: {}", source_->rec.uuid, remote_ip_,
                   protocol::str(e->message()));
      return true;
    }
    default:
      collector_stats::bump(svc_.stats.frames_malformed);
      return fail(wire::ErrorCode::Protocol,
                  std::string("a sensor may not send ") + protocol::body_name(type) + " frames");
  }
}

bool remote_link::on_hello(const wire::Hello& h) {
  if (h.proto_major() != protocol::kMajor) {
    collector_stats::bump(svc_.stats.links_refused_other);
    return fail(wire::ErrorCode::VersionMismatch,
                "protocol version mismatch: collector speaks " + std::to_string(protocol::kMajor) + "." +
                    std::to_string(protocol::kMinor) + ", sensor " + std::to_string(h.proto_major()) + "." +
                    std::to_string(h.proto_minor()));
  }
  std::optional<role> granted = upgrade_role_;
  if (kind_ == kind::tcp) {
    const auto token = protocol::str(h.token());
    if (token.empty()) {
      collector_stats::bump(svc_.stats.links_refused_auth);
      return fail(wire::ErrorCode::Unauthorized, "the TCP link needs an API token with role 'datasource' in Hello");
    }
    const auto res = svc_.auth.check_bearer(token);
    if (!res.ok()) {
      collector_stats::bump(svc_.stats.links_refused_auth);
      return fail(wire::ErrorCode::Unauthorized, res.message);
    }
    granted = res.granted;
  }
  if (!granted || (*granted != role::datasource && *granted != role::admin)) {
    collector_stats::bump(svc_.stats.links_refused_auth);
    return fail(wire::ErrorCode::Forbidden, "the credentials lack the 'datasource' role");
  }
  const auto* src = h.source();
  if (!src) {
    collector_stats::bump(svc_.stats.links_refused_other);
    return fail(wire::ErrorCode::Malformed, "Hello carries no source");
  }
  const auto parsed = uuid::parse(protocol::str(src->uuid()));
  if (!parsed || parsed->is_nil()) {
    collector_stats::bump(svc_.stats.links_refused_other);
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

  if (const auto* f = svc_.planner.fleet()->find(hello.uuid, hello.name); f && !f->enabled) {
    collector_stats::bump(svc_.stats.links_refused_other);
    return fail(wire::ErrorCode::Forbidden, "source " + hello.uuid + " ('" + hello.name +
                                                "') is disabled in the collector's fleet file (enabled: false)");
  }
  std::string why;
  source_ = svc_.sources.claim(hello, channels, kind_ == kind::tcp ? "tcp" : "websocket", why);
  if (!source_) {
    collector_stats::bump(svc_.stats.links_refused_other);
    return fail(wire::ErrorCode::DuplicateSource, why);
  }
  std::uint64_t acked = 0;
  {
    std::lock_guard lock(source_->mu);
    acked = source_->rec.last_seq;
    svc_.db.put_source(source_->rec);
    source_->gps_name = clip(protocol::str(h.gps_name()));
    source_definition def;
    try {
      def = source_definition::parse(source_->rec.definition);
    } catch (const std::exception&) {
    }
    source_->metagps = def.get("metagps").value_or("");
    // Live radios are stamped with the collector's clock (routers often have
    // no real-time clock); a replay keeps its file's times. timestamp= in the
    // definition says otherwise.
    try {
      source_->stamp_time = def.get_bool("timestamp", hello.type != "pcapfile");
    } catch (const std::exception&) {
      source_->stamp_time = hello.type != "pcapfile";
    }
    source_->plan.poke = [post = post_, this] { post([this] { send_pending_config(); }); };
  }
  collector_stats::bump(svc_.stats.links_accepted);
  spdlog::info("source {} '{}' ({}) connected from {} over {}, sensor {}, resuming after batch {}", hello.uuid,
               hello.name, hello.type, remote_ip_, kind_ == kind::tcp ? "tcp" : "websocket",
               protocol::str(h.sensor_version()), acked);
  protocol::build_welcome(fbb_, kVersion, acked);
  send_built();
  svc_.planner.joined(source_);
  send_pending_config();
  return true;
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

const wire::PacketBatch& remote_link::adjust(const wire::PacketBatch& b) {
  bool stamp;
  std::string meta;
  std::optional<gps_fix> fixed;
  {
    std::lock_guard lock(source_->mu);
    stamp = source_->stamp_time;
    meta = source_->metagps;
    fixed = source_->fixed_location;
  }
  const auto* recs = b.packets();
  if (!recs || recs->size() == 0) return b;
  if (stamp) {
    // Shift the batch so its newest packet is "now": spacing and order
    // within the batch stay as the sensor measured them.
    std::uint64_t newest = 0;
    for (const auto* r : *recs) newest = std::max<std::uint64_t>(newest, r->ts_ns());
    const std::int64_t shift = static_cast<std::int64_t>(wall_ns()) - static_cast<std::int64_t>(newest);
    auto* mrecs = const_cast<wire::PacketBatch&>(b).mutable_packets();
    for (flatbuffers::uoffset_t i = 0; i < mrecs->size(); ++i) {
      auto* r = mrecs->GetMutableObject(i);
      r->mutate_ts_ns(static_cast<std::uint64_t>(static_cast<std::int64_t>(r->ts_ns()) + shift));
    }
  }
  // A virtual GPS, else the fleet file's fixed location.
  const auto fix = meta.empty() ? fixed : svc_.gps.get(meta);
  if (!fix) return b;
  // Packets without a position of their own take the virtual GPS's.
  const std::uint32_t base = b.gps() ? b.gps()->size() : 0;
  std::vector<wire::PacketRecord> out;
  out.reserve(recs->size());
  for (const auto* r : *recs) out.push_back(*r);
  for (auto& r : out) {
    if (r.flags() & protocol::kFlagGps) continue;
    r.mutate_flags(static_cast<std::uint16_t>(r.flags() | protocol::kFlagGps));
    r.mutate_gps_index(base);
  }
  std::vector<wire::GpsFix> gps;
  if (b.gps())
    for (const auto* g : *b.gps()) gps.push_back(*g);
  gps.emplace_back(fix->lat, fix->lon, fix->has_alt ? fix->alt : std::nan(""));
  rebuilt_.Clear();
  auto data = b.data() ? rebuilt_.CreateVector(b.data()->data(), b.data()->size()) : 0;
  auto batch = wire::CreatePacketBatch(rebuilt_, b.seq(), rebuilt_.CreateVectorOfStructs(out),
                                       data, rebuilt_.CreateVectorOfStructs(gps));
  wire::FinishFrameBuffer(rebuilt_, wire::CreateFrame(rebuilt_, wire::Body::PacketBatch, batch.Union()));
  return *wire::GetFrame(rebuilt_.GetBufferPointer())->body_as_PacketBatch();
}

bool remote_link::on_batch(const wire::PacketBatch& b) {
  std::string why;
  if (!protocol::check_batch(b, why)) {
    collector_stats::bump(svc_.stats.frames_malformed);
    return fail(wire::ErrorCode::Malformed, "malformed batch: " + why);
  }
  collector_stats::bump(svc_.stats.batches_received);
  const std::uint32_t count = b.packets() ? b.packets()->size() : 0;
  std::uint64_t ack_seq;
  {
    std::unique_lock lock(source_->mu);
    auto& r = source_->rec;
    if (b.seq() <= r.last_seq) {
      // Resent after a reconnect but already stored: acknowledge, don't count.
      ++source_->duplicate_batches;
      collector_stats::bump(svc_.stats.batches_duplicate);
      ack_seq = r.last_seq;
    } else {
      if (b.seq() != r.last_seq + 1) collector_stats::bump(svc_.stats.batches_gap);
      lock.unlock();
      const wire::PacketBatch& batch = adjust(b);
      std::uint64_t errors = 0;
      for (auto* sink : svc_.sinks) errors = std::max(errors, sink->on_batch(*source_, batch));
      lock.lock();
      r.num_packets += count;
      r.num_error_packets += errors;
      r.last_seq = b.seq();
      r.last_seen_ns = wall_ns();
      // Count and sequence go to disk together before the Ack, so neither a
      // crash nor a resend can make a packet count twice or not at all.
      svc_.db.put_source(r);
      ack_seq = r.last_seq;
      collector_stats::bump(svc_.stats.packets_received, count);
      collector_stats::bump(svc_.stats.bytes_received, b.data() ? b.data()->size() : 0);
    }
  }
  protocol::build_ack(fbb_, ack_seq);
  send_built();
  return true;
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
  if (changed) svc_.db.put_source(r);
}

bool remote_link::on_tick() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_rx_ > std::chrono::seconds(protocol::kIdleTimeoutSeconds)) {
    collector_stats::bump(svc_.stats.links_timed_out);
    return fail(wire::ErrorCode::Timeout,
                "no frame for " + std::to_string(protocol::kIdleTimeoutSeconds) + " s; closing the link");
  }
  send_pending_config();
  if (source_ && now - last_ping_ >= std::chrono::seconds(protocol::kPingIntervalSeconds)) {
    last_ping_ = now;
    protocol::build_ping(fbb_, ++ping_nonce_);
    send_built();
  }
  return true;
}

}  // namespace hopwire::collector

#include "collector/link/kismet_link.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/link/kismet_frame.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/source_definition.h"
#include "common/text.h"
#include "common/uuid.h"

namespace hopwire::collector {

namespace {

namespace ks = kismet_session;
using steady = std::chrono::steady_clock;

// Tool-given text in logs and on the message bus, and channel names (the
// tool's own limit is 64 bytes).
constexpr std::size_t kMaxText = 1024;
constexpr std::size_t kMaxChannel = 64;
constexpr std::size_t kMaxChannels = 1024;
// CONFIGREQs awaiting their CONFIGREPORT; older ones are forgotten.
constexpr std::size_t kMaxOutstandingConfigs = 16;

// Refusals and closings of Kismet links are logged at most once per 10 s,
// with a count of those left out: a flood of bad links costs counters, not
// a line each. (The message bus still gets each live source's going.)
class quiet_log {
 public:
  void warn(const std::string& line) {
    std::lock_guard lock(mu_);
    const auto now = steady::now();
    if (last_.time_since_epoch().count() && now - last_ < std::chrono::seconds(10)) {
      ++suppressed_;
      return;
    }
    if (suppressed_)
      spdlog::warn("{} ({} more Kismet link problems in the last {} s)", line, suppressed_,
                   std::chrono::duration_cast<std::chrono::seconds>(now - last_).count());
    else
      spdlog::warn("{}", line);
    suppressed_ = 0;
    last_ = now;
  }

 private:
  std::mutex mu_;
  steady::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

quiet_log g_log;

std::string clip(std::string_view s, std::size_t max = protocol::kMaxStringBytes) {
  return ssid_text(s.substr(0, max));
}

bool same_channel(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

void add_unique(std::vector<std::string>& into, const std::string& c) {
  if (c.empty() || into.size() >= kMaxChannels) return;
  if (std::none_of(into.begin(), into.end(), [&](const std::string& x) { return same_channel(x, c); }))
    into.push_back(c);
}

// A comma-separated option value, split as Kismet splits it (no quoting:
// the definition parser has removed the quotes already).
std::vector<std::string> option_list(const source_definition& def, std::string_view key) {
  std::vector<std::string> out;
  const auto v = def.get(key);
  if (!v) return out;
  std::string_view rest = *v;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    add_unique(out, clip(item, kMaxChannel));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

// The channels a Kismet source hops, as Kismet's server makes them from
// the tool's OPENREPORT list and the definition: channels= is the list
// when given; else the reported list less block_channels=, plus
// add_channels=.
std::vector<std::string> hop_list(const source_definition& def, const std::vector<std::string>& reported) {
  std::vector<std::string> out = option_list(def, "channels");
  if (!out.empty()) return out;
  const auto blocked = option_list(def, "block_channels");
  for (const auto& c : reported)
    if (std::none_of(blocked.begin(), blocked.end(), [&](const std::string& b) { return same_channel(b, c); }))
      add_unique(out, c);
  for (const auto& c : option_list(def, "add_channels")) add_unique(out, c);
  return out;
}

std::string transport_name(transport_kind k) {
  return k == transport_kind::tcp ? "kismet-tcp" : "kismet-websocket";
}

class kismet_link final : public message_handler {
 public:
  kismet_link(link_env& env, const connection_info& who, message_io io)
      : env_(env), who_(who), io_(std::move(io)), transport_(transport_name(who.transport)),
        tokens_(ks::kControlBurst), refill_at_(steady::now()) {
    pending_.reserve(ks::kBatchPackets);
    offsets_.reserve(ks::kBatchPackets);
  }
  ~kismet_link() override;
  kismet_link(const kismet_link&) = delete;
  kismet_link& operator=(const kismet_link&) = delete;

  bool on_message(std::span<const std::uint8_t> msg, bool binary) override;
  bool on_tick() override;
  void refuse(refusal why, std::size_t size) override;
  // The transport refuses a frame of Kismet's limit or more (a frame of
  // 16384 bytes is already too large for Kismet's server). On the WebSocket
  // the route's selector has our own, larger limit: on_message checks.
  std::size_t max_message_bytes() const override { return kismet::kKismetMaxFrameBytes - 1; }

 private:
  enum class phase : std::uint8_t { announce, opening, running };

  bool dispatch(const kismet::frame& f);
  bool on_newsource(const kismet::frame& f);
  bool on_openreport(const kismet::frame& f);
  bool on_packet(const kismet::frame& f);
  bool on_configreport(const kismet::frame& f);
  bool on_tool_text(const kismet::frame& f);  // MESSAGE, ERROR
  // Frames other than PACKET pass a token bucket.
  bool control_allowed();
  // Hands the gathered PACKET reports to the pipeline; `nudge`: then wakes
  // a WebSocket tool (wake_tool).
  void flush(bool nudge = false);
  void wake_tool();
  void store_record(bool force);
  void send_pending_config();
  void send_out() { io_.send({out_.data(), out_.size()}, true); }
  std::uint32_t next_seq() {
    if (++seq_ == 0) ++seq_;
    return seq_;
  }
  // Counts, logs (rate-limited) and returns false: the session closes.
  bool close(collector_stats::counter& c, const std::string& why);
  bool malformed(std::uint16_t type, const kismet::decode_result& r) {
    return close(env_.stats.frames_malformed, "malformed frame (" + kismet::describe(type, r) + ")");
  }
  std::string who_text() const;
  void publish(event_kind k);

  link_env& env_;
  connection_info who_;
  message_io io_;
  const std::string transport_;
  const kismet::limits lim_{};
  phase phase_ = phase::announce;
  bool closing_ = false;
  std::shared_ptr<source_entry> source_;
  std::string name_, uuid_;  // the source's, for messages
  std::string definition_;  // as the tool announced it: what OPENREQ sends back
  std::uint32_t dlt_ = 0;   // from OPENREPORT: the default of PACKETs that name none
  std::uint32_t seq_ = 0;   // of the frames we send
  std::uint32_t open_seq_ = 0;
  std::vector<std::uint8_t> out_;
  int ticks_ = 0;         // since the link started
  int silent_ticks_ = 0;  // since the last frame
  int ping_ticks_ = 0;
  int open_ticks_ = 0;
  bool joined_ = false, up_ = false, lost_ = false;
  std::string lost_why_;
  bool own_sent_ = false;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> configs_;  // CONFIGREQ seqno, plan request id

  // The batch being gathered: packets with their bytes in one arena
  // (offsets_ until the spans are made at flush()).
  std::vector<decoded_packet> pending_;
  std::vector<std::uint32_t> offsets_;
  std::vector<std::uint8_t> arena_;
  steady::time_point batch_started_{};
  kismet::packet_report report_;
  std::string gps_name_seen_;
  steady::time_point last_put_{};
  bool record_dirty_ = false;

  double tokens_;
  steady::time_point refill_at_;
  std::uint64_t dropped_control_ = 0, dropped_unreported_ = 0;
  std::uint64_t packets_ = 0;     // reports that reached the pipeline on this link
  std::uint64_t no_content_ = 0;  // reports without a packet (JSON, spectrum): not ours to track
};

kismet_link::~kismet_link() {
  if (!source_) return;
  flush();
  env_.sources.release(source_);
  if (joined_) {
    env_.planner.left(source_);
  } else {
    std::lock_guard lock(source_->mu);
    source_->plan.poke = nullptr;
  }
  std::string text;
  {
    std::lock_guard lock(source_->mu);
    env_.db.put_source(source_->rec);
    text = "source '" + source_->rec.name + "' (" + source_->rec.uuid + ") from " + who_.remote_ip +
           " disconnected (Kismet tool over " + transport_ + ", " + std::to_string(packets_) +
           " packets on this link";
    if (no_content_) text += ", " + std::to_string(no_content_) + " reports without a packet ignored";
    if (dropped_control_) text += ", " + std::to_string(dropped_control_) + " control frames over the rate limit dropped";
    text += ")";
    if (lost_) text += ": " + lost_why_;
  }
  if (up_) {
    env_.messages.post(lost_ ? kMsgError : kMsgInfo, std::move(text));
    publish(event_kind::source_down);
  }
}

std::string kismet_link::who_text() const {
  if (source_) return "Kismet source '" + name_ + "' (" + uuid_ + ") from " + who_.remote_ip;
  return "Kismet capture tool from " + who_.remote_ip + " (" + transport_ + ")";
}

void kismet_link::publish(event_kind k) {
  if (!env_.events || !env_.events->wants(k) || !source_) return;
  tracker_event e;
  e.kind = k;
  e.source = source_->index;
  e.ts_ns = wall_ns();
  e.source_lost = k == event_kind::source_down && lost_;
  if (e.source_lost) e.reason = lost_why_;
  env_.events->publish(e);
}

bool kismet_link::close(collector_stats::counter& c, const std::string& why) {
  flush();  // what arrived before the bad frame is kept
  collector_stats::bump(c);
  g_log.warn(who_text() + ": " + why + "; closing the link");
  lost_ = true;
  lost_why_ = why;
  closing_ = true;
  return false;
}

void kismet_link::refuse(refusal, std::size_t size) {
  close(env_.stats.frames_oversize, "frame of " + std::to_string(size) + " bytes; Kismet's limit is " +
                                        std::to_string(kismet::kKismetMaxFrameBytes - 1) + " (header and payload)");
}

bool kismet_link::control_allowed() {
  const auto now = steady::now();
  tokens_ = std::min(ks::kControlBurst,
                     tokens_ + std::chrono::duration<double>(now - refill_at_).count() * ks::kControlPerSecond);
  refill_at_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  ++dropped_control_;
  ++dropped_unreported_;
  return false;
}

bool kismet_link::on_message(std::span<const std::uint8_t> msg, bool binary) {
  if (closing_) return false;
  silent_ticks_ = 0;
  if (msg.size() >= kismet::kKismetMaxFrameBytes) {
    refuse(refusal::too_large, msg.size());
    return false;
  }
  if (!binary) return close(env_.stats.frames_malformed, "text WebSocket message; Kismet's frames are binary");
  kismet::frame f;
  const auto hs = kismet::parse_frame(msg, kismet::kKismetMaxPayload, f);
  switch (hs) {
    case kismet::header_status::ok:
      break;
    case kismet::header_status::need_more:
      return close(env_.stats.frames_malformed,
                   "truncated frame: " + std::to_string(msg.size()) + " bytes" +
                       (msg.size() >= kismet::kHeaderBytes
                            ? ", the header says " + std::to_string(kismet::kHeaderBytes + f.header.length)
                            : std::string(", less than the 20-byte header")));
    case kismet::header_status::v2_frame:
      return close(env_.stats.links_refused_other,
                   "the tool speaks Kismet's older v2 external protocol; this collector speaks v3 only");
    case kismet::header_status::too_large:
      refuse(refusal::too_large, kismet::kHeaderBytes + std::size_t(f.header.length));
      return false;
    case kismet::header_status::bad_signature:
    case kismet::header_status::bad_sentinel:
    case kismet::header_status::bad_version:
    default:
      return close(env_.stats.frames_malformed, std::string("bad frame header (") + kismet::status_name(hs) + ")");
  }
  if (f.size() != msg.size())
    return close(env_.stats.frames_malformed,
                 std::to_string(msg.size() - f.size()) + " bytes after the frame in one WebSocket message");
  const auto type = f.header.type;
  if (type != kismet::kTypePacket) {
    // NEWSOURCE and OPENREPORT happen once each and are what the session
    // waits for; PONGs answer our PINGs and cost nothing.
    const bool exempt = type == kismet::kTypeNewSource || type == kismet::kTypeOpenReport || type == kismet::kTypePong;
    if (!exempt && !control_allowed()) return true;
    // Reports before it reach the pipeline before it is handled. A PONG
    // also ends a burst: a tool writes what it had queued, then the answer
    // to the PING that woke it.
    if (type != kismet::kTypePing) flush();
  }
  return dispatch(f);
}

bool kismet_link::dispatch(const kismet::frame& f) {
  const auto type = f.header.type;
  auto protocol_error = [&](const std::string& why) { return close(env_.stats.frames_malformed, why); };
  switch (type) {
    case kismet::kTypeNewSource:
      if (phase_ != phase::announce) return protocol_error("NEWSOURCE sent twice on one link");
      return on_newsource(f);
    case kismet::kTypeOpenReport:
      if (phase_ != phase::opening) return protocol_error("OPENREPORT without an OPENREQ");
      return on_openreport(f);
    case kismet::kTypePacket:
      if (phase_ != phase::running)
        return protocol_error("PACKET before the source was opened (OPENREPORT with success)");
      return on_packet(f);
    case kismet::kTypeConfigReport:
      if (phase_ != phase::running) return protocol_error("CONFIGREPORT before the source was opened");
      return on_configreport(f);
    case kismet::kTypePing: {
      if (auto r = kismet::decode_empty(f.payload, lim_); !r) return malformed(type, r);
      kismet::encode_pong(out_, f.header.seqno);
      send_out();
      return true;
    }
    case kismet::kTypePong: {
      if (auto r = kismet::decode_empty(f.payload, lim_); !r) return malformed(type, r);
      return true;
    }
    case kismet::kTypeMessage:
    case kismet::kTypeError:
      return on_tool_text(f);
    case kismet::kTypeProbeReport: {
      // What a tool answers to a request it does not know.
      kismet::probereport rep;
      if (auto r = kismet::decode_probereport(f.payload, lim_, rep); !r) return malformed(type, r);
      if (f.header.code == kismet::kCodeFail)
        g_log.warn(who_text() + " refused request " + std::to_string(rep.seqno) + ": " + clip(rep.message, kMaxText));
      return true;
    }
    case kismet::kTypeListReport: {
      kismet::listreport rep;
      if (auto r = kismet::decode_listreport(f.payload, lim_, rep); !r) return malformed(type, r);
      return true;
    }
    case kismet::kTypeShutdown:
      spdlog::info("{} shut down", who_text());
      closing_ = true;
      return false;
    case kismet::kTypeOpenReq:
    case kismet::kTypeConfigReq:
    case kismet::kTypeProbeReq:
    case kismet::kTypeListReq:
      return protocol_error(std::string("a capture tool may not send ") + kismet::type_name(type));
    default:
      // Kismet's plugin and event-bus types, and numbers nobody uses:
      // Kismet's server ignores them on a datasource link, and so do we.
      return true;
  }
}

bool kismet_link::on_newsource(const kismet::frame& f) {
  kismet::newsource ns;
  if (auto r = kismet::decode_newsource(f.payload, lim_, ns); !r) return malformed(f.header.type, r);
  auto& st = env_.stats;
  if (who_.transport == transport_kind::websocket &&
      (!who_.upgrade_role || (*who_.upgrade_role != role::datasource && *who_.upgrade_role != role::admin)))
    return close(st.links_refused_auth, "the WebSocket upgrade's credentials lack the 'datasource' role");
  const auto parsed = uuid::parse(ns.uuid);
  if (!parsed || parsed->is_nil())
    return close(st.links_refused_other, "NEWSOURCE UUID '" + clip(ns.uuid, 64) + "' is not a valid UUID");
  const std::string type = clip(ns.source_type, 64);
  if (type.empty()) return close(st.links_refused_other, "NEWSOURCE names no source type");

  std::string def_why;
  auto def = source_definition::try_parse(ns.definition, def_why);
  if (!def)
    spdlog::warn("Kismet source {} from {}: its definition is unreadable here ({}); using defaults", parsed->str(),
                 who_.remote_ip, def_why);
  stored_source hello;
  hello.uuid = parsed->str();
  hello.type = type;
  hello.interface = clip(def ? def->interface() : std::string_view(ns.definition).substr(0, ns.definition.find(':')));
  // Kismet names a source by its interface when the definition does not.
  hello.name = clip(def ? def->get("name").value_or(def->interface()) : hello.interface);
  hello.definition = def ? clip(def->redacted()) : hello.interface;
  hello.remote_ip = who_.remote_ip;
  hello.first_seen_ns = hello.last_seen_ns = wall_ns();
  name_ = hello.name;
  uuid_ = hello.uuid;

  // Kismet refuses a known UUID announced with another type.
  if (auto known = env_.sources.find(hello.uuid)) {
    std::lock_guard lock(known->mu);
    if (!known->rec.type.empty() && known->rec.type != type)
      return close(st.links_refused_other, "source " + hello.uuid + " is known as type '" + known->rec.type +
                                               "', this tool announces '" + type + "'");
  }
  if (const auto* fl = env_.planner.fleet()->find(hello.uuid, hello.name); fl && !fl->enabled)
    return close(st.links_refused_other, "source " + hello.uuid + " ('" + hello.name +
                                             "') is disabled in the collector's fleet file (enabled: false)");
  std::string why;
  source_ = env_.sources.claim(hello, {}, transport_, why);
  if (!source_) return close(st.links_refused_other, why);
  {
    std::lock_guard lock(source_->mu);
    source_->definition = def ? std::move(*def) : source_definition{};
    source_->options = read_source_options(source_->definition, type, {});
    source_->gps_name.clear();
    env_.db.put_source(source_->rec);
    last_put_ = steady::now();
  }
  definition_ = std::move(ns.definition);
  open_seq_ = next_seq();
  if (const auto es = kismet::encode_openreq(out_, open_seq_, definition_); es != kismet::encode_status::ok)
    return close(st.links_refused_other,
                 std::string("its definition cannot be sent back in OPENREQ (") + kismet::status_name(es) + ")");
  send_out();
  phase_ = phase::opening;
  ping_ticks_ = 0;
  return true;
}

bool kismet_link::on_openreport(const kismet::frame& f) {
  kismet::openreport rep;
  if (auto r = kismet::decode_openreport(f.payload, lim_, rep); !r) return malformed(f.header.type, r);
  if (rep.seqno != open_seq_)
    return close(env_.stats.frames_malformed, "OPENREPORT answers request " + std::to_string(rep.seqno) +
                                                  "; the OPENREQ was " + std::to_string(open_seq_));
  if (f.header.code == kismet::kCodeFail) {
    collector_stats::bump(env_.stats.links_refused_other);
    env_.messages.post(kMsgError, who_text() + " could not open its source: " +
                                      (rep.message.empty() ? std::string("(no reason given)") : clip(rep.message, kMaxText)) +
                                      "; closing the link");
    closing_ = true;
    return false;
  }
  std::vector<std::string> reported;
  for (const auto& c : rep.channels) add_unique(reported, clip(c, kMaxChannel));
  dlt_ = rep.dlt.value_or(0);
  std::string hardware = clip(rep.hardware, 256), version = clip(rep.version, 64);
  std::string name, uuid, type;
  {
    std::lock_guard lock(source_->mu);
    source_->channels = hop_list(source_->definition, reported);
    source_->options = read_source_options(source_->definition, source_->rec.type, source_->channels);
    source_->channel = clip(rep.channel, kMaxChannel);
    source_->rec.dlt = dlt_;
    env_.db.put_source(source_->rec);
    source_->plan.poke = [post = io_.post, this] { post([this] { send_pending_config(); }); };
    name = source_->rec.name;
    uuid = source_->rec.uuid;
    type = source_->rec.type;
  }
  phase_ = phase::running;
  collector_stats::bump(env_.stats.links_accepted);
  const std::string creds =
      who_.transport == transport_kind::tcp
          ? std::string("Kismet's TCP protocol carries no credentials: accepted only because kismet_sensors is on")
          : "authenticated on the WebSocket upgrade as '" + who_.principal + "' (" +
                (who_.upgrade_role ? role_name(*who_.upgrade_role) : "?") + ")";
  env_.messages.post(kMsgInfo,
                     fmt::format("source '{}' ({}, {}) connected from {} over {}, Kismet tool {}{}{}; {}. Kismet's "
                                 "tools neither number nor acknowledge reports: what is lost while the link is down "
                                 "cannot be counted",
                                 name, uuid, type, who_.remote_ip, transport_, version.empty() ? "(no version)" : version,
                                 hardware.empty() ? "" : ", hardware ", hardware, creds));
  up_ = true;
  publish(event_kind::source_up);
  env_.planner.joined(source_);
  joined_ = true;
  send_pending_config();
  return true;
}

bool kismet_link::on_packet(const kismet::frame& f) {
  if (auto r = kismet::decode_packet(f.payload, lim_, report_); !r) return malformed(f.header.type, r);
  if (!report_.packet || report_.packet->content.empty()) {
    // Kismet's server ignores a report without packet content too.
    ++no_content_;
    return true;
  }
  const auto& pb = *report_.packet;
  const auto now = steady::now();
  if (pending_.empty()) batch_started_ = now;
  decoded_packet& p = pending_.emplace_back();
  constexpr std::uint64_t kMaxSec = std::numeric_limits<std::uint64_t>::max() / 1000000000ull - 1;
  if (pb.ts_sec && *pb.ts_sec < kMaxSec)
    p.ts_ns = *pb.ts_sec * 1000000000ull + std::uint64_t(pb.ts_usec.value_or(0)) * 1000ull;
  else
    p.ts_ns = wall_ns();  // Kismet's server takes its own time when the report has none
  p.dlt = pb.dlt.value_or(dlt_);
  const auto cap = static_cast<std::uint32_t>(pb.content.size());
  p.orig_len = std::max(pb.original_length.value_or(cap), cap);
  if (const auto& s = report_.signal) {
    if (s->freq_khz) p.sensor_freq_khz = static_cast<std::uint32_t>(std::min<std::uint64_t>(*s->freq_khz, UINT32_MAX));
    if (s->signal_dbm && *s->signal_dbm != 0) {
      p.sensor_has_signal = true;
      p.sensor_signal_dbm = static_cast<std::int16_t>(std::clamp(*s->signal_dbm, -32768, 32767));
    }
  }
  if (const auto& g = report_.gps) {
    // Kismet's fix: 2 = 2D, 3 = 3D; 0 or 1 say there is none.
    const bool fixed = !g->fix || *g->fix >= 2;
    if (fixed && g->lat && g->lon && std::isfinite(*g->lat) && std::isfinite(*g->lon) && std::abs(*g->lat) <= 90 &&
        std::abs(*g->lon) <= 180) {
      p.has_gps = true;
      p.lat = *g->lat;
      p.lon = *g->lon;
      p.alt = g->alt && std::isfinite(*g->alt) ? *g->alt : std::nan("");
    }
    if (!g->name.empty() && g->name != gps_name_seen_) {
      gps_name_seen_ = clip(g->name, 256);
      std::lock_guard lock(source_->mu);
      source_->gps_name = gps_name_seen_;
    }
  }
  offsets_.push_back(static_cast<std::uint32_t>(arena_.size()));
  arena_.insert(arena_.end(), pb.content.begin(), pb.content.end());
  if (pending_.size() >= ks::kBatchPackets || arena_.size() >= ks::kBatchBytes ||
      now - batch_started_ >= std::chrono::milliseconds(ks::kBatchAgeMs))
    flush(true);
  return true;
}

void kismet_link::flush(bool nudge) {
  if (pending_.empty() || !source_) return;
  const std::size_t n = pending_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t end = i + 1 < n ? offsets_[i + 1] : arena_.size();
    pending_[i].bytes = std::span<const std::uint8_t>(arena_.data() + offsets_[i], end - offsets_[i]);
  }
  const std::uint64_t errors = env_.pipeline.deliver(*source_, pending_);
  {
    std::lock_guard lock(source_->mu);
    auto& r = source_->rec;
    r.num_packets += n;
    r.num_error_packets += errors;
    r.last_seen_ns = wall_ns();
  }
  packets_ += n;
  record_dirty_ = true;
  collector_stats::bump(env_.stats.batches_received);
  collector_stats::bump(env_.stats.packets_received, n);
  collector_stats::bump(env_.stats.bytes_received, arena_.size());
  pending_.clear();
  offsets_.clear();
  arena_.clear();
  store_record(false);
  if (nudge) wake_tool();
}

void kismet_link::wake_tool() {
  // Kismet's tools queue their WebSocket frames from the capture thread
  // without waking their libwebsockets loop, which then writes only when
  // the server sends something (with Kismet's server: at the next PING, 5 s
  // on). A PING after each batch, and each second, keeps them flowing.
  if (who_.transport != transport_kind::websocket || phase_ != phase::running || closing_) return;
  kismet::encode_ping(out_, next_seq());
  send_out();
}

void kismet_link::store_record(bool force) {
  // Nothing waits for the record (a Kismet tool gets no acknowledgement):
  // once a second is enough, and it spares the store a write per batch.
  if (!source_ || !record_dirty_) return;
  const auto now = steady::now();
  if (!force && now - last_put_ < std::chrono::seconds(1)) return;
  std::lock_guard lock(source_->mu);
  if (env_.db.put_source(source_->rec)) record_dirty_ = false;
  last_put_ = now;
}

void kismet_link::send_pending_config() {
  if (phase_ != phase::running || !source_ || closing_) return;
  hop_plan p;
  std::uint32_t id = 0;
  {
    std::lock_guard lock(source_->mu);
    auto& st = source_->plan;
    if (st.request_id == 0) {
      // Nothing asked by the collector: the tool gets its own plan once, as
      // Kismet's server sends it after the source opens (a Kismet tool does
      // not hop by itself, where our sensor follows its definition). A
      // source that cannot tune (pcapfile: no channels) gets none — Kismet's
      // pcapfile tool drops the link on a CONFIGREQ.
      if (own_sent_) return;
      own_sent_ = true;
      p = st.own;
      if (p.channels.empty()) return;
      if (!p.hop && !source_->definition.has("channel")) return;  // channel_hop=false: the tool stays put
      // Sent, so numbered like any plan the planner asks for: the source's
      // JSON then tells whether the tool took it. The planner counts on
      // from here (want() bumps request_id).
      st.wanted = p;
      st.request_id = st.sent_id = 1;
      id = 1;
    } else {
      if (st.sent_id == st.request_id) return;
      st.sent_id = st.request_id;
      p = st.wanted;
      id = st.request_id;
      if (source_->channels.empty() || p.channels.empty()) {
        st.result_id = id;
        st.result_ok = false;
        st.result_message = "this Kismet source reported no channels it can tune to; nothing sent";
        return;
      }
    }
  }
  const std::uint32_t seq = next_seq();
  kismet::encode_status es;
  if (!p.hop || p.channels.size() == 1) {
    es = kismet::encode_configreq_channel(out_, seq, p.channels.front());
  } else {
    kismet::hop_config h;
    h.rate = static_cast<float>(p.rate_per_sec);
    h.shuffle = p.shuffle;
    h.offset = static_cast<std::uint16_t>(std::min<std::uint32_t>(p.offset, 65535));
    h.channels = p.channels;
    es = kismet::encode_configreq_hop(out_, seq, h);
  }
  if (es != kismet::encode_status::ok) {
    const std::string why = std::string("the plan cannot be sent to a Kismet tool (") + kismet::status_name(es) + ")";
    spdlog::warn("{}: {}", who_text(), why);
    if (id) {
      std::lock_guard lock(source_->mu);
      source_->plan.result_id = id;
      source_->plan.result_ok = false;
      source_->plan.result_message = why;
    }
    return;
  }
  configs_.emplace_back(seq, id);
  if (configs_.size() > kMaxOutstandingConfigs) configs_.erase(configs_.begin());
  send_out();
}

bool kismet_link::on_configreport(const kismet::frame& f) {
  kismet::configreport rep;
  if (auto r = kismet::decode_configreport(f.payload, lim_, rep); !r) return malformed(f.header.type, r);
  const auto it = std::find_if(configs_.begin(), configs_.end(), [&](const auto& c) { return c.first == rep.seqno; });
  if (it == configs_.end()) {
    spdlog::debug("{}: CONFIGREPORT for request {}, which is not outstanding; ignored", who_text(), rep.seqno);
    return true;  // not ours, or long forgotten: as Kismet's server, ignore it
  }
  const std::uint32_t id = it->second;
  configs_.erase(it);
  const bool ok = f.header.code != kismet::kCodeFail;
  const std::string message = clip(rep.message, kMaxText);
  std::vector<std::string> in_force;
  if (rep.hop)
    for (const auto& c : rep.hop->channels) add_unique(in_force, clip(c, kMaxChannel));
  else if (!rep.channel.empty())
    in_force.push_back(clip(rep.channel, kMaxChannel));
  {
    std::lock_guard lock(source_->mu);
    auto& st = source_->plan;
    if (id != 0) {
      st.result_id = id;
      st.result_ok = ok;
      st.result_message = message;
    }
    if (ok && !in_force.empty()) st.in_force = in_force;
    if (ok && !rep.hop && !rep.channel.empty()) source_->channel = in_force.front();
  }
  if (!ok) spdlog::warn("{} refused channel plan {}: {}", who_text(), id, message.empty() ? "(no reason given)" : message);
  else spdlog::debug("{} took channel plan {}: {} channel(s) in force", who_text(), id, in_force.size());
  return true;
}

bool kismet_link::on_tool_text(const kismet::frame& f) {
  const std::string who = source_ ? "source '" + name_ + "'" : "Kismet capture tool from " + who_.remote_ip;
  if (f.header.type == kismet::kTypeMessage) {
    kismet::message m;
    if (auto r = kismet::decode_message(f.payload, lim_, m); !r) return malformed(f.header.type, r);
    // Kismet's severities are the message bus's flags.
    std::uint32_t flags = m.severity & (kMsgDebug | kMsgInfo | kMsgError | kMsgAlert | kMsgFatal);
    if (!flags) flags = kMsgInfo;
    env_.messages.post(flags, who + ": " + clip(m.text, kMaxText));
  } else {
    kismet::error_report e;
    if (auto r = kismet::decode_error(f.payload, lim_, e); !r) return malformed(f.header.type, r);
    const std::string text = clip(e.text, kMaxText);
    env_.messages.post(kMsgError, who + " reported an error: " + text);
    if (source_ && env_.events && env_.events->wants(event_kind::source_error)) {
      tracker_event ev;
      ev.kind = event_kind::source_error;
      ev.source = source_->index;
      ev.ts_ns = wall_ns();
      ev.reason = text;
      env_.events->publish(ev);
    }
    // An ERROR names the request it answers: a plan the tool could not take.
    const auto it =
        std::find_if(configs_.begin(), configs_.end(), [&](const auto& c) { return c.first == f.header.seqno; });
    if (it != configs_.end() && source_) {
      std::lock_guard lock(source_->mu);
      source_->plan.result_id = it->second;
      source_->plan.result_ok = false;
      source_->plan.result_message = text;
      configs_.erase(it);
    }
  }
  return true;
}

bool kismet_link::on_tick() {
  if (closing_) return false;
  flush();
  ++ticks_;
  if (++silent_ticks_ > ks::kSilentTicks)
    return close(env_.stats.links_timed_out,
                 "no frame for " + std::to_string(ks::kSilentTicks) + " s (not even a PONG)");
  if (phase_ == phase::announce) {
    if (ticks_ >= ks::kAnnounceTicks)
      return close(env_.stats.links_refused_other, "connected but announced no source (NEWSOURCE) within " +
                                                       std::to_string(ks::kAnnounceTicks) + " s");
    return true;
  }
  if (phase_ == phase::opening && ++open_ticks_ > ks::kOpenTicks)
    return close(env_.stats.links_refused_other,
                 "did not answer OPENREQ within " + std::to_string(ks::kOpenTicks) + " s");
  if (++ping_ticks_ >= ks::kPingTicks) {
    ping_ticks_ = 0;
    kismet::encode_ping(out_, next_seq());
    send_out();
  } else {
    wake_tool();
  }
  if (dropped_unreported_) {
    g_log.warn(who_text() + ": " + std::to_string(dropped_unreported_) +
               " frames dropped over the rate limit for frames other than PACKET (" +
               std::to_string(static_cast<int>(ks::kControlPerSecond)) + "/s)");
    dropped_unreported_ = 0;
  }
  store_record(false);
  send_pending_config();
  return true;
}

}  // namespace

std::unique_ptr<message_handler> make_kismet_link(link_env& env, const connection_info& who, message_io io) {
  return std::make_unique<kismet_link>(env, who, std::move(io));
}

message_handler_factory kismet_link_factory(link_env& env) {
  return [&env](const connection_info& who, message_io io) -> std::unique_ptr<message_handler> {
    connection_info k = who;
    k.protocol = link_protocol::kismet_v3;
    return make_kismet_link(env, k, std::move(io));
  };
}

}  // namespace hopwire::collector

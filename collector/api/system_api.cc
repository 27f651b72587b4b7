// /system/status.json: version, uptime, memory, packet totals, decoder
// anomalies, links, storage.
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include "collector/api/eventbus.h"
#include "collector/api/json_reply.h"
#include "collector/api/routes_all.h"
#include "collector/persist/device_persister.h"
#include "collector/persist/packet_log.h"
#include "collector/persist/store.h"
#include "collector/track/device_tracker.h"
#include "common/clock.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace {

using json_writer = jsonw::writer;
using jsonw::kv;
using jsonw::kv_bool;

http_reply json_reply(const rapidjson::StringBuffer& buf) { return jsonw::reply(buf); }

std::uint64_t rss_bytes() {
  long pages_total = 0, pages_rss = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_rss) != 2) pages_rss = 0;
    std::fclose(f);
  }
  return static_cast<std::uint64_t>(pages_rss) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

http_reply system_status(request_ctx& ctx) {
  const auto& st = *ctx.svc.stats;
  auto ld = [](const collector_stats::counter& c) { return c.load(std::memory_order_relaxed); };
  const auto now_ns = wall_ns();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                       ctx.svc.started)
                          .count();
  std::uint64_t live = 0;
  for (const auto& s : ctx.svc.sources->all()) {
    std::lock_guard lock(s->mu);
    live += s->running;
  }
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  kv(w, "kismet.system.version", kVersion);
  kv(w, "kismet.system.server_name", "hopwire-collector");
  kv(w, "kismet.system.timestamp.sec", now_ns / 1000000000ull);
  kv(w, "kismet.system.timestamp.usec", (now_ns / 1000) % 1000000);
  kv(w, "kismet.system.timestamp.start_sec", ctx.svc.started_unix);
  // Kismet reports RSS in kB.
  const auto rss = rss_bytes();
  kv(w, "kismet.system.memory.rss", rss / 1024);
  kv(w, "hopwire.system.uptime_sec", static_cast<std::uint64_t>(uptime));
  kv(w, "hopwire.system.memory.rss_bytes", rss);
  kv(w, "hopwire.system.sources_live", live);
  kv(w, "hopwire.system.packets_received", ld(st.packets_received));
  kv(w, "hopwire.system.bytes_received", ld(st.bytes_received));
  kv(w, "hopwire.system.batches_received", ld(st.batches_received));
  kv(w, "hopwire.system.batches_duplicate", ld(st.batches_duplicate));
  kv(w, "hopwire.system.batches_gap", ld(st.batches_gap));
  kv(w, "hopwire.system.links_accepted", ld(st.links_accepted));
  kv(w, "hopwire.system.links_refused_auth", ld(st.links_refused_auth));
  kv(w, "hopwire.system.links_refused_other", ld(st.links_refused_other));
  kv(w, "hopwire.system.links_timed_out", ld(st.links_timed_out));
  kv(w, "hopwire.system.frames_malformed", ld(st.frames_malformed));
  kv(w, "hopwire.system.frames_oversize", ld(st.frames_oversize));
  const auto& n = *ctx.svc.net;
  kv(w, "hopwire.system.http_requests", ld(n.http_requests));
  kv(w, "hopwire.system.http_auth_failures", ld(n.http_auth_failures));
  // Links cut, by reason: the transport's and the protocol's own counts.
  w.Key("hopwire.system.links_cut");
  w.StartObject();
  for (std::size_t i = 0; i < static_cast<std::size_t>(cut_reason::count); ++i) kv(w, kCutReasonNames[i], ld(n.links_cut[i]));
  kv(w, "timeout", ld(st.links_timed_out));
  kv(w, "auth", ld(st.links_refused_auth));
  kv(w, "malformed", ld(st.frames_malformed));
  w.EndObject();
  w.Key("hopwire.system.connections_refused");
  w.StartObject();
  kv(w, "total_limit", ld(n.refused_total_limit));
  kv(w, "per_address_limit", ld(n.refused_per_address_limit));
  kv(w, "accept_error", ld(n.accept_errors));
  w.EndObject();
  kv(w, "hopwire.system.connections_open", ld(n.connections_open));
  kv(w, "hopwire.system.answers.memory_used", ctx.svc.answers->used());
  kv(w, "hopwire.system.answers.memory_limit", ctx.svc.answers->limit());
  kv(w, "hopwire.system.answers.refused", ctx.svc.answers->refused());
  kv(w, "hopwire.system.acks_withheld", ld(st.acks_withheld));
  if (const auto* bus = ctx.svc.bus) {
    const auto b = bus->stats();
    kv(w, "hopwire.system.eventbus.subscribers", b.subscribers);
    kv(w, "hopwire.system.eventbus.published", b.published);
    kv(w, "hopwire.system.eventbus.delivered", b.delivered);
    kv(w, "hopwire.system.eventbus.dropped", b.dropped);
    kv(w, "hopwire.system.eventbus.queue_overflow", b.queue_overflow);
  }
  const auto& pipe = *ctx.svc.pipeline;
  kv(w, "hopwire.system.packets_decoded", pipe.packets());
  kv(w, "hopwire.system.packets_error", pipe.error_packets());
  pipe.anomalies().for_each([&](const char* name, std::uint64_t v) {
    const std::string k = std::string("hopwire.decode.") + name;
    w.Key(k.c_str());
    w.Uint64(v);
  });
  if (const auto* t = ctx.svc.tracker) {
    kv(w, "kismet.system.devices.count", static_cast<std::uint64_t>(t->device_count()));
    kv(w, "hopwire.system.devices.evicted", t->evicted());
    kv(w, "hopwire.system.devices.limit", static_cast<std::uint64_t>(t->max_devices()));
  }
  kv_bool(w, "hopwire.system.packet_log.enabled", ctx.svc.log != nullptr);
  if (const auto* l = ctx.svc.log) {
    kv(w, "hopwire.system.packet_log.packets_logged", l->logged());
    kv(w, "hopwire.system.packet_log.packets_dropped", l->dropped());
    kv(w, "hopwire.system.packet_log.bytes", ctx.svc.db->packet_log_bytes());
  }
  const auto& db = *ctx.svc.db;
  kv(w, "hopwire.system.storage.state", storage_state_name(db.state()));
  kv_bool(w, "hopwire.system.storage.acks_paused", db.state() == storage_state::failing);
  kv(w, "hopwire.system.storage.free_bytes", db.free_bytes());
  kv(w, "hopwire.system.storage.resumes", db.resumes());
  kv(w, "hopwire.system.storage.packet_log_limit", db.packet_log_limit());
  if (ctx.svc.persister) kv(w, "hopwire.system.storage.devices_pending", ctx.svc.persister->pending());
  kv(w, "hopwire.system.storage.write_errors", ctx.svc.db->write_errors());
  const auto err = ctx.svc.db->last_error();
  kv(w, "hopwire.system.storage.last_error", err);
  w.EndObject();
  return json_reply(buf);
}

}  // namespace

void add_system_routes(route_table& t, api_context& api) {
  add_route(t, api, "GET", "/system/status.json", kReadRole, "Version, uptime, memory and packet totals",
            system_status);
}

}  // namespace hopwire::collector

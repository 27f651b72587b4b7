// /metrics: what an operator's Prometheus scrapes and Grafana graphs, in
// Prometheus's text format 0.0.4. Every name starts with hopwire_; counters
// end in _total. deploy/grafana/hopwire.json is a dashboard over them.
#include <cstdio>
#include <string>

#include "collector/api/routes_all.h"
#include "collector/cluster/cluster_node.h"
#include "collector/persist/device_persister.h"
#include "collector/persist/packet_log.h"
#include "collector/persist/store.h"
#include "collector/stream/pcap_hub.h"
#include "collector/track/device_tracker.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace {

// Label values escaped as the format asks: backslash, quote, newline.
std::string label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

class exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(const char* name, double v, std::string_view labels = {}) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.17g\n", v);
    out_ += buf;
  }
  void one(const char* name, const char* type, const char* help, double v) {
    family(name, type, help);
    sample(name, v);
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

std::uint64_t ld(const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); }

http_reply metrics(request_ctx& ctx) {
  const auto& api = ctx.svc;
  const auto& st = *api.stats;
  const auto& net = *api.net;
  exposition m;
  m.family("hopwire_build_info", "gauge", "The collector's version.");
  m.sample("hopwire_build_info", 1, std::string("version=\"") + kVersion + "\"");
  m.one("hopwire_uptime_seconds", "gauge", "Seconds since the collector started.",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - api.started).count());

  // Ingest.
  m.one("hopwire_packets_received_total", "counter", "Packets stored from sensor batches.", ld(st.packets_received));
  m.one("hopwire_bytes_received_total", "counter", "Bytes of packet data stored from sensor batches.",
        ld(st.bytes_received));
  m.one("hopwire_batches_received_total", "counter", "Batches received.", ld(st.batches_received));
  m.one("hopwire_batches_duplicate_total", "counter", "Batches resent after a reconnect, acknowledged, not counted.",
        ld(st.batches_duplicate));
  m.one("hopwire_batches_gap_total", "counter", "Times a sensor's batch sequence jumped (it dropped batches).",
        ld(st.batches_gap));
  m.one("hopwire_acks_withheld_total", "counter", "Batches not acknowledged because the store could not keep them.",
        ld(st.acks_withheld));
  m.one("hopwire_packets_decoded_total", "counter", "Packets through the decode stage.", api.pipeline->packets());
  m.one("hopwire_packets_error_total", "counter", "Packets undecodable or with a bad FCS.",
        api.pipeline->error_packets());
  m.family("hopwire_decode_anomalies_total", "counter", "Oddities the decoders met, by kind.");
  api.pipeline->anomalies().for_each([&](const char* name, std::uint64_t v) {
    m.sample("hopwire_decode_anomalies_total", double(v), std::string("kind=\"") + name + "\"");
  });

  // Per source.
  const auto sources = api.sources->all();
  m.family("hopwire_source_packets_total", "counter", "Packets stored, per source.");
  for (const auto& s : sources) {
    std::lock_guard lock(s->mu);
    m.sample("hopwire_source_packets_total", double(s->rec.num_packets),
             "source=\"" + label(s->rec.name) + "\",uuid=\"" + label(s->rec.uuid) + "\"");
  }
  m.family("hopwire_source_error_packets_total", "counter", "Error packets, per source.");
  for (const auto& s : sources) {
    std::lock_guard lock(s->mu);
    m.sample("hopwire_source_error_packets_total", double(s->rec.num_error_packets),
             "source=\"" + label(s->rec.name) + "\",uuid=\"" + label(s->rec.uuid) + "\"");
  }
  m.family("hopwire_source_dropped_total", "counter", "Packets a sensor lost, per source and reason (ring, kernel).");
  for (const auto& s : sources) {
    std::lock_guard lock(s->mu);
    const std::string l = "source=\"" + label(s->rec.name) + "\",uuid=\"" + label(s->rec.uuid) + "\"";
    m.sample("hopwire_source_dropped_total", double(s->rec.dropped_ring_base + s->rec.dropped_ring_boot),
             l + ",reason=\"ring\"");
    m.sample("hopwire_source_dropped_total", double(s->rec.dropped_kernel_base + s->rec.dropped_kernel_boot),
             l + ",reason=\"kernel\"");
  }
  m.family("hopwire_source_connected", "gauge", "1 while the source's link is up.");
  for (const auto& s : sources) {
    std::lock_guard lock(s->mu);
    m.sample("hopwire_source_connected", s->running ? 1 : 0,
             "source=\"" + label(s->rec.name) + "\",uuid=\"" + label(s->rec.uuid) + "\"");
  }
  m.family("hopwire_source_reconnects_total", "counter", "Reconnects, per source.");
  for (const auto& s : sources) {
    std::lock_guard lock(s->mu);
    m.sample("hopwire_source_reconnects_total", double(s->rec.reconnects),
             "source=\"" + label(s->rec.name) + "\",uuid=\"" + label(s->rec.uuid) + "\"");
  }

  // Links and connections.
  m.one("hopwire_links_accepted_total", "counter", "Sensor links that completed Hello.", ld(st.links_accepted));
  m.family("hopwire_links_refused_total", "counter", "Sensor links refused at Hello, by reason.");
  m.sample("hopwire_links_refused_total", double(ld(st.links_refused_auth)), "reason=\"auth\"");
  m.sample("hopwire_links_refused_total", double(ld(st.links_refused_other)), "reason=\"other\"");
  m.family("hopwire_links_cut_total", "counter", "Message links cut, by reason.");
  for (std::size_t i = 0; i < static_cast<std::size_t>(cut_reason::count); ++i)
    m.sample("hopwire_links_cut_total", double(ld(net.links_cut[i])),
             std::string("reason=\"") + kCutReasonNames[i] + "\"");
  m.sample("hopwire_links_cut_total", double(ld(st.links_timed_out)), "reason=\"timeout\"");
  m.one("hopwire_frames_malformed_total", "counter", "Link frames that failed verification.",
        ld(st.frames_malformed));
  m.one("hopwire_frames_oversize_total", "counter", "Link frames over the size limit.", ld(st.frames_oversize));
  m.one("hopwire_connections_open", "gauge", "Connections open now.", ld(net.connections_open));
  m.family("hopwire_connections_refused_total", "counter", "Connections refused, by reason.");
  m.sample("hopwire_connections_refused_total", double(ld(net.refused_total_limit)), "reason=\"total_limit\"");
  m.sample("hopwire_connections_refused_total", double(ld(net.refused_per_address_limit)),
           "reason=\"per_address_limit\"");
  m.sample("hopwire_connections_refused_total", double(ld(net.accept_errors)), "reason=\"accept_error\"");

  // HTTP.
  m.family("hopwire_http_requests_total", "counter", "HTTP answers, by status code.");
  for (unsigned code = 100; code < net.http_status.size(); ++code)
    if (const auto n = ld(net.http_status[code]))
      m.sample("hopwire_http_requests_total", double(n), "code=\"" + std::to_string(code) + "\"");
  m.one("hopwire_http_auth_failures_total", "counter", "Requests with wrong credentials.", ld(net.http_auth_failures));
  m.family("hopwire_http_request_duration_seconds", "histogram",
           "Time from a request's header to its answer's start (streams: to the first chunk).");
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < std::size(net_stats::kLatencyBuckets); ++i) {
    cum += ld(net.http_latency[i]);
    char le[32];
    std::snprintf(le, sizeof le, "le=\"%g\"", net_stats::kLatencyBuckets[i]);
    m.sample("hopwire_http_request_duration_seconds_bucket", double(cum), le);
  }
  cum += ld(net.http_latency.back());
  m.sample("hopwire_http_request_duration_seconds_bucket", double(cum), "le=\"+Inf\"");
  m.sample("hopwire_http_request_duration_seconds_sum", double(ld(net.http_latency_sum_us)) / 1e6);
  m.sample("hopwire_http_request_duration_seconds_count", double(cum));
  m.one("hopwire_answer_memory_bytes", "gauge", "Memory reserved by streamed answers in flight.",
        double(api.answers->used()));
  m.one("hopwire_answers_refused_total", "counter", "Streamed answers refused (503) over the memory budget.",
        double(api.answers->refused()));

  // Devices.
  if (const auto* t = api.tracker) {
    m.one("hopwire_devices", "gauge", "Devices tracked.", double(t->device_count()));
    m.one("hopwire_devices_evicted_total", "counter", "Devices dropped at the device limit.", double(t->evicted()));
    m.one("hopwire_devices_limit", "gauge", "The device limit (0: none).", double(t->max_devices()));
  }

  // Storage.
  const auto& db = *api.db;
  m.one("hopwire_storage_ok", "gauge", "1 when the store writes (it may still be low on space).",
        db.state() == storage_state::failing ? 0 : 1);
  m.family("hopwire_storage_state", "gauge", "1 for the store's state now.");
  for (const auto s : {storage_state::ok, storage_state::low_space, storage_state::failing})
    m.sample("hopwire_storage_state", db.state() == s ? 1 : 0,
             std::string("state=\"") + storage_state_name(s) + "\"");
  m.one("hopwire_storage_free_bytes", "gauge", "Free space on the state directory's file system.",
        double(db.free_bytes()));
  m.one("hopwire_storage_write_errors_total", "counter", "Failed writes to the store.", double(db.write_errors()));
  m.one("hopwire_storage_resumes_total", "counter", "Times the store resumed writing after failing.",
        double(db.resumes()));
  if (api.persister)
    m.one("hopwire_storage_devices_pending", "gauge", "Device records waiting for the store to write again.",
          double(api.persister->pending()));
  if (const auto* l = api.log) {
    m.one("hopwire_packet_log_packets_total", "counter", "Packets written to the packet log.", double(l->logged()));
    m.one("hopwire_packet_log_dropped_total", "counter", "Packets the packet log could not take.",
          double(l->dropped()));
    m.one("hopwire_packet_log_bytes", "gauge", "Size of the packet log.", double(db.packet_log_bytes()));
    m.one("hopwire_packet_log_limit_bytes", "gauge", "The packet log's size limit now (lower below low water).",
          double(db.packet_log_limit()));
  }
  if (const auto* hub = api.pcap) {
    const auto streams = hub->stats();
    std::uint64_t dropped = 0;
    for (const auto& s : streams) dropped += s.packets_dropped;
    m.one("hopwire_pcap_streams", "gauge", "Live pcap-ng streams open.", double(streams.size()));
    m.one("hopwire_pcap_stream_packets_dropped", "gauge", "Packets dropped by the open streams (slow clients).",
          double(dropped));
  }

  if (const auto* c = api.cluster) {
    const auto cs = c->counters();
    std::size_t live = 0;
    for (const auto& n : cs.nodes) live += n.live;
    m.one("hopwire_cluster_connected", "gauge", "1 while this collector can use the cluster (NATS and its bucket).",
          cs.why.empty() ? 1 : 0);
    m.one("hopwire_cluster_nodes_live", "gauge", "Collectors whose heartbeat is under 3 s old, this one included.",
          double(live));
    m.one("hopwire_cluster_claims_total", "counter", "Sources this collector took for its links.", double(cs.claims));
    m.one("hopwire_cluster_commits_total", "counter", "Source records written before an Ack.", double(cs.commits));
    m.one("hopwire_cluster_commit_retries_total", "counter", "Record writes that failed and were tried again.",
          double(cs.commit_retries));
    m.one("hopwire_cluster_sources_lost_total", "counter", "Sources another collector claimed from this one's links.",
          double(cs.lost));
    m.one("hopwire_cluster_releases_total", "counter", "Sources other collectors asked this one to let go.",
          double(cs.releases));
  }

  http_reply r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(m.str());
  return r;
}

}  // namespace

void add_metrics_routes(route_table& t, api_context& api) {
  add_route(t, api, "GET", "/metrics", mask(role::readonly, role::metrics),
            "Prometheus metrics (text format 0.0.4)", metrics);
}

}  // namespace hopwire::collector

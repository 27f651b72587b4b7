// /cluster/status.json: this collector's place in the cluster
// (docs/cluster.md) — its node id, its NATS connection, and every source's
// cluster-wide record: owner, epoch, last acknowledged batch and counts.
// Standalone it answers 404 with a sentence.
#include <algorithm>
#include <memory>
#include <mutex>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/json_reply.h"
#include "collector/api/routes_all.h"
#include "collector/cluster/cluster_node.h"
#include "common/clock.h"

namespace hopwire::collector {

namespace {

std::string status_json(const cluster_node::status& s) {
  rapidjson::StringBuffer buf;
  jsonw::writer w(buf);
  w.StartObject();
  jsonw::kv(w, "node_id", s.node_id);
  jsonw::kv(w, "incarnation", s.incarnation);
  jsonw::kv_bool(w, "connected", s.connected);
  jsonw::kv(w, "server", s.server);
  if (!s.why.empty()) jsonw::kv(w, "why", s.why);
  w.Key("counters");
  w.StartObject();
  jsonw::kv(w, "claims", s.claims);
  jsonw::kv(w, "commits", s.commits);
  jsonw::kv(w, "commit_retries", s.commit_retries);
  jsonw::kv(w, "sources_lost", s.lost);
  jsonw::kv(w, "releases", s.releases);
  w.EndObject();
  // Heartbeats: live while this collector saw one change in the last 3 s
  // (by its own clock); the age by the node's clock is for people.
  const std::uint64_t now = wall_ns();
  w.Key("nodes");
  w.StartArray();
  for (const auto& n : s.nodes) {
    w.StartObject();
    jsonw::kv(w, "node_id", n.node_id);
    jsonw::kv(w, "incarnation", n.incarnation);
    jsonw::kv(w, "version", n.version);
    jsonw::kv(w, "started_ns", n.started_ns);
    const double age = n.wall_ns && now > n.wall_ns ? (now - n.wall_ns) / 1e9 : 0.0;
    w.Key("heartbeat_age_s");
    w.Double(age);
    jsonw::kv_bool(w, "live", n.live);
    w.EndObject();
  }
  w.EndArray();
  std::uint64_t packets = 0;
  w.Key("sources");
  w.StartArray();
  for (const auto& r : s.sources) {
    w.StartObject();
    jsonw::kv(w, "uuid", r.uuid);
    jsonw::kv(w, "owner", r.owner);
    jsonw::kv(w, "epoch", r.epoch);
    jsonw::kv(w, "boot_id", r.boot_id);
    jsonw::kv(w, "last_seq", r.last_seq);
    jsonw::kv(w, "num_packets", r.num_packets);
    jsonw::kv(w, "num_error_packets", r.num_error_packets);
    w.EndObject();
    packets += r.num_packets;
  }
  w.EndArray();
  jsonw::kv(w, "num_packets", packets);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// The answer once the cluster's thread has read the bucket: the HTTP
// thread that asked also carries sensors' links and must not wait on NATS.
class status_stream final : public body_stream {
 public:
  void answer(std::string body) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      body_ = std::move(body);
      ready_ = true;
      wake = std::move(wake_);
    }
    if (wake) wake();
  }
  bool pull(std::string& out, std::size_t max, std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    if (!ready_) {
      wake_ = std::move(wake);
      return !closed_;
    }
    const std::size_t n = std::min(max, body_.size() - head_);
    out.append(body_, head_, n);
    head_ += n;
    return n > 0;
  }
  void delivered(std::size_t) override {}
  void close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    wake_ = nullptr;
  }
  // About 200 bytes a source: room for a thousand.
  std::size_t memory_bound() const override { return 256 * 1024; }

 private:
  std::mutex mu_;
  std::string body_;
  std::size_t head_ = 0;
  bool ready_ = false, closed_ = false;
  std::function<void()> wake_;
};

// 503 with what this node knows, and why there is no more.
http_reply unavailable(cluster_node::status s, std::string why) {
  if (!why.empty()) s.why = std::move(why);
  http_reply r;
  r.status = 503;
  r.body = status_json(s);
  return r;
}

http_reply cluster_status(request_ctx& ctx) {
  if (!ctx.svc.cluster)
    return text_reply(404, "this collector is standalone: there is no cluster: section in its config (docs/cluster.md)");
  // Cut off from NATS: say so now.
  if (auto c = ctx.svc.cluster->counters(); !c.why.empty()) return unavailable(std::move(c), {});
  auto stream = std::make_shared<status_stream>();
  if (auto refused = ctx.svc.cluster->read_status_async(
          [stream](cluster_node::status s) { stream->answer(status_json(s)); });
      !refused.empty())
    return unavailable(ctx.svc.cluster->counters(), std::move(refused));
  http_reply r;
  r.stream = stream;
  return r;
}

}  // namespace

void add_cluster_routes(route_table& t, api_context& api) {
  add_route(t, api, "GET", "/cluster/status.json", kReadRole,
            "Cluster mode: this node, its NATS connection, and every source's cluster-wide record (owner, last "
            "acknowledged batch, counts)",
            cluster_status);
}

}  // namespace hopwire::collector

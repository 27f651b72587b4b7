#pragma once
// This collector's membership of a cluster (docs/cluster.md): one NATS
// connection, and the cluster-wide record of each source it carries — who
// owns it, its last acknowledged batch and its counts — kept in the JetStream
// key-value bucket `hopwire_sources` and changed only by compare-and-set.
// A source is owned by one collector at a time: claiming it asks the old
// owner to let go, then writes the record on the revision it read; a
// collector whose write is refused has lost the source and may neither count
// nor acknowledge for it. That makes a sensor's failover exact: what it
// resends to a new collector is counted there unless the record already
// holds it.
//
// Without a `cluster:` section none of this exists: the collector never
// opens a NATS connection.
//
// Claims and commits run on the node's own threads (one each, so a slow
// claim holds up no commit), heartbeats and shared tables on a third;
// callers get their answers through callbacks on those threads and post
// them where they belong.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collector/config/settings.h"

namespace hopwire::collector {

// A source's record in `hopwire_sources/<uuid>`.
struct cluster_source_record {
  std::string uuid;
  std::string owner;  // node id; empty: nobody
  std::uint64_t epoch = 0;  // +1 per claim
  std::uint64_t boot_id = 0;  // the sensor boot last_seq counts in
  std::uint64_t last_seq = 0;  // last acknowledged batch
  std::uint64_t num_packets = 0, num_error_packets = 0;
  std::uint64_t revision = 0;  // the KV revision it was read at
};

struct cluster_claim_result {
  bool ok = false;
  bool busy = false;  // when !ok: another sensor process streams this source elsewhere
  std::string why;  // when !ok: for the sensor and the log
  cluster_source_record rec;  // when ok: what the link starts from
  std::string released_by;  // the node that let go of it, if one did
};

class cluster_node {
 public:
  // Connects (retrying in the background while the servers are down) and
  // makes sure the bucket exists. Throws std::runtime_error with a sentence
  // when the settings cannot work (no credentials, bad TLS files).
  explicit cluster_node(const cluster_config& cfg);
  ~cluster_node();
  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  // Stops the node's thread and its subscription; callbacks not yet run are
  // dropped. Call before whatever they post to goes away.
  void stop();

  const std::string& node_id() const;

  // Takes `uuid` for this collector (see the top of this file). `done` runs
  // on the node's thread.
  void claim(const std::string& uuid, std::uint64_t boot_id, std::function<void(cluster_claim_result)> done);
  // Records that the link has counted through `last_seq` with these totals.
  // `done(true, "")` once the record holds it (then the Ack may go out);
  // `done(false, why)` when the source was lost to another collector or the
  // cluster could not be reached for commit_timeout. Commits of one source
  // waiting together are written once, with the newest values.
  // `epoch` is the claim's (cluster_claim_result::rec.epoch): a commit of an
  // earlier link of the same source, still waiting when the source was
  // claimed again, is refused rather than written over the new claim.
  void commit(const std::string& uuid, std::uint64_t epoch, std::uint64_t last_seq, std::uint64_t num_packets,
              std::uint64_t num_error_packets, std::function<void(bool ok, std::string why)> done);
  // The link that claimed `uuid` at `epoch` closed here: later commits for
  // it are refused.
  void forget(const std::string& uuid, std::uint64_t epoch);

  // Another collector asks for a source this one holds, for a sensor of
  // boot `boot_id`: `release` closes the link here (from any thread) and
  // says so, or says `busy` when the link here carries another boot of the
  // source (two sensor processes with one UUID: the second is refused, as
  // a standalone collector refuses it), or `none` when there is no link.
  enum class release_answer { none, released, busy };
  void on_release(std::function<release_answer(const std::string& uuid, std::uint64_t boot_id)> release);

  // Shares a table with the other collectors: about once a second `local()`
  // is written to `hopwire_auth/<name>.<node-id>` when it changed, and
  // `others(texts)` gets every other node's text for `name` (the API tokens,
  // so a sensor's token works on every collector it may fail over to).
  // Call before the node's first second has passed.
  void share(const std::string& name, std::function<std::string()> local,
             std::function<void(const std::vector<std::string>&)> others);

  // Core NATS, at most once (the event bus across collectors): publish is
  // dropped while disconnected beyond libnats' reconnect buffer; a
  // subscription lives until stop() and calls `cb` on a libnats thread.
  // This node never receives its own publications.
  void publish(const std::string& subject, const std::string& data);
  void subscribe(const std::string& subject, std::function<void(const char* data, int len)> cb);
  // Whether this node has event-bus subscribers (told in its heartbeat),
  // and whether any other live node has.
  void set_wants_events(bool wants);
  bool others_want_events() const;

  // Who owns `uuid` now, from its record (a NATS round trip); empty when
  // nobody does or NATS cannot say. And the URL a node advertises, from
  // its last heartbeat; empty when unknown.
  std::string owner_of(const std::string& uuid);
  std::string advertise_of(const std::string& node) const;

  // Whether NATS is connected now, and if not, since when and why, as a
  // sentence for a sensor ("collector-a cannot reach the cluster ...").
  bool reachable() const;
  std::string unreachable_why() const;

  // Fleet queries (docs/cluster.md, "Queries"): every collector answers on
  // `hopwire.query.<node-id>`. `answer(request, send)` runs on a libnats
  // thread for a request from another collector, and on the cluster's own
  // thread for this one's; it calls `send` with each part of its answer
  // (at most about kQueryPart bytes: NATS caps a message at 1 MiB) and
  // returns. An exception it throws is the answer's error.
  static constexpr std::size_t kQueryPart = 256 * 1024;
  using query_send = std::function<void(std::string_view part)>;
  void serve(std::function<void(const std::string& request, const query_send& send)> answer);

  // What every live collector answered, in node-id order, and who did not
  // (no first part within 5 s or a stall of 2 s, lost parts, an error,
  // more than 60 s in all) with why. `why` is set when
  // nothing could be asked (NATS unreachable).
  struct gathered {
    struct share {
      std::string node;
      std::vector<std::string> parts;
    };
    std::vector<share> answered;
    std::vector<std::pair<std::string, std::string>> missing;  // node, why
    std::string why;
  };
  // Asks every live collector, this one too, on the cluster's own thread;
  // `done` is called there, once. Returns why the request was not taken
  // (too many wait, or the node stops; `done` is then never called).
  std::string gather_async(std::string request, std::function<void(gathered)> done);
  // The same, now, on the calling thread: for a `done` of gather_async
  // that needs a second round (it runs on the cluster's query thread).
  gathered gather(const std::string& request);

  // For /cluster/status.json: this node, its connection, and every source
  // record in the bucket (read now; empty with `why` set when NATS fails).
  // A collector's heartbeat in `hopwire_nodes`, written every second.
  struct node_info {
    std::string node_id;
    std::uint64_t incarnation = 0;  // random per process
    std::string version;
    std::uint64_t started_ns = 0, wall_ns = 0;  // by its clock
    std::uint64_t revision = 0;
    bool events = false;  // it has event-bus subscribers
    bool live = false;    // its heartbeat changed in the last 3 s, by this node's clock
    std::string advertise;  // its URL for redirects, if configured
  };
  struct status {
    std::string node_id;
    std::uint64_t incarnation = 0;
    std::vector<node_info> nodes;  // every heartbeat key, this node's too
    bool connected = false;
    std::string server;  // the URL connected to
    std::string why;
    std::vector<cluster_source_record> sources;
    std::uint64_t claims = 0, commits = 0, commit_retries = 0, lost = 0, releases = 0;
  };
  status read_status();
  // The same on the cluster's own thread, for the HTTP threads (which also
  // carry the sensors' links and must not wait on NATS): `done` is called
  // there, once. Requests waiting together share one read. Returns why the
  // request was not taken (too many wait, or the node stops; `done` is then
  // never called), else empty.
  std::string read_status_async(std::function<void(status)> done);
  // The same without reading the bucket (no sources; no NATS round trip):
  // for /metrics.
  status counters() const;

 private:
  void status_loop();
  void query_loop();

  struct impl;
  std::unique_ptr<impl> p_;
};

}  // namespace hopwire::collector

#include "collector/cluster/cluster_node.h"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/clock.h"
#include "common/log.h"
#include "hopwire/version.h"

namespace hopwire::collector {

namespace {

constexpr const char* kSourcesBucket = "hopwire_sources";
constexpr const char* kNodesBucket = "hopwire_nodes";
constexpr const char* kAuthBucket = "hopwire_auth";
constexpr auto kBeat = std::chrono::seconds(1);
constexpr auto kNodeTimeout = std::chrono::seconds(3);  // a heartbeat unchanged this long: not live
constexpr auto kShareStale = std::chrono::seconds(30);
constexpr int kClaimAttempts = 5;
constexpr auto kRetryPause = std::chrono::milliseconds(100);

std::string read_secret(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cluster.password_file " + path + " cannot be read");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) throw std::runtime_error("cluster.password_file " + path + " is empty");
  return s;
}

// The text libnats keeps for the last failure on this thread.
std::string nats_text(natsStatus st) {
  const char* t = nats_GetLastError(nullptr);
  std::string s = t && *t ? t : natsStatus_GetText(st);
  return s;
}

// JetStream refused a compare-and-set: the key's revision is not the one
// given (JetStream error 10071, "wrong last sequence").
bool wrong_revision(natsStatus st) {
  if (st == NATS_OK) return false;
  const char* t = nats_GetLastError(nullptr);
  return t && (std::strstr(t, "wrong last sequence") || std::strstr(t, "10071"));
}

// "2026-12-03 13:05:07 UTC", for "unreachable since".
std::string utc_text(std::uint64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string encode(const cluster_source_record& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("owner");
  w.String(r.owner.c_str(), static_cast<rapidjson::SizeType>(r.owner.size()));
  w.Key("epoch");
  w.Uint64(r.epoch);
  w.Key("boot_id");
  w.Uint64(r.boot_id);
  w.Key("last_seq");
  w.Uint64(r.last_seq);
  w.Key("num_packets");
  w.Uint64(r.num_packets);
  w.Key("num_error_packets");
  w.Uint64(r.num_error_packets);
  w.Key("written_ns");
  w.Uint64(wall_ns());
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// The flat JSON objects kept in the buckets, read field by field; a field
// missing or of another type keeps its default.
class json_object {
 public:
  bool parse(const void* data, int len) {
    d_.Parse(static_cast<const char*>(data), static_cast<std::size_t>(len));
    return !d_.HasParseError() && d_.IsObject();
  }
  void u64(const char* k, std::uint64_t& out) const {
    const auto it = d_.FindMember(k);
    if (it != d_.MemberEnd() && it->value.IsUint64()) out = it->value.GetUint64();
  }
  void flag(const char* k, bool& out) const {
    const auto it = d_.FindMember(k);
    if (it != d_.MemberEnd() && it->value.IsBool()) out = it->value.GetBool();
  }
  void str(const char* k, std::string& out) const {
    const auto it = d_.FindMember(k);
    if (it != d_.MemberEnd() && it->value.IsString()) out.assign(it->value.GetString(), it->value.GetStringLength());
  }

 private:
  rapidjson::Document d_;
};

bool decode(const void* data, int len, cluster_source_record& r) {
  json_object o;
  if (!o.parse(data, len)) return false;
  o.str("owner", r.owner);
  o.u64("epoch", r.epoch);
  o.u64("boot_id", r.boot_id);
  o.u64("last_seq", r.last_seq);
  o.u64("num_packets", r.num_packets);
  o.u64("num_error_packets", r.num_error_packets);
  return true;
}

// Set once by a libnats callback on its thread; waited for by stop().
class done_flag {
 public:
  void set() {
    {
      std::lock_guard lock(m_);
      done_ = true;
    }
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds limit) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, limit, [this] { return done_; });
  }
  static void on_done(void* self) { static_cast<done_flag*>(self)->set(); }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
};

// Unsubscribes and waits until libnats has returned from the last call of
// the handler, so what it uses may be freed.
void close_subscription(natsSubscription*& sub, done_flag& done) {
  if (!sub) return;
  if (natsSubscription_Unsubscribe(sub) == NATS_OK && !done.wait(std::chrono::seconds(5)))
    spdlog::warn("cluster: a subscription's handler did not finish within 5 s");
  natsSubscription_Destroy(sub);
  sub = nullptr;
}

}  // namespace

struct cluster_node::impl {
  cluster_config cfg;
  std::string password;
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;  // worker thread only, once made
  natsSubscription* ctl = nullptr;
  done_flag ctl_done;  // its handler has returned for good
  done_flag closed;    // the connection's closed callback has run
  std::string fatal_why;  // set once: this node must not act (its node id is in use)

  mutable std::mutex mu;  // guards what follows, up to the thread
  std::condition_variable cv;        // commits (and connecting)
  std::condition_variable claim_cv;  // claims
  bool stopping = false;
  bool connected = false;
  std::string down_since;  // wall clock text of the disconnect
  std::string kv_why;      // why the bucket is not usable yet
  struct claim_job {
    std::string uuid;
    std::uint64_t boot_id;
    std::function<void(cluster_claim_result)> done;
    std::chrono::steady_clock::time_point queued = std::chrono::steady_clock::now();
  };
  std::deque<claim_job> claims;
  struct pending_commit {
    std::uint64_t epoch = 0;  // of the claim the committing link holds
    std::uint64_t last_seq = 0, packets = 0, errors = 0;
    std::vector<std::function<void(bool, std::string)>> done;
    std::chrono::steady_clock::time_point first_try{};
    std::string last_error;  // of the last failed try
  };
  std::map<std::string, pending_commit> commits;
  struct held {
    cluster_source_record rec;  // as last written
  };
  std::map<std::string, held> owned;
  std::mutex release_mu;  // guards release, apart: it calls out
  std::function<cluster_node::release_answer(const std::string&, std::uint64_t)> release;
  std::uint64_t n_claims = 0, n_commits = 0, n_retries = 0, n_lost = 0, n_releases = 0;
  std::thread worker;   // commits
  std::thread claimer;  // claims

  // read_status_async: one read of the bucket answers everyone waiting.
  static constexpr std::size_t kMaxStatusWaiting = 32;
  std::mutex status_mu;
  std::condition_variable status_cv;
  std::vector<std::function<void(cluster_node::status)>> status_waiting;
  bool status_stopping = false;
  std::thread status_reader;

  // Fleet queries: this node's answers (on a libnats thread for the
  // others' requests) and its own gathers (on the query thread).
  natsSubscription* query_sub = nullptr;
  done_flag query_done;
  std::mutex answer_mu;  // guards answer (copied out: answers run without it)
  std::function<void(const std::string&, const cluster_node::query_send&)> answer;
  static constexpr std::size_t kMaxQueriesWaiting = 8;
  std::mutex query_mu;
  std::condition_variable query_cv;
  std::deque<std::pair<std::string, std::function<void(cluster_node::gathered)>>> queries;
  bool query_stopping = false;
  std::thread query_worker;

  // Membership and shared tables: the beat thread, once a second.
  std::uint64_t incarnation = 0;
  std::uint64_t started_ns = 0;
  kvStore* nodes_kv = nullptr;  // beat thread (and the constructor, before it)
  kvStore* auth_kv = nullptr;   // beat thread
  bool beaten = false;          // this process has written its heartbeat
  struct share_entry {
    std::string name;
    std::function<std::string()> local;
    std::function<void(const std::vector<std::string>&)> others;
    std::string last_put;
    bool put_once = false;
    std::map<std::string, std::string> last_seen;  // the others' texts, by key
    std::chrono::steady_clock::time_point refreshed{};
  };
  std::map<std::string, std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> beats;  // beat thread
  std::mutex beat_mu;  // guards shares and nodes_seen
  std::condition_variable beat_cv;
  std::list<share_entry> shares;  // a list: beat_once keeps pointers while share() may add
  std::vector<cluster_node::node_info> nodes_seen;
  std::thread beat;
  std::atomic<bool> wants_events{false};
  struct sub_entry {
    std::function<void(const char*, int)> cb;
    natsSubscription* sub = nullptr;
    done_flag done;
  };
  // A list: libnats holds the entries' addresses. Added to before the
  // subscriptions' messages flow; stop() closes each (waiting for its
  // handler) before anything it uses goes.
  std::mutex subs_mu;
  std::list<sub_entry> subs;

  static void on_sub(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* e = static_cast<sub_entry*>(closure);
    e->cb(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
  }

  // Another live process with this node id would share its leases and
  // its release subject: refuse to start. Live means its heartbeat key
  // changes while we watch, so no clocks are compared. Skipped when
  // JetStream is not ready yet (a cluster just made).
  // Returns false when JetStream cannot tell yet (a cluster just made),
  // true when it could; `taken` says why the id is in use.
  bool check_node_id(std::string& taken) {
    if (!nodes_kv && open_bucket(kNodesBucket, &nodes_kv) != NATS_OK) {
      nodes_kv = nullptr;
      return false;
    }
    std::string v;
    std::uint64_t rev = 0, rev2 = 0;
    if (!get_text(nodes_kv, cfg.node_id, v, &rev)) return true;
    std::this_thread::sleep_for(kBeat * 5 / 2);
    if (!get_text(nodes_kv, cfg.node_id, v, &rev2) || rev2 == rev) return true;  // an old process's last beat
    cluster_node::node_info other;
    decode_node(v.data(), static_cast<int>(v.size()), other);
    taken = "another collector is running as node '" + cfg.node_id + "' (version " + other.version +
            ", its heartbeat changed while this one watched); give each collector its own cluster.node_id";
    return true;
  }
  bool node_id_checked = false;  // beat thread (and the constructor, before it)

  std::string encode_node() const {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("incarnation");
    w.Uint64(incarnation);
    w.Key("version");
    w.String(kVersion);
    w.Key("started_ns");
    w.Uint64(started_ns);
    w.Key("wall_ns");
    w.Uint64(wall_ns());
    w.Key("events");
    w.Bool(wants_events.load(std::memory_order_relaxed));
    if (!cfg.advertise.empty()) {
      w.Key("advertise");
      w.String(cfg.advertise.c_str(), static_cast<rapidjson::SizeType>(cfg.advertise.size()));
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
  }

  static bool decode_node(const void* data, int len, cluster_node::node_info& n) {
    json_object o;
    if (!o.parse(data, len)) return false;
    o.u64("incarnation", n.incarnation);
    o.u64("started_ns", n.started_ns);
    o.u64("wall_ns", n.wall_ns);
    o.str("version", n.version);
    o.flag("events", n.events);
    o.str("advertise", n.advertise);
    return true;
  }

  // A key's value as text; false when it is not there.
  static bool get_text(kvStore* k, const std::string& key, std::string& out, std::uint64_t* rev = nullptr) {
    kvEntry* e = nullptr;
    if (kvStore_Get(&e, k, key.c_str()) != NATS_OK) return false;
    out.assign(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e)));
    if (rev) *rev = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return true;
  }

  void beat_once() {
    if (!node_id_checked) {
      // NATS was not there at start: check now, before acting on anything.
      std::string taken;
      if (!check_node_id(taken)) return;
      node_id_checked = true;
      if (!taken.empty()) {
        spdlog::error("cluster: {}; this collector takes no sources until restarted with another id", taken);
        std::lock_guard lock(mu);
        fatal_why = taken;
        return;
      }
    }
    {
      std::lock_guard lock(mu);
      if (!fatal_why.empty()) return;
    }
    if (!nodes_kv && open_bucket(kNodesBucket, &nodes_kv) != NATS_OK) {
      nodes_kv = nullptr;
      return;
    }
    const std::string me = encode_node();
    std::uint64_t rev = 0;
    if (kvStore_Put(&rev, nodes_kv, cfg.node_id.c_str(), me.data(), static_cast<int>(me.size())) == NATS_OK)
      beaten = true;
    std::vector<std::string> ks;
    if (keys(kNodesBucket, "", ks) == NATS_OK) {
      std::vector<cluster_node::node_info> seen;
      const auto now = std::chrono::steady_clock::now();
      for (const auto& k : ks) {
        std::string v;
        cluster_node::node_info n;
        if (!get_text(nodes_kv, k, v, &n.revision) || !decode_node(v.data(), static_cast<int>(v.size()), n)) continue;
        n.node_id = k;
        // Live by this node's own clock: its heartbeat changed lately.
        auto& [rev_seen, changed] = beats[k];
        if (rev_seen != n.revision) {
          rev_seen = n.revision;
          changed = now;
        }
        n.live = now - changed < kNodeTimeout;
        seen.push_back(std::move(n));
      }
      std::lock_guard lock(beat_mu);
      nodes_seen = std::move(seen);
    }
    std::vector<share_entry*> todo;
    {
      std::lock_guard lock(beat_mu);
      for (auto& sh : shares) todo.push_back(&sh);  // shares only grow before the first beat
    }
    if (todo.empty()) return;
    if (!auth_kv && open_bucket(kAuthBucket, &auth_kv) != NATS_OK) {
      auth_kv = nullptr;
      return;
    }
    for (auto* sh : todo) {
      const std::string mine = sh->name + "." + cfg.node_id;
      const std::string text = sh->local();
      if (!sh->put_once || text != sh->last_put) {
        std::uint64_t r = 0;
        if (kvStore_Put(&r, auth_kv, mine.c_str(), text.data(), static_cast<int>(text.size())) == NATS_OK) {
          sh->last_put = text;
          sh->put_once = true;
        }
      }
      std::vector<std::string> theirs;
      if (keys(kAuthBucket, sh->name + ".", theirs) != NATS_OK) continue;
      // A read that fails keeps that node's last text: a NATS node dying
      // must not take the others' tokens away for a moment.
      std::map<std::string, std::string> now_texts;
      for (const auto& k : theirs) {
        if (k == mine) continue;
        std::string v;
        if (get_text(auth_kv, k, v)) now_texts[k] = std::move(v);
        else if (auto it = sh->last_seen.find(k); it != sh->last_seen.end()) now_texts[k] = it->second;
      }
      sh->last_seen = std::move(now_texts);
      sh->refreshed = std::chrono::steady_clock::now();
      hand_over(*sh);
    }
  }

  static void hand_over(share_entry& sh) {
    std::vector<std::string> texts;
    for (const auto& [k, v] : sh.last_seen) texts.push_back(v);
    sh.others(texts);
  }

  // Shared tables not refreshed for kShareStale are dropped: a collector
  // cut off from NATS must not keep accepting a token revoked elsewhere.
  void expire_shares() {
    std::vector<share_entry*> stale;
    {
      std::lock_guard lock(beat_mu);
      for (auto& sh : shares)
        if (!sh.last_seen.empty() && std::chrono::steady_clock::now() - sh.refreshed > kShareStale)
          stale.push_back(&sh);
    }
    for (auto* sh : stale) {
      spdlog::warn("cluster: the other collectors' {} are {} s old; not using them until NATS answers again",
                   sh->name, std::chrono::duration_cast<std::chrono::seconds>(kShareStale).count());
      sh->last_seen.clear();
      hand_over(*sh);
    }
  }

  void beat_loop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      beat_cv.wait_for(lock, kBeat);
      if (stopping) break;
      const bool up = connected;
      lock.unlock();
      if (up) beat_once();
      expire_shares();
      lock.lock();
    }
  }

  void close_nats() {
    if (kv) kvStore_Destroy(kv);
    kv = nullptr;
    if (js) jsCtx_Destroy(js);
    js = nullptr;
    if (nc) {
      // The closed callback runs after the disconnected one, on libnats'
      // thread: once it has, neither touches this object again.
      natsConnection_Close(nc);
      if (!closed.wait(std::chrono::seconds(5))) spdlog::warn("cluster: NATS did not report the connection closed");
      natsConnection_Destroy(nc);
    }
    nc = nullptr;
    if (opts) natsOptions_Destroy(opts);
    opts = nullptr;
  }

  bool reachable_now() {
    std::lock_guard lock(mu);
    return connected;
  }

  bool stopping_now() {
    std::lock_guard lock(mu);
    return stopping;
  }

  std::string subject_ctl(const std::string& node) const { return "hopwire.ctl." + node; }

  std::string why_unreachable_locked() const {
    if (!connected)
      return cfg.node_id + " cannot reach the cluster (NATS unreachable" +
             (down_since.empty() ? std::string(" since start") : " since " + down_since) + "); try another collector";
    if (!fatal_why.empty()) return cfg.node_id + " takes no sources: " + fatal_why;
    return cfg.node_id + " cannot use the cluster (" + (kv_why.empty() ? std::string("not ready yet") : kv_why) +
           "); try another collector";
  }

  static void on_closed(natsConnection*, void* self) { static_cast<impl*>(self)->closed.set(); }

  static void on_disconnected(natsConnection*, void* self) {
    auto* p = static_cast<impl*>(self);
    {
      std::lock_guard lock(p->mu);
      if (!p->connected) return;
      p->connected = false;
      p->down_since = utc_text(wall_ns());
    }
    spdlog::warn("cluster: lost the NATS connection; sources cannot be claimed or committed until it is back");
  }
  static void on_connected(natsConnection* nc, void* self) {
    auto* p = static_cast<impl*>(self);
    char url[256] = {};
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    {
      std::lock_guard lock(p->mu);
      p->connected = true;
      p->down_since.clear();
    }
    p->cv.notify_all();
    spdlog::info("cluster: connected to NATS at {} as node {}", url, p->cfg.node_id);
  }
  static void on_ctl(natsConnection* nc, natsSubscription*, natsMsg* msg, void* self) {
    auto* p = static_cast<impl*>(self);
    rapidjson::Document d;
    d.Parse(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    std::string answer = "{\"ok\":false,\"why\":\"unknown request\"}";
    if (!d.HasParseError() && d.IsObject() && d.HasMember("release") && d["release"].IsString()) {
      const std::string uuid = d["release"].GetString();
      std::uint64_t epoch = 0, boot = 0;
      if (d.HasMember("epoch") && d["epoch"].IsUint64()) epoch = d["epoch"].GetUint64();
      if (d.HasMember("boot_id") && d["boot_id"].IsUint64()) boot = d["boot_id"].GetUint64();
      bool newer = false;
      {
        std::lock_guard lock(p->mu);
        // A late request, about a claim this node has made since, changes nothing.
        const auto it = p->owned.find(uuid);
        newer = it != p->owned.end() && it->second.rec.epoch > epoch;
      }
      using release_answer = cluster_node::release_answer;
      release_answer a = release_answer::none;
      if (!newer) {
        std::lock_guard lock(p->release_mu);
        if (p->release) a = p->release(uuid, boot);
      }
      if (!newer && a != release_answer::busy) {
        std::lock_guard lock(p->mu);
        if (auto it = p->owned.find(uuid); it != p->owned.end() && it->second.rec.epoch <= epoch) p->owned.erase(it);
        ++p->n_releases;
      }
      spdlog::info("cluster: another collector claims source {}; {}", uuid,
                   newer                          ? "this one has claimed it since; ignored"
                   : a == release_answer::busy    ? "refused: a sensor of another boot streams it here"
                   : a == release_answer::released ? "closed its link here"
                                                   : "it had no link here");
      answer = std::string("{\"ok\":true,\"busy\":") + (a == release_answer::busy || newer ? "true" : "false") +
               ",\"had_link\":" + (a == release_answer::released ? "true" : "false") + "}";
    }
    if (const char* reply = natsMsg_GetReply(msg))
      natsConnection_Publish(nc, reply, answer.data(), static_cast<int>(answer.size()));
    natsMsg_Destroy(msg);
  }

  std::string subject_query(const std::string& node) const { return "hopwire.query." + node; }

  // Each part of an answer goes out as [seq u32][flags u8][bytes]; flag 1
  // ends the answer, flag 2 makes the bytes its error.
  static std::string query_part(std::uint32_t seq, std::uint8_t flags, std::string_view bytes) {
    std::string m(5, '\0');
    std::memcpy(m.data(), &seq, 4);
    m[4] = static_cast<char>(flags);
    m.append(bytes);
    return m;
  }
  // Runs this node's answer to `request`, handing each part to `out`; an
  // error (or no answer function) becomes an error part.
  void run_answer(const std::string& request, const std::function<void(std::uint8_t, std::string_view)>& out) {
    // Not under answer_mu: answers may run at once (this node's own and
    // another's). stop() waits for both kinds before the tracker goes:
    // it joins the query thread and closes the subscription.
    std::function<void(const std::string&, const cluster_node::query_send&)> fn;
    {
      std::lock_guard lock(answer_mu);
      fn = answer;
    }
    std::string error;
    if (!fn) {
      error = cfg.node_id + " answers no fleet queries";
    } else {
      try {
        fn(request, [&](std::string_view part) { out(0, part); });
      } catch (const std::exception& e) {
        error = *e.what() ? e.what() : "its answer failed";
      }
    }
    if (error.empty()) out(1, {});
    else out(2, error);
  }
  static void on_query(natsConnection* nc, natsSubscription*, natsMsg* msg, void* self) {
    auto* p = static_cast<impl*>(self);
    if (const char* reply = natsMsg_GetReply(msg)) {
      const std::string request(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
      const std::string to = reply;
      std::uint32_t seq = 0;
      bool failed = false;
      p->run_answer(request, [&](std::uint8_t flags, std::string_view bytes) {
        if (failed) return;
        const std::string m = query_part(seq++, flags, bytes);
        if (natsConnection_Publish(nc, to.c_str(), m.data(), static_cast<int>(m.size())) != NATS_OK) failed = true;
      });
    }
    natsMsg_Destroy(msg);
  }

  // Binds to a bucket, making it when no collector has yet.
  natsStatus open_bucket(const char* name, kvStore** out) {
    natsStatus st = js_KeyValue(out, js, name);
    if (st == NATS_NOT_FOUND) {
      kvConfig kc;
      kvConfig_Init(&kc);
      kc.Bucket = name;
      kc.History = 1;
      kc.Replicas = cfg.replicas;
      kc.StorageType = js_FileStorage;
      st = js_CreateKeyValue(out, js, &kc);
    }
    return st;
  }

  // The keys of a bucket under `prefix` (e.g. "tokens."), from the stream's
  // subject list (answered by the stream's leader), not kvStore_Keys: that
  // makes a consumer, which times out for as long as a dead NATS node is
  // still counted as a peer.
  natsStatus keys(const char* bucket, const std::string& prefix, std::vector<std::string>& out) {
    jsOptions o;
    jsOptions_Init(&o);
    const std::string head = std::string("$KV.") + bucket + ".";
    const std::string filter = head + (prefix.empty() ? ">" : prefix + ">");
    o.Stream.Info.SubjectsFilter = filter.c_str();
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus st = js_GetStreamInfo(&si, js, (std::string("KV_") + bucket).c_str(), &o, &jerr);
    if (st != NATS_OK) return st;
    if (si->State.Subjects)
      for (int i = 0; i < si->State.Subjects->Count; ++i)
        out.emplace_back(si->State.Subjects->List[i].Subject + head.size());
    jsStreamInfo_Destroy(si);
    return NATS_OK;
  }

  bool ensure_bucket() {
    if (kv) return true;
    kvStore* k = nullptr;
    natsStatus st = open_bucket(kSourcesBucket, &k);
    std::lock_guard lock(mu);
    if (st != NATS_OK) {
      kv_why = "bucket " + std::string(kSourcesBucket) + ": " + nats_text(st);
      return false;
    }
    kv = k;
    kv_why.clear();
    return true;
  }

  // The record of `uuid` as stored; revision 0 when there is none.
  natsStatus read(const std::string& uuid, cluster_source_record& rec) {
    rec = {};
    rec.uuid = uuid;
    kvEntry* e = nullptr;
    const natsStatus st = kvStore_Get(&e, kv, uuid.c_str());
    if (st == NATS_NOT_FOUND) return NATS_OK;
    if (st != NATS_OK) return st;
    decode(kvEntry_Value(e), kvEntry_ValueLen(e), rec);
    rec.revision = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return NATS_OK;
  }

  // Writes `rec` on the revision it was read at; sets its new revision.
  natsStatus write(cluster_source_record& rec) {
    const std::string v = encode(rec);
    std::uint64_t rev = 0;
    const natsStatus st = rec.revision == 0
                              ? kvStore_Create(&rev, kv, rec.uuid.c_str(), v.data(), static_cast<int>(v.size()))
                              : kvStore_Update(&rev, kv, rec.uuid.c_str(), v.data(), static_cast<int>(v.size()),
                                               rec.revision);
    if (st == NATS_OK) rec.revision = rev;
    return st;
  }

  cluster_claim_result do_claim(const claim_job& j) {
    cluster_claim_result res;
    {
      std::lock_guard lock(mu);
      if (!connected || !kv || !fatal_why.empty()) {
        res.why = why_unreachable_locked();
        return res;
      }
    }
    bool asked = false;
    // JetStream answers "no responders" or times out while a stream elects
    // a leader (a NATS node died): that is retried until commit_timeout
    // from when the sensor asked.
    const auto give_up = j.queued + cfg.commit_timeout;
    auto transient = [&](natsStatus st, const std::string& what) {
      if (std::chrono::steady_clock::now() < give_up && !stopping_now()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        return true;
      }
      res.why = cfg.node_id + " cannot " + what + " source " + j.uuid + " in the cluster: " + nats_text(st) +
                "; try another collector";
      return false;
    };
    for (int attempt = 0; attempt < kClaimAttempts;) {
      cluster_source_record rec;
      natsStatus st = read(j.uuid, rec);
      if (st != NATS_OK) {
        if (transient(st, "read")) continue;
        return res;
      }
      if (!rec.owner.empty() && rec.owner != cfg.node_id && !asked) {
        // Ask the owner to let go. "No responders" comes at once when it is
        // dead or off NATS; a live one closes its link first.
        asked = true;
        const std::string body = "{\"release\":\"" + j.uuid + "\",\"epoch\":" + std::to_string(rec.epoch) +
                                 ",\"boot_id\":" + std::to_string(j.boot_id) + "}";
        natsMsg* reply = nullptr;
        st = natsConnection_Request(&reply, nc, subject_ctl(rec.owner).c_str(), body.data(),
                                    static_cast<int>(body.size()), static_cast<int64_t>(cfg.release_timeout.count()));
        if (st == NATS_OK) {
          json_object o;
          bool busy = false;
          if (o.parse(natsMsg_GetData(reply), natsMsg_GetDataLength(reply))) o.flag("busy", busy);
          natsMsg_Destroy(reply);
          if (busy) {
            res.busy = true;
            res.why = "source " + j.uuid + " is live on collector " + rec.owner +
                      " from another sensor process (another boot); each source UUID may have one live link";
            return res;
          }
          res.released_by = rec.owner;
        } else {
          spdlog::info("cluster: source {}: its owner {} did not answer the release ({}); taking it over", j.uuid,
                       rec.owner, natsStatus_GetText(st));
        }
        continue;  // read again: the owner may have written since
      }
      cluster_source_record next = rec;
      next.owner = cfg.node_id;
      ++next.epoch;
      if (next.boot_id != j.boot_id) {
        // A new sensor boot numbers its batches from 1 again.
        next.boot_id = j.boot_id;
        next.last_seq = 0;
      }
      st = write(next);
      if (st == NATS_OK) {
        std::lock_guard lock(mu);
        owned[j.uuid] = held{next};
        ++n_claims;
        res.ok = true;
        res.rec = next;
        return res;
      }
      if (!wrong_revision(st)) {
        if (transient(st, "write")) continue;
        return res;
      }
      // Someone wrote between our read and write: read again.
      ++attempt;
    }
    res.why = "source " + j.uuid + " is being claimed by another collector at the same time; try again";
    return res;
  }

  // One source's waiting commit; returns false to keep it for a retry.
  bool do_commit(const std::string& uuid, pending_commit& c) {
    cluster_source_record rec;
    {
      std::lock_guard lock(mu);
      const auto it = owned.find(uuid);
      if (it == owned.end()) {
        finish(c, false, "source " + uuid + " is no longer held by " + cfg.node_id);
        return true;
      }
      rec = it->second.rec;
      if (rec.epoch != c.epoch) {
        finish(c, false, "source " + uuid + " was claimed again here (epoch " + std::to_string(rec.epoch) + ")");
        return true;
      }
      if (!connected) return false;
    }
    if (rec.last_seq == c.last_seq && rec.num_packets == c.packets && rec.num_error_packets == c.errors) {
      finish(c, true, {});
      return true;
    }
    cluster_source_record next = rec;
    next.last_seq = c.last_seq;
    next.num_packets = c.packets;
    next.num_error_packets = c.errors;
    natsStatus st = write(next);
    if (st != NATS_OK && wrong_revision(st)) {
      // Lost, or our own earlier try landed and only its answer was lost:
      // then the record is still ours at this epoch (only this node's
      // commits of this claim write it), and the newest values go on top.
      cluster_source_record now;
      if (read(uuid, now) == NATS_OK && now.owner == cfg.node_id && now.epoch == rec.epoch) {
        next.revision = now.revision;
        st = write(next);
      }
      if (st == NATS_OK || !wrong_revision(st)) {
        // written, or a plain failure to retry
      } else {
        std::string why = "source " + uuid + " was taken over by " +
                          (now.owner.empty() ? std::string("another collector") : "collector " + now.owner) +
                          " (epoch " + std::to_string(now.epoch) + ")";
        {
          std::lock_guard lock(mu);
          owned.erase(uuid);
          ++n_lost;
        }
        finish(c, false, why);
        return true;
      }
    }
    if (st != NATS_OK) {
      c.last_error = nats_text(st);
      std::lock_guard lock(mu);
      ++n_retries;
      return false;
    }
    {
      std::lock_guard lock(mu);
      if (auto it = owned.find(uuid); it != owned.end()) it->second.rec = next;
      ++n_commits;
    }
    finish(c, true, {});
    return true;
  }

  static void finish(pending_commit& c, bool ok, const std::string& why) {
    for (auto& f : c.done) f(ok, why);
    c.done.clear();
  }

  // Claims on a thread of their own: one that waits for an old owner's
  // answer or a stream's new leader holds up no other source's commits.
  void run_claims() {
    std::unique_lock lock(mu);
    while (!stopping) {
      if (claims.empty()) {
        claim_cv.wait(lock);
        continue;
      }
      auto j = std::move(claims.front());
      claims.pop_front();
      lock.unlock();
      auto res = do_claim(j);
      j.done(std::move(res));
      lock.lock();
    }
  }

  // Commits, and opening the sources bucket once NATS is there.
  void run() {
    std::unique_lock lock(mu);
    while (!stopping) {
      if (!kv && connected) {
        lock.unlock();
        const bool ok = ensure_bucket();
        lock.lock();
        if (!ok) {
          cv.wait_for(lock, std::chrono::milliseconds(500));
          continue;
        }
      }
      if (!commits.empty()) {
        auto batch = std::move(commits);
        commits.clear();
        lock.unlock();
        std::map<std::string, pending_commit> again;
        for (auto& [uuid, c] : batch) {
          if (c.first_try == std::chrono::steady_clock::time_point{}) c.first_try = std::chrono::steady_clock::now();
          if (do_commit(uuid, c)) continue;
          if (std::chrono::steady_clock::now() - c.first_try >= cfg.commit_timeout) {
            std::string why;
            {
              std::lock_guard l2(mu);
              if (auto it = owned.find(uuid); it != owned.end() && it->second.rec.epoch == c.epoch) owned.erase(it);
              why = fmt::format("cannot record source {} in the cluster for {:.1f} s ({}): {}", uuid,
                                cfg.commit_timeout.count() / 1000.0,
                                c.last_error.empty() ? std::string("not connected") : c.last_error,
                                connected ? std::string("try another collector") : why_unreachable_locked());
            }
            finish(c, false, why);
            continue;
          }
          again.emplace(uuid, std::move(c));
        }
        lock.lock();
        // Newer values that arrived meanwhile go on top of the retried ones
        // (a newer claim's replace them: the old link is gone).
        std::vector<pending_commit> stale;
        for (auto& [uuid, c] : again) {
          auto [it, fresh] = commits.try_emplace(uuid, std::move(c));
          if (!fresh && it->second.epoch != c.epoch) {
            stale.push_back(std::move(c));
          } else if (!fresh) {
            auto& newer = it->second;
            newer.first_try = c.first_try;
            newer.last_error = c.last_error;
            newer.done.insert(newer.done.begin(), std::make_move_iterator(c.done.begin()),
                              std::make_move_iterator(c.done.end()));
          }
        }
        if (!stale.empty()) {
          lock.unlock();
          for (auto& c : stale) finish(c, false, "the source was claimed again here");
          lock.lock();
        }
        if (!again.empty()) cv.wait_for(lock, kRetryPause);
        continue;
      }
      cv.wait(lock);
    }
  }
};

cluster_node::cluster_node(const cluster_config& cfg) : p_(std::make_unique<impl>()) {
  p_->cfg = cfg;
  p_->password = read_secret(cfg.password_file);
  auto check = [](natsStatus st, const std::string& what) {
    if (st != NATS_OK) throw std::runtime_error("cluster: " + what + ": " + nats_text(st));
  };
  check(natsOptions_Create(&p_->opts), "NATS options");
  std::vector<const char*> urls;
  bool tls = false;
  for (const auto& s : cfg.servers) {
    urls.push_back(s.c_str());
    tls = tls || s.rfind("tls://", 0) == 0;
  }
  check(natsOptions_SetServers(p_->opts, urls.data(), static_cast<int>(urls.size())), "cluster.servers");
  check(natsOptions_SetUserInfo(p_->opts, cfg.user.c_str(), p_->password.c_str()), "cluster.user");
  if (tls) {
    check(natsOptions_SetSecure(p_->opts, true), "TLS");
    if (!cfg.ca_file.empty())
      check(natsOptions_LoadCATrustedCertificates(p_->opts, cfg.ca_file.c_str()), "cluster.ca_file " + cfg.ca_file);
    if (!cfg.cert_file.empty())
      check(natsOptions_LoadCertificatesChain(p_->opts, cfg.cert_file.c_str(), cfg.key_file.c_str()),
            "cluster.cert_file/key_file");
  }
  // A partition must show within seconds, not libnats' default of minutes.
  natsOptions_SetPingInterval(p_->opts, 1000);
  natsOptions_SetMaxPingsOut(p_->opts, 3);
  natsOptions_SetTimeout(p_->opts, 2000);
  natsOptions_SetMaxReconnect(p_->opts, -1);
  natsOptions_SetReconnectWait(p_->opts, 250);
  natsOptions_SetSendAsap(p_->opts, true);
  // Only the servers listed, in their order (the nearest first): a collector
  // cut off from them is cut off, whatever else the cluster gossips.
  natsOptions_SetIgnoreDiscoveredServers(p_->opts, true);
  natsOptions_SetNoRandomize(p_->opts, true);
  // Its own event-bus publications are not news to it.
  natsOptions_SetNoEcho(p_->opts, true);
  natsOptions_SetName(p_->opts, ("hopwire-collector " + cfg.node_id).c_str());
  natsOptions_SetDisconnectedCB(p_->opts, &impl::on_disconnected, p_.get());
  natsOptions_SetClosedCB(p_->opts, &impl::on_closed, p_.get());
  natsOptions_SetReconnectedCB(p_->opts, &impl::on_connected, p_.get());
  natsOptions_SetRetryOnFailedConnect(p_->opts, true, &impl::on_connected, p_.get());
  const natsStatus st = natsConnection_Connect(&p_->nc, p_->opts);
  if (st == NATS_OK) {
    impl::on_connected(p_->nc, p_.get());
  } else if (st == NATS_NOT_YET_CONNECTED) {
    spdlog::warn("cluster: NATS is not reachable yet ({}); retrying in the background", cfg.servers.front());
    std::lock_guard lock(p_->mu);
    p_->down_since = utc_text(wall_ns());
  } else {
    const std::string why = nats_text(st);
    p_->close_nats();
    throw std::runtime_error("cluster: cannot connect to NATS: " + why);
  }
  {
    std::random_device rd;
    p_->incarnation = (std::uint64_t(rd()) << 32) ^ rd();
    p_->started_ns = wall_ns();
  }
  try {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 2000;
    check(natsConnection_JetStream(&p_->js, p_->nc, &jo), "JetStream");
    check(natsConnection_Subscribe(&p_->ctl, p_->nc, p_->subject_ctl(cfg.node_id).c_str(), &impl::on_ctl, p_.get()),
          "subscribing to " + p_->subject_ctl(cfg.node_id));
    natsSubscription_SetOnCompleteCB(p_->ctl, &done_flag::on_done, &p_->ctl_done);
    check(natsConnection_Subscribe(&p_->query_sub, p_->nc, p_->subject_query(cfg.node_id).c_str(), &impl::on_query,
                                   p_.get()),
          "subscribing to " + p_->subject_query(cfg.node_id));
    natsSubscription_SetOnCompleteCB(p_->query_sub, &done_flag::on_done, &p_->query_done);
    // Another live process with this node id would share its claims and
    // its release subject: refuse to start. Live means its heartbeat key
    // changes while this one watches, so no clocks are compared. When
    // NATS is not there yet, the beat thread checks on first contact.
    if (st == NATS_OK) {
      std::string taken;
      p_->node_id_checked = p_->check_node_id(taken);
      if (!taken.empty()) throw std::runtime_error("cluster: " + taken);
    }
  } catch (...) {
    stop();
    p_->close_nats();
    throw;
  }
  p_->worker = std::thread([this] { p_->run(); });
  p_->claimer = std::thread([this] { p_->run_claims(); });
  p_->beat = std::thread([this] { p_->beat_loop(); });
  p_->status_reader = std::thread([this] { status_loop(); });
  p_->query_worker = std::thread([this] { query_loop(); });
}

void cluster_node::serve(std::function<void(const std::string&, const query_send&)> answer) {
  std::lock_guard lock(p_->answer_mu);
  p_->answer = std::move(answer);
}

std::string cluster_node::gather_async(std::string request, std::function<void(gathered)> done) {
  {
    std::lock_guard lock(p_->query_mu);
    if (p_->query_stopping) return "the collector is stopping";
    if (p_->queries.size() >= impl::kMaxQueriesWaiting) return "too many fleet queries are waiting; try again";
    p_->queries.emplace_back(std::move(request), std::move(done));
  }
  p_->query_cv.notify_one();
  return {};
}

void cluster_node::query_loop() {
  std::unique_lock lock(p_->query_mu);
  while (true) {
    p_->query_cv.wait(lock, [this] { return p_->query_stopping || !p_->queries.empty(); });
    if (p_->query_stopping) return;
    auto q = std::move(p_->queries.front());
    p_->queries.pop_front();
    lock.unlock();
    q.second(gather(q.first));
    lock.lock();
  }
}

cluster_node::gathered cluster_node::gather(const std::string& request) {
  gathered g;
  if (!reachable()) {
    g.why = unreachable_why();
    return g;
  }
  std::vector<std::string> others;
  {
    std::lock_guard lock(p_->beat_mu);
    for (const auto& n : p_->nodes_seen)
      if (n.live && n.node_id != p_->cfg.node_id) others.push_back(n.node_id);
  }
  std::sort(others.begin(), others.end());
  others.erase(std::unique(others.begin(), others.end()), others.end());

  // One inbox and subscription per node: NATS's "no responders" (a node
  // gone since its last heartbeat) then says which node it is about.
  struct pending {
    std::string node;
    natsSubscription* sub = nullptr;
    std::vector<std::string> parts;
    std::uint32_t next = 0;
    bool done = false;
    std::string why;
    std::chrono::steady_clock::time_point heard = std::chrono::steady_clock::now();
  };
  std::vector<pending> asked;
  for (const auto& n : others) {
    auto& a = asked.emplace_back();
    a.node = n;
    natsInbox* inbox = nullptr;
    natsStatus st = natsInbox_Create(&inbox);
    if (st == NATS_OK) st = natsConnection_SubscribeSync(&a.sub, p_->nc, inbox);
    // The whole answer may be queued here before this thread reads it.
    if (st == NATS_OK) st = natsSubscription_SetPendingLimits(a.sub, -1, 512 << 20);
    if (st == NATS_OK)
      st = natsConnection_PublishRequest(p_->nc, p_->subject_query(n).c_str(), inbox, request.data(),
                                         static_cast<int>(request.size()));
    if (inbox) natsInbox_Destroy(inbox);
    if (st != NATS_OK) a.done = true, a.why = "could not ask it: " + nats_text(st);
  }
  if (!asked.empty()) natsConnection_FlushTimeout(p_->nc, 2000);
  // This node's own share, while the others work on theirs.
  {
    gathered::share mine{p_->cfg.node_id, {}};
    std::string error;
    p_->run_answer(request, [&](std::uint8_t flags, std::string_view bytes) {
      if (flags == 0) mine.parts.emplace_back(bytes);
      if (flags == 2) error.assign(bytes);
    });
    if (error.empty()) g.answered.push_back(std::move(mine));
    else g.missing.emplace_back(p_->cfg.node_id, error);
  }
  // The others: an answer may take long, but its first part must come
  // within 5 s (a collector answers one request at a time: another
  // asker's may be ahead) and each next one within 2 s.
  constexpr auto kFirst = std::chrono::seconds(5), kIdle = std::chrono::seconds(2);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (auto& a : asked) a.heard = std::chrono::steady_clock::now();
  while (true) {
    bool open = false, progressed = false;
    const auto now = std::chrono::steady_clock::now();
    for (auto& a : asked) {
      if (a.done) continue;
      int queued = 0;
      natsSubscription_GetPending(a.sub, &queued, nullptr);
      if (now > give_up) {
        a.done = true, a.why = "its answer took more than 60 s";
        continue;
      }
      if (queued <= 0) {
        if (a.next == 0 && now - a.heard > kFirst) a.done = true, a.why = "did not answer within 5 s";
        else if (a.next > 0 && now - a.heard > kIdle) a.done = true, a.why = "its answer stalled for 2 s";
        open |= !a.done;
        continue;
      }
      natsMsg* m = nullptr;
      const natsStatus st = natsSubscription_NextMsg(&m, a.sub, 100);
      progressed = true;
      a.heard = now;
      if (st == NATS_NO_RESPONDERS) {
        a.done = true, a.why = "is not answering on " + p_->subject_query(a.node) + " (gone since its heartbeat)";
      } else if (st != NATS_OK) {
        a.done = true, a.why = "its answer was cut off: " + nats_text(st);
      } else {
        const int len = natsMsg_GetDataLength(m);
        const char* data = natsMsg_GetData(m);
        std::uint32_t seq = 0;
        if (len < 5) {
          a.done = true, a.why = "sent a part too short to read";
        } else if (std::memcpy(&seq, data, 4), seq != a.next) {
          a.done = true, a.why = "parts of its answer were lost (NATS dropped them: a slow consumer)";
        } else {
          ++a.next;
          const auto flags = static_cast<std::uint8_t>(data[4]);
          if (flags & 2) {
            a.done = true;
            a.why.assign(data + 5, static_cast<std::size_t>(len - 5));
            if (a.why.empty()) a.why = "its answer failed";
          }
          else if (flags & 1) a.done = true;
          else a.parts.emplace_back(data + 5, static_cast<std::size_t>(len - 5));
        }
        natsMsg_Destroy(m);
      }
      open |= !a.done;
    }
    if (!open) break;
    {
      std::lock_guard lock(p_->query_mu);
      if (p_->query_stopping) {
        for (auto& a : asked)
          if (!a.done) a.done = true, a.why = "the collector is stopping";
        break;
      }
    }
    if (!progressed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& a : asked) {
    if (!a.sub) continue;
    natsSubscription_Unsubscribe(a.sub);
    natsSubscription_Destroy(a.sub);
    a.sub = nullptr;
  }
  for (auto& a : asked) {
    if (a.why.empty()) g.answered.push_back({a.node, std::move(a.parts)});
    else g.missing.emplace_back(a.node, a.why);
  }
  std::sort(g.answered.begin(), g.answered.end(),
            [](const gathered::share& x, const gathered::share& y) { return x.node < y.node; });
  return g;
}

void cluster_node::status_loop() {
  std::unique_lock lock(p_->status_mu);
  while (true) {
    p_->status_cv.wait(lock, [this] { return p_->status_stopping || !p_->status_waiting.empty(); });
    if (p_->status_stopping) return;
    auto waiting = std::move(p_->status_waiting);
    p_->status_waiting.clear();
    lock.unlock();
    const status s = read_status();
    for (auto& done : waiting) done(s);
    lock.lock();
  }
}

std::string cluster_node::read_status_async(std::function<void(status)> done) {
  {
    std::lock_guard lock(p_->status_mu);
    if (p_->status_stopping) return "the collector is stopping";
    if (p_->status_waiting.size() >= impl::kMaxStatusWaiting)
      return "too many status requests are waiting for NATS; try again";
    p_->status_waiting.push_back(std::move(done));
  }
  p_->status_cv.notify_one();
  return {};
}

void cluster_node::stop() {
  {
    std::lock_guard lock(p_->mu);
    p_->stopping = true;
  }
  p_->cv.notify_all();
  p_->claim_cv.notify_all();
  p_->beat_cv.notify_all();
  if (p_->worker.joinable()) p_->worker.join();
  if (p_->claimer.joinable()) p_->claimer.join();
  if (p_->beat.joinable()) p_->beat.join();
  std::vector<std::function<void(status)>> unanswered;
  {
    std::lock_guard lock(p_->status_mu);
    p_->status_stopping = true;
    unanswered = std::move(p_->status_waiting);
    p_->status_waiting.clear();
  }
  p_->status_cv.notify_all();
  if (p_->status_reader.joinable()) p_->status_reader.join();
  std::deque<std::pair<std::string, std::function<void(gathered)>>> unasked;
  {
    std::lock_guard lock(p_->query_mu);
    p_->query_stopping = true;
    unasked = std::move(p_->queries);
    p_->queries.clear();
  }
  p_->query_cv.notify_all();
  if (p_->query_worker.joinable()) p_->query_worker.join();
  for (auto& q : unasked) {
    gathered g;
    g.why = "the collector is stopping";
    q.second(std::move(g));
  }
  for (auto& done : unanswered) {
    status s = counters();
    s.why = "the collector is stopping";
    done(std::move(s));
  }
  if (p_->nodes_kv) {
    // Gone cleanly: others need not wait for silence to know it.
    if (p_->beaten && p_->reachable_now()) kvStore_Delete(p_->nodes_kv, p_->cfg.node_id.c_str());
    kvStore_Destroy(p_->nodes_kv);
    p_->nodes_kv = nullptr;
  }
  if (p_->auth_kv) {
    kvStore_Destroy(p_->auth_kv);
    p_->auth_kv = nullptr;
  }
  close_subscription(p_->ctl, p_->ctl_done);
  close_subscription(p_->query_sub, p_->query_done);
  {
    std::lock_guard lock(p_->answer_mu);
    p_->answer = nullptr;
  }
  {
    std::lock_guard lock(p_->subs_mu);
    for (auto& e : p_->subs) close_subscription(e.sub, e.done);
  }
  {
    std::lock_guard lock(p_->release_mu);
    p_->release = nullptr;
  }
  std::lock_guard lock(p_->mu);
  p_->claims.clear();
  p_->commits.clear();
}

cluster_node::~cluster_node() {
  stop();
  p_->close_nats();
}

const std::string& cluster_node::node_id() const { return p_->cfg.node_id; }

void cluster_node::claim(const std::string& uuid, std::uint64_t boot_id,
                         std::function<void(cluster_claim_result)> done) {
  {
    std::lock_guard lock(p_->mu);
    p_->claims.push_back({uuid, boot_id, std::move(done)});
  }
  p_->claim_cv.notify_all();
}

void cluster_node::commit(const std::string& uuid, std::uint64_t epoch, std::uint64_t last_seq,
                          std::uint64_t num_packets, std::uint64_t num_error_packets,
                          std::function<void(bool, std::string)> done) {
  impl::pending_commit stale;
  {
    std::lock_guard lock(p_->mu);
    auto& c = p_->commits[uuid];
    if (!c.done.empty() && c.epoch != epoch) {
      stale = std::move(c);
      c = {};
    }
    c.epoch = epoch;
    c.last_seq = last_seq;
    c.packets = num_packets;
    c.errors = num_error_packets;
    c.done.push_back(std::move(done));
  }
  impl::finish(stale, false, "the source was claimed again here");
  p_->cv.notify_all();
}

void cluster_node::share(const std::string& name, std::function<std::string()> local,
                         std::function<void(const std::vector<std::string>&)> others) {
  std::lock_guard lock(p_->beat_mu);
  p_->shares.push_back({name, std::move(local), std::move(others), {}, false, {}});
}

void cluster_node::publish(const std::string& subject, const std::string& data) {
  if (!p_->nc) return;
  natsConnection_Publish(p_->nc, subject.c_str(), data.data(), static_cast<int>(data.size()));
}

void cluster_node::subscribe(const std::string& subject, std::function<void(const char*, int)> cb) {
  std::lock_guard lock(p_->subs_mu);
  auto& e = p_->subs.emplace_back();
  e.cb = std::move(cb);
  if (const natsStatus st = natsConnection_Subscribe(&e.sub, p_->nc, subject.c_str(), &impl::on_sub, &e);
      st != NATS_OK) {
    spdlog::error("cluster: cannot subscribe to {}: {}", subject, nats_text(st));
    e.sub = nullptr;
    return;
  }
  natsSubscription_SetOnCompleteCB(e.sub, &done_flag::on_done, &e.done);
}

std::string cluster_node::owner_of(const std::string& uuid) {
  {
    std::lock_guard lock(p_->mu);
    if (!p_->connected || !p_->kv) return {};
  }
  cluster_source_record r;
  if (p_->read(uuid, r) != NATS_OK) return {};
  return r.owner;
}

std::string cluster_node::advertise_of(const std::string& node) const {
  std::lock_guard lock(p_->beat_mu);
  for (const auto& n : p_->nodes_seen)
    if (n.node_id == node) return n.advertise;
  return {};
}

void cluster_node::set_wants_events(bool wants) { p_->wants_events.store(wants, std::memory_order_relaxed); }

bool cluster_node::others_want_events() const {
  std::lock_guard lock(p_->beat_mu);
  for (const auto& n : p_->nodes_seen)
    if (n.node_id != p_->cfg.node_id && n.events && n.live) return true;
  return false;
}

void cluster_node::forget(const std::string& uuid, std::uint64_t epoch) {
  std::lock_guard lock(p_->mu);
  if (auto it = p_->owned.find(uuid); it != p_->owned.end() && it->second.rec.epoch == epoch) p_->owned.erase(it);
}

void cluster_node::on_release(std::function<release_answer(const std::string&, std::uint64_t)> release) {
  std::lock_guard lock(p_->release_mu);
  p_->release = std::move(release);
}

bool cluster_node::reachable() const {
  std::lock_guard lock(p_->mu);
  return p_->connected && p_->kv && p_->fatal_why.empty();
}

std::string cluster_node::unreachable_why() const {
  std::lock_guard lock(p_->mu);
  return p_->why_unreachable_locked();
}

cluster_node::status cluster_node::counters() const {
  status s;
  s.node_id = p_->cfg.node_id;
  s.incarnation = p_->incarnation;
  {
    std::lock_guard lock(p_->mu);
    s.connected = p_->connected;
    s.claims = p_->n_claims;
    s.commits = p_->n_commits;
    s.commit_retries = p_->n_retries;
    s.lost = p_->n_lost;
    s.releases = p_->n_releases;
    if (!p_->connected || !p_->kv || !p_->fatal_why.empty()) s.why = p_->why_unreachable_locked();
  }
  {
    std::lock_guard lock(p_->beat_mu);
    s.nodes = p_->nodes_seen;
  }
  char url[256] = {};
  if (natsConnection_GetConnectedUrl(p_->nc, url, sizeof url) == NATS_OK) s.server = url;
  return s;
}

cluster_node::status cluster_node::read_status() {
  status s = counters();
  if (!s.why.empty()) return s;
  std::vector<std::string> ks;
  if (const natsStatus st = p_->keys(kSourcesBucket, "", ks); st != NATS_OK) {
    s.why = "listing the sources: " + nats_text(st);
    return s;
  }
  // The first failed read ends the answer, saying so: a hung NATS would
  // otherwise cost its timeout once per source.
  for (const auto& k : ks) {
    cluster_source_record r;
    if (const natsStatus st = p_->read(k, r); st != NATS_OK) {
      s.why = "reading source " + k + ": " + nats_text(st) + " (" + std::to_string(s.sources.size()) + " of " +
              std::to_string(ks.size()) + " read)";
      break;
    }
    if (r.revision) s.sources.push_back(std::move(r));
    if (p_->stopping_now()) {
      s.why = "the collector is stopping";
      break;
    }
  }
  std::sort(s.sources.begin(), s.sources.end(),
            [](const auto& a, const auto& b) { return a.uuid < b.uuid; });
  return s;
}

}  // namespace hopwire::collector

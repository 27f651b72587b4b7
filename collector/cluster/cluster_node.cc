#include "collector/cluster/cluster_node.h"

#include <nats/nats.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/clock.h"
#include "common/log.h"

namespace hopwire::collector {

namespace {

constexpr const char* kSourcesBucket = "hopwire_sources";
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

bool decode(const void* data, int len, cluster_source_record& r) {
  rapidjson::Document d;
  d.Parse(static_cast<const char*>(data), static_cast<std::size_t>(len));
  if (d.HasParseError() || !d.IsObject()) return false;
  auto u64 = [&](const char* k, std::uint64_t& out) {
    const auto it = d.FindMember(k);
    if (it != d.MemberEnd() && it->value.IsUint64()) out = it->value.GetUint64();
  };
  if (const auto it = d.FindMember("owner"); it != d.MemberEnd() && it->value.IsString())
    r.owner.assign(it->value.GetString(), it->value.GetStringLength());
  u64("epoch", r.epoch);
  u64("boot_id", r.boot_id);
  u64("last_seq", r.last_seq);
  u64("num_packets", r.num_packets);
  u64("num_error_packets", r.num_error_packets);
  return true;
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

  mutable std::mutex mu;  // guards what follows, up to the thread
  std::condition_variable cv;
  bool stopping = false;
  bool connected = false;
  std::string down_since;  // wall clock text of the disconnect
  std::string kv_why;      // why the bucket is not usable yet
  struct claim_job {
    std::string uuid;
    std::uint64_t boot_id;
    std::function<void(cluster_claim_result)> done;
  };
  std::deque<claim_job> claims;
  struct pending_commit {
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
  std::function<bool(const std::string&)> release;
  std::uint64_t n_claims = 0, n_commits = 0, n_retries = 0, n_lost = 0, n_releases = 0;
  std::thread worker;

  bool stopping_now() {
    std::lock_guard lock(mu);
    return stopping;
  }

  std::string subject_ctl(const std::string& node) const { return "hopwire.ctl." + node; }

  std::string why_unreachable_locked() const {
    if (!connected)
      return cfg.node_id + " cannot reach the cluster (NATS unreachable" +
             (down_since.empty() ? std::string(" since start") : " since " + down_since) + "); try another collector";
    return cfg.node_id + " cannot use the cluster (" + kv_why + "); try another collector";
  }

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
      {
        std::lock_guard lock(p->mu);
        p->owned.erase(uuid);
        ++p->n_releases;
      }
      bool had = false;
      {
        std::lock_guard lock(p->release_mu);
        had = p->release && p->release(uuid);
      }
      spdlog::info("cluster: another collector claims source {}; {}", uuid,
                   had ? "closed its link here" : "it had no link here");
      answer = std::string("{\"ok\":true,\"had_link\":") + (had ? "true" : "false") + "}";
    }
    if (const char* reply = natsMsg_GetReply(msg))
      natsConnection_Publish(nc, reply, answer.data(), static_cast<int>(answer.size()));
    natsMsg_Destroy(msg);
  }

  bool ensure_bucket() {
    if (kv) return true;
    kvStore* k = nullptr;
    natsStatus st = js_KeyValue(&k, js, kSourcesBucket);
    if (st == NATS_NOT_FOUND) {
      kvConfig kc;
      kvConfig_Init(&kc);
      kc.Bucket = kSourcesBucket;
      kc.History = 1;
      kc.Replicas = cfg.replicas;
      kc.StorageType = js_FileStorage;
      st = js_CreateKeyValue(&k, js, &kc);
    }
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
      if (!connected || !kv) {
        res.why = why_unreachable_locked();
        return res;
      }
    }
    bool asked = false;
    // JetStream answers "no responders" or times out while a stream elects
    // a leader (a NATS node died): that is retried until commit_timeout.
    const auto give_up = std::chrono::steady_clock::now() + cfg.commit_timeout;
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
        const std::string body = "{\"release\":\"" + j.uuid + "\"}";
        natsMsg* reply = nullptr;
        st = natsConnection_Request(&reply, nc, subject_ctl(rec.owner).c_str(), body.data(),
                                    static_cast<int>(body.size()), static_cast<int64_t>(cfg.release_timeout.count()));
        if (st == NATS_OK) res.released_by = rec.owner;
        else
          spdlog::info("cluster: source {}: its owner {} did not answer the release ({}); taking it over", j.uuid,
                       rec.owner, natsStatus_GetText(st));
        natsMsg_Destroy(reply);
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
      // Lost, or our own earlier try landed and only its answer was lost.
      cluster_source_record now;
      if (read(uuid, now) == NATS_OK && now.owner == cfg.node_id && now.epoch == rec.epoch &&
          now.last_seq == next.last_seq && now.num_packets == next.num_packets) {
        next.revision = now.revision;
        st = NATS_OK;
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
      if (!claims.empty()) {
        auto j = std::move(claims.front());
        claims.pop_front();
        lock.unlock();
        auto res = do_claim(j);
        j.done(std::move(res));
        lock.lock();
        continue;
      }
      if (!commits.empty()) {
        auto batch = std::move(commits);
        commits.clear();
        lock.unlock();
        std::map<std::string, pending_commit> again;
        const auto now = std::chrono::steady_clock::now();
        for (auto& [uuid, c] : batch) {
          if (c.first_try == std::chrono::steady_clock::time_point{}) c.first_try = now;
          if (do_commit(uuid, c)) continue;
          if (now - c.first_try >= cfg.commit_timeout) {
            std::string why;
            {
              std::lock_guard l2(mu);
              owned.erase(uuid);
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
        // Newer values that arrived meanwhile go on top of the retried ones.
        for (auto& [uuid, c] : again) {
          auto [it, fresh] = commits.try_emplace(uuid, std::move(c));
          if (!fresh) {
            auto& newer = it->second;
            newer.first_try = c.first_try;
            newer.last_error = c.last_error;
            newer.done.insert(newer.done.begin(), std::make_move_iterator(c.done.begin()),
                              std::make_move_iterator(c.done.end()));
          }
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
  natsOptions_SetName(p_->opts, ("hopwire-collector " + cfg.node_id).c_str());
  natsOptions_SetDisconnectedCB(p_->opts, &impl::on_disconnected, p_.get());
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
    natsOptions_Destroy(p_->opts);
    throw std::runtime_error("cluster: cannot connect to NATS: " + nats_text(st));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 2000;
  check(natsConnection_JetStream(&p_->js, p_->nc, &jo), "JetStream");
  check(natsConnection_Subscribe(&p_->ctl, p_->nc, p_->subject_ctl(cfg.node_id).c_str(), &impl::on_ctl, p_.get()),
        "subscribing to " + p_->subject_ctl(cfg.node_id));
  p_->worker = std::thread([this] { p_->run(); });
}

void cluster_node::stop() {
  {
    std::lock_guard lock(p_->mu);
    p_->stopping = true;
  }
  p_->cv.notify_all();
  if (p_->worker.joinable()) p_->worker.join();
  {
    std::lock_guard lock(p_->release_mu);
    p_->release = nullptr;
  }
  if (p_->ctl) {
    natsSubscription_Unsubscribe(p_->ctl);
    natsSubscription_Destroy(p_->ctl);
    p_->ctl = nullptr;
  }
  std::lock_guard lock(p_->mu);
  p_->claims.clear();
  p_->commits.clear();
}

cluster_node::~cluster_node() {
  stop();
  if (p_->kv) kvStore_Destroy(p_->kv);
  if (p_->js) jsCtx_Destroy(p_->js);
  if (p_->nc) {
    natsConnection_Close(p_->nc);
    natsConnection_Destroy(p_->nc);
  }
  if (p_->opts) natsOptions_Destroy(p_->opts);
}

const std::string& cluster_node::node_id() const { return p_->cfg.node_id; }

void cluster_node::claim(const std::string& uuid, std::uint64_t boot_id,
                         std::function<void(cluster_claim_result)> done) {
  {
    std::lock_guard lock(p_->mu);
    p_->claims.push_back({uuid, boot_id, std::move(done)});
  }
  p_->cv.notify_all();
}

void cluster_node::commit(const std::string& uuid, std::uint64_t last_seq, std::uint64_t num_packets,
                          std::uint64_t num_error_packets, std::function<void(bool, std::string)> done) {
  {
    std::lock_guard lock(p_->mu);
    auto& c = p_->commits[uuid];
    c.last_seq = last_seq;
    c.packets = num_packets;
    c.errors = num_error_packets;
    c.done.push_back(std::move(done));
  }
  p_->cv.notify_all();
}

void cluster_node::forget(const std::string& uuid) {
  std::lock_guard lock(p_->mu);
  p_->owned.erase(uuid);
}

void cluster_node::on_release(std::function<bool(const std::string&)> release) {
  std::lock_guard lock(p_->release_mu);
  p_->release = std::move(release);
}

bool cluster_node::reachable() const {
  std::lock_guard lock(p_->mu);
  return p_->connected && p_->kv;
}

std::string cluster_node::unreachable_why() const {
  std::lock_guard lock(p_->mu);
  return p_->why_unreachable_locked();
}

cluster_node::status cluster_node::read_status() {
  status s;
  s.node_id = p_->cfg.node_id;
  kvStore* kv = nullptr;
  {
    std::lock_guard lock(p_->mu);
    s.connected = p_->connected;
    s.claims = p_->n_claims;
    s.commits = p_->n_commits;
    s.commit_retries = p_->n_retries;
    s.lost = p_->n_lost;
    s.releases = p_->n_releases;
    kv = p_->kv;
    if (!p_->connected || !kv) s.why = p_->why_unreachable_locked();
  }
  char url[256] = {};
  if (natsConnection_GetConnectedUrl(p_->nc, url, sizeof url) == NATS_OK) s.server = url;
  if (!s.why.empty()) return s;
  // The keys from the stream's subject list (answered by the stream's
  // leader), not kvStore_Keys: that makes a consumer, which times out for
  // as long as a dead NATS node is still counted as a peer.
  jsOptions o;
  jsOptions_Init(&o);
  const std::string filter = std::string("$KV.") + kSourcesBucket + ".>";
  o.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus st = js_GetStreamInfo(&si, p_->js, (std::string("KV_") + kSourcesBucket).c_str(), &o, &jerr);
  if (st != NATS_OK) {
    s.why = "listing the sources: " + nats_text(st);
    return s;
  }
  std::vector<std::string> keys;
  if (si->State.Subjects)
    for (int i = 0; i < si->State.Subjects->Count; ++i)
      keys.emplace_back(si->State.Subjects->List[i].Subject + filter.size() - 1);
  jsStreamInfo_Destroy(si);
  for (const auto& k : keys) {
    cluster_source_record r;
    if (p_->read(k, r) == NATS_OK && r.revision) s.sources.push_back(std::move(r));
  }
  std::sort(s.sources.begin(), s.sources.end(),
            [](const auto& a, const auto& b) { return a.uuid < b.uuid; });
  return s;
}

}  // namespace hopwire::collector

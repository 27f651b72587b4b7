// What the cluster design (docs/cluster.md) pays NATS for, measured on this
// machine: JetStream async publishes of observation-sized messages with a
// Nats-Msg-Id (rate, bytes on the client's socket, what the servers count),
// re-sent duplicates, a pull consumer reading them back, KV updates with
// compare-and-set (one at a time, and a commit round's worth as async
// publishes), one batch's commit (publish per shard + CAS), request/reply
// round trips, "no responders", a scatter/gather to several responders, and
// a bulk transfer in chunks. These are micro numbers for a cost model; the
// cluster itself does not exist yet.
//
// Standalone: links only libnats (Debian 12: nats-server 2.9, libnats-dev
// 3.4), not the collector. Build it into /tmp, one job:
//
//   flock /work/build.lock g++ -std=c++20 -O2 -pthread tests/bench/nats_cost.cc -lnats -o /tmp/nats_cost
//
// Run it with servers it starts itself on loopback (a temporary directory,
// a random password, JetStream file storage; killed at the end):
//
//   /tmp/nats_cost --spawn 1 --send-asap           # one node, replicas 1
//   /tmp/nats_cost --spawn 3 --send-asap           # three-node cluster, replicas 3
//   /tmp/nats_cost --spawn 3 --tls --send-asap     # the same with TLS (client and routes)
//   /tmp/nats_cost --spawn 3                       # libnats' default output buffering
//
// (--send-asap: natsOptions_SetSendAsap on every connection, as
// docs/cluster.md proposes for commits and queries; without it a reply sent
// from a subscription callback waits ~1 ms for libnats' flusher.)
//
// --port-base B (default 14200) puts client ports at B+1.., routes at B+11..
// and monitoring at B+21... Or point it at servers you run:
//
//   NATSCOST_PASSWORD=... /tmp/nats_cost --servers nats://127.0.0.1:4222 --monitor 127.0.0.1:8222 --user bench
//
// (--replicas N, default the number of --servers; --tls-ca CA.pem for TLS.)
//
// It creates and deletes its own stream (NATSCOST_OBS) and bucket
// (natscost_sources) and uses subjects natscost.*; never point it at a
// production account.
//
// "wire" bytes are what this process sent and received over its TCP sockets
// during a phase (the kernel's TCP_INFO counts), so they include the NATS
// protocol lines and TLS records; where responders run in this process too,
// both ends are counted. "servers" bytes are the deltas of the servers' own
// counters (varz in/out, summed over the monitor ports; "between servers"
// from routez), which count message payloads and headers only. CPU is this
// process's (getrusage) and, with --spawn, the servers' (/proc/PID/stat).

#include <nats/nats.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <linux/tcp.h>
#include <netdb.h>
#include <random>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::vector<std::string> servers;
  std::vector<std::string> monitors;  // host:port of each server's HTTP monitor
  std::string user;
  std::string password;
  std::string tls_ca;
  int replicas = 0;  // 0: as many as servers
  int shards = 64;
  long small_count = 200000;   // 40-byte messages
  long batch_count = 50000;    // 64 observations of 40 bytes
  long cas_count = 5000;
  long rtt_count = 5000;
  int cas_threads = 8;
  int responders = 3;
  long bulk_bytes = 40L << 20;  // ~100 000 device records of ~400 bytes
  int chunk_bytes = 256 << 10;
  int max_pending = 4096;
  int commit_shards = 24;       // shards one link batch touches (docs/cluster.md)
  int commit_obs = 2;           // observations per shard message in that batch
  int spawn = 0;                // start this many nats-servers (1 or 3)
  bool tls = false;             // with --spawn: TLS for clients and routes
  int port_base = 14200;
  bool send_asap = false;       // natsOptions_SetSendAsap on every connection
};

// Servers this program started, stopped on every way out, and their
// directory (kept after a failure, for the logs).
std::vector<pid_t> g_children;
std::string g_dir;

[[noreturn]] void die(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "nats_cost: %s\n", what.c_str());
  if (!g_dir.empty()) std::fprintf(stderr, "nats_cost: server logs and data kept in %s\n", g_dir.c_str());
  for (pid_t p : g_children) kill(p, SIGTERM);
  for (pid_t p : g_children) waitpid(p, nullptr, 0);
  std::_Exit(1);
}

void check(natsStatus s, const char* what, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  if (s == NATS_OK) return;
  die(std::string(what) + ": " + natsStatus_GetText(s) + " (" + nats_GetLastError(nullptr) +
      (jerr ? ", JetStream error " + std::to_string(static_cast<int>(jerr)) : std::string()) + ")");
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    if (comma > pos) out.push_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// p in [0, 1] of sorted samples (microseconds).
double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size()));
  return v[std::min(i, v.size() - 1)];
}

struct io_counters {
  std::uint64_t rchar = 0, wchar = 0;  // bytes received, sent
};

// TCP payload bytes sent (and acknowledged) and received over every TCP
// socket this process has open: the kernel's own count (TCP_INFO), so NATS
// protocol lines and TLS records are in it, TCP/IP headers are not.
io_counters self_io() {
  io_counters c;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::atoi(e.path().filename().c_str());
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) continue;
    c.wchar += ti.tcpi_bytes_acked;
    c.rchar += ti.tcpi_bytes_received;
  }
  return c;
}

// GET http://hostport/path with HTTP/1.0; the body, or empty on failure.
std::string http_get(const std::string& hostport, const std::string& path) {
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return {};
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(hostport.substr(0, colon).c_str(), hostport.substr(colon + 1).c_str(), &hints, &res) != 0) return {};
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return {};
  }
  freeaddrinfo(res);
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + hostport + "\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return {};
  }
  std::string body;
  char buf[16384];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) body.append(buf, static_cast<std::size_t>(n));
  close(fd);
  auto end = body.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : body.substr(end + 4);
}

// Sum of every number that follows "key": in a JSON text.
std::uint64_t json_sum(const std::string& text, const std::string& key) {
  std::uint64_t sum = 0;
  const std::string needle = "\"" + key + "\":";
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    auto p = pos + needle.size();
    while (p < text.size() && text[p] == ' ') ++p;
    sum += std::strtoull(text.c_str() + p, nullptr, 10);
  }
  return sum;
}

// CPU time (user + system) of this process and of the servers we started,
// in microseconds.
double self_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double children_cpu_us() {
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double sum = 0;
  for (pid_t p : g_children) {
    std::ifstream f("/proc/" + std::to_string(p) + "/stat");
    std::string line;
    std::getline(f, line);
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::vector<std::string> fields;
    std::size_t pos = close_paren + 2;
    while (pos < line.size()) {
      auto sp = line.find(' ', pos);
      if (sp == std::string::npos) sp = line.size();
      fields.push_back(line.substr(pos, sp - pos));
      pos = sp + 1;
    }
    // After the command: state is field 3, utime 14, stime 15.
    if (fields.size() > 12) sum += (std::stod(fields[11]) + std::stod(fields[12])) / tick * 1e6;
  }
  return sum;
}

struct server_counters {
  std::uint64_t in_msgs = 0, out_msgs = 0, in_bytes = 0, out_bytes = 0, route_in = 0, route_out = 0;
  bool ok = true;
};

server_counters read_servers(const options& o) {
  server_counters c;
  for (const auto& m : o.monitors) {
    auto varz = http_get(m, "/varz");
    auto routez = http_get(m, "/routez");
    if (varz.empty()) c.ok = false;
    c.in_msgs += json_sum(varz, "in_msgs");
    c.out_msgs += json_sum(varz, "out_msgs");
    c.in_bytes += json_sum(varz, "in_bytes");
    c.out_bytes += json_sum(varz, "out_bytes");
    c.route_in += json_sum(routez, "in_bytes");
    c.route_out += json_sum(routez, "out_bytes");
  }
  return c;
}

// One phase's traffic: this process's socket bytes and the servers' counters.
struct traffic {
  io_counters io0;
  server_counters s0;
  double cpu0 = 0, scpu0 = 0;
  const options& o;
  explicit traffic(const options& opts) : o(opts) { start(); }
  void start() {
    s0 = read_servers(o);
    io0 = self_io();
    cpu0 = self_cpu_us();
    scpu0 = children_cpu_us();
  }
  void report(const char* what, double per) {
    auto io1 = self_io();
    const double cpu1 = self_cpu_us(), scpu1 = children_cpu_us();
    auto s1 = read_servers(o);
    std::printf("    %s: wire out %.1f B, in %.1f B", what,
                static_cast<double>(io1.wchar - io0.wchar) / per, static_cast<double>(io1.rchar - io0.rchar) / per);
    if (s1.ok && s0.ok && !o.monitors.empty())
      std::printf("; servers counted in %.1f B (%.2f msgs), out %.1f B (%.2f msgs), of it between servers %.1f B",
                  static_cast<double>(s1.in_bytes - s0.in_bytes) / per,
                  static_cast<double>(s1.in_msgs - s0.in_msgs) / per,
                  static_cast<double>(s1.out_bytes - s0.out_bytes) / per,
                  static_cast<double>(s1.out_msgs - s0.out_msgs) / per,
                  static_cast<double>(s1.route_out - s0.route_out) / per);
    std::printf("; CPU: client %.1f us", (cpu1 - cpu0) / per);
    if (!g_children.empty()) std::printf(", servers %.1f us", (scpu1 - scpu0) / per);
    std::printf("\n");
  }
};

natsConnection* connect_to(const options& o, const std::vector<std::string>& servers, const char* name) {
  natsOptions* no = nullptr;
  check(natsOptions_Create(&no), "natsOptions_Create");
  std::vector<const char*> urls;
  for (const auto& s : servers) urls.push_back(s.c_str());
  check(natsOptions_SetServers(no, urls.data(), static_cast<int>(urls.size())), "natsOptions_SetServers");
  check(natsOptions_SetNoRandomize(no, true), "natsOptions_SetNoRandomize");
  check(natsOptions_SetName(no, name), "natsOptions_SetName");
  if (!o.user.empty()) check(natsOptions_SetUserInfo(no, o.user.c_str(), o.password.c_str()), "SetUserInfo");
  if (!o.tls_ca.empty()) {
    check(natsOptions_SetSecure(no, true), "natsOptions_SetSecure");
    check(natsOptions_LoadCATrustedCertificates(no, o.tls_ca.c_str()), "LoadCATrustedCertificates");
  }
  if (o.send_asap) check(natsOptions_SetSendAsap(no, true), "natsOptions_SetSendAsap");
  // Big enough for a bulk transfer arriving faster than it is read.
  check(natsOptions_SetMaxPendingMsgs(no, 1 << 20), "natsOptions_SetMaxPendingMsgs");
  natsConnection* nc = nullptr;
  check(natsConnection_Connect(&nc, no), "natsConnection_Connect");
  natsOptions_Destroy(no);
  return nc;
}

// ---- (a) publishes -------------------------------------------------------

struct ack_counts {
  std::atomic<long> ok{0}, duplicate{0}, failed{0};
};

void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* c = static_cast<ack_counts*>(closure);
  if (pa) {
    if (pa->Duplicate) c->duplicate.fetch_add(1, std::memory_order_relaxed);
    else c->ok.fetch_add(1, std::memory_order_relaxed);
  } else if (pae) {
    c->failed.fetch_add(1, std::memory_order_relaxed);
  }
  natsMsg_Destroy(msg);
}

const char* kSourceUuid = "5f0c8a52-3f7e-4c1a-9e55-1d2b8f6a7c10";

void make_stream(jsCtx* js, const options& o) {
  js_DeleteStream(js, "NATSCOST_OBS", nullptr, nullptr);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char* subjects[] = {"natscost.obs.>", "natscost.big.>"};
  sc.Name = "NATSCOST_OBS";
  sc.Subjects = subjects;
  sc.SubjectsLen = 2;
  sc.Storage = js_FileStorage;
  sc.Replicas = o.replicas;
  sc.Duplicates = 120LL * 1000 * 1000 * 1000;   // 2 min dedup window, ns
  sc.MaxAge = 3600LL * 1000 * 1000 * 1000;      // 1 h
  // A cluster that has just started may not have elected its JetStream
  // meta leader yet: retry for a while.
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus st = NATS_OK;
  for (int attempt = 0; attempt < 60; ++attempt) {
    st = js_AddStream(nullptr, js, &sc, nullptr, &jerr);
    if (st == NATS_OK) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  check(st, "js_AddStream NATSCOST_OBS", jerr);
}

// Publishes `count` messages of `size` bytes round-robin over the shard
// subjects, each with a Msg-Id "<uuid>:<batch seq>:<shard>", as fast as
// MaxPending allows. `first_seq` offsets the ids (a resend reuses them).
void publish_run(natsConnection* nc, const options& o, const char* prefix, int size, long count, long first_seq,
                 const char* label, bool expect_duplicates) {
  ack_counts acks;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = o.max_pending;
  // At MaxPending the publisher waits for acks (back-pressure), as the
  // collector will; the library's 200 ms default makes that an error.
  jo.PublishAsync.StallWait = 30000;
  jo.PublishAsync.AckHandler = on_pub_ack;
  jo.PublishAsync.AckHandlerClosure = &acks;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &jo), "natsConnection_JetStream");

  std::vector<char> payload(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) payload[static_cast<std::size_t>(i)] = static_cast<char>('a' + (i * 7) % 26);
  char subject[64], id[96];
  traffic t(o);
  const auto t0 = clock_type::now();
  for (long i = 0; i < count; ++i) {
    const long n = first_seq + i;
    const int shard = static_cast<int>(n % o.shards);
    std::snprintf(subject, sizeof subject, "%s.%d", prefix, shard);
    std::snprintf(id, sizeof id, "%s:%ld:%d", kSourceUuid, n / o.shards + 1, shard);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    check(js_PublishAsync(js, subject, payload.data(), size, &po), "js_PublishAsync");
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 60000;
  check(js_PublishAsyncComplete(js, &wait), "js_PublishAsyncComplete");
  const double secs = seconds_since(t0);
  const double rate = static_cast<double>(count) / secs;
  std::printf("  %s: %ld msgs of %d B in %.3f s: %.0f msgs/s, %.2f MB/s of payload; acks %ld new, %ld duplicate, "
              "%ld failed%s\n",
              label, count, size, secs, rate, rate * size / 1e6, acks.ok.load(), acks.duplicate.load(),
              acks.failed.load(),
              expect_duplicates ? (acks.duplicate.load() == count ? " (all recognised)" : " (NOT all recognised)")
                                : "");
  t.report("per message", static_cast<double>(count));
  jsCtx_Destroy(js);
}

// One synchronous publish at a time: the round trip a batch's last
// observation message waits for.
void publish_latency(natsConnection* nc, const options& o, long count) {
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, nullptr), "natsConnection_JetStream");
  char payload[40] = {0};
  char id[96];
  std::vector<double> lat;
  lat.reserve(static_cast<std::size_t>(count));
  traffic t(o);
  const auto t0 = clock_type::now();
  for (long i = 0; i < count; ++i) {
    std::snprintf(id, sizeof id, "sync:%s:%ld:0", kSourceUuid, i);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    jsPubAck* pa = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const auto s = clock_type::now();
    check(js_Publish(&pa, js, "natscost.obs.0", payload, sizeof payload, &po, &jerr), "js_Publish", jerr);
    lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
    jsPubAck_Destroy(pa);
  }
  const double secs = seconds_since(t0);
  const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
  std::printf("  sync js_Publish (40 B, Msg-Id), one at a time: p50 %.0f us, p99 %.0f us, %.0f publishes/s\n", p50,
              p99, static_cast<double>(count) / secs);
  t.report("per message", static_cast<double>(count));
  jsCtx_Destroy(js);
}

// A shard owner reading its subjects back: one durable pull consumer over
// all shard subjects, fetches of 512, AckAll on the last of each fetch.
void consume_run(natsConnection* nc, const options& o, const char* filter, long count, const char* label) {
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, nullptr), "natsConnection_JetStream");
  js_DeleteConsumer(js, "NATSCOST_OBS", "natscost-reader", nullptr, nullptr);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = "NATSCOST_OBS";
  so.Config.AckPolicy = js_AckAll;
  so.Config.MaxAckPending = 1 << 20;
  so.Config.DeliverPolicy = js_DeliverAll;
  so.Config.Replicas = o.replicas;
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  check(js_PullSubscribe(&sub, js, filter, "natscost-reader", nullptr, &so, &jerr), "js_PullSubscribe", jerr);
  long got = 0;
  std::uint64_t bytes = 0;
  traffic t(o);
  const auto t0 = clock_type::now();
  while (got < count) {
    natsMsgList list{};
    natsStatus s = natsSubscription_Fetch(&list, sub, 512, 5000, &jerr);
    if (s == NATS_TIMEOUT) break;
    check(s, "natsSubscription_Fetch", jerr);
    for (int i = 0; i < list.Count; ++i) bytes += static_cast<std::uint64_t>(natsMsg_GetDataLength(list.Msgs[i]));
    got += list.Count;
    if (list.Count > 0) check(natsMsg_Ack(list.Msgs[list.Count - 1], nullptr), "natsMsg_Ack");
    natsMsgList_Destroy(&list);
  }
  const double secs = seconds_since(t0);
  std::printf("  %s: %ld of %ld msgs in %.3f s: %.0f msgs/s, %.2f MB/s of payload\n", label, got, count, secs,
              static_cast<double>(got) / secs, static_cast<double>(bytes) / secs / 1e6);
  t.report("per message", static_cast<double>(got ? got : 1));
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  js_DeleteConsumer(js, "NATSCOST_OBS", "natscost-reader", nullptr, nullptr);
  jsCtx_Destroy(js);
}

// ---- (b) KV compare-and-set ------------------------------------------------

// A source record as docs/cluster.md describes it, about 170 bytes of JSON.
std::string source_record(std::uint64_t seq) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"owner\":\"collector-b\",\"epoch\":7,\"boot_id\":1234567890123,\"last_seq\":%llu,"
                "\"packets\":%llu,\"errors\":12,\"dropped_ring\":0,\"dropped_kernel\":3,\"last_seen\":1764000000}",
                static_cast<unsigned long long>(seq), static_cast<unsigned long long>(seq * 2048));
  return buf;
}

kvStore* make_bucket(jsCtx* js, const options& o) {
  js_DeleteKeyValue(js, "natscost_sources");
  kvConfig kc;
  kvConfig_Init(&kc);
  kc.Bucket = "natscost_sources";
  kc.History = 1;
  kc.Replicas = o.replicas;
  kc.StorageType = js_FileStorage;
  kvStore* kv = nullptr;
  check(js_CreateKeyValue(&kv, js, &kc), "js_CreateKeyValue natscost_sources");
  return kv;
}

struct cas_result {
  std::vector<double> lat;
  long failed = 0;
};

void cas_loop(kvStore* kv, const std::string& key, long count, cas_result& r) {
  auto first = source_record(0);
  std::uint64_t rev = 0;
  check(kvStore_Put(&rev, kv, key.c_str(), first.data(), static_cast<int>(first.size())), "kvStore_Put");
  r.lat.reserve(static_cast<std::size_t>(count));
  for (long i = 1; i <= count; ++i) {
    auto v = source_record(static_cast<std::uint64_t>(i));
    std::uint64_t next = 0;
    const auto s = clock_type::now();
    natsStatus st = kvStore_Update(&next, kv, key.c_str(), v.data(), static_cast<int>(v.size()), rev);
    r.lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
    if (st != NATS_OK) {
      ++r.failed;
      continue;
    }
    rev = next;
  }
}

void kv_run(natsConnection* nc, const options& o) {
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, nullptr), "natsConnection_JetStream");
  kvStore* kv = make_bucket(js, o);

  {
    cas_result r;
    traffic t(o);
    const auto t0 = clock_type::now();
    cas_loop(kv, "src-0", o.cas_count, r);
    const double secs = seconds_since(t0);
    const double p50 = percentile(r.lat, 0.50), p99 = percentile(r.lat, 0.99);
    std::printf("  KV update with CAS, one key, one at a time (%zu B value): p50 %.0f us, p99 %.0f us, "
                "%.0f updates/s, %ld failed\n",
                source_record(1).size(), p50, p99, static_cast<double>(o.cas_count) / secs, r.failed);
    t.report("per message", static_cast<double>(o.cas_count));
  }
  {
    std::vector<cas_result> rs(static_cast<std::size_t>(o.cas_threads));
    std::vector<std::thread> th;
    const long each = o.cas_count / 2;
    const auto t0 = clock_type::now();
    for (int i = 0; i < o.cas_threads; ++i)
      th.emplace_back([&, i] { cas_loop(kv, "src-t" + std::to_string(i), each, rs[static_cast<std::size_t>(i)]); });
    for (auto& x : th) x.join();
    const double secs = seconds_since(t0);
    std::vector<double> all;
    long failed = 0;
    for (auto& r : rs) {
      all.insert(all.end(), r.lat.begin(), r.lat.end());
      failed += r.failed;
    }
    const double p50 = percentile(all, 0.50), p99 = percentile(all, 0.99);
    std::printf("  KV update with CAS, %d keys on %d threads, one connection: p50 %.0f us, p99 %.0f us, "
                "%.0f updates/s in all, %ld failed\n",
                o.cas_threads, o.cas_threads, p50, p99, static_cast<double>(each * o.cas_threads) / secs, failed);
  }
  {
    // The fence: an update against a revision that is no longer the last
    // must fail (a collector that lost the source cannot record a batch).
    kvEntry* e = nullptr;
    check(kvStore_Get(&e, kv, "src-0"), "kvStore_Get");
    const std::uint64_t cur = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    auto v = source_record(1);
    std::uint64_t next = 0;
    natsStatus st = kvStore_Update(&next, kv, "src-0", v.data(), static_cast<int>(v.size()), cur - 1);
    std::printf("  KV update against a stale revision: %s (%s)\n", st == NATS_OK ? "ACCEPTED (wrong)" : "refused",
                st == NATS_OK ? "" : nats_GetLastError(nullptr));
    std::uint64_t crev = 0;
    st = kvStore_Create(&crev, kv, "src-0", v.data(), static_cast<int>(v.size()));
    std::printf("  KV create of an existing key: %s\n", st == NATS_OK ? "ACCEPTED (wrong)" : "refused");
  }
  kvStore_Destroy(kv);
  js_DeleteKeyValue(js, "natscost_sources");
  jsCtx_Destroy(js);
}

// A commit round's CASes sent together: kvStore_Update is a publish to
// $KV.<bucket>.<key> with Nats-Expected-Last-Subject-Sequence, so the
// round can send one per source asynchronously and wait once. `keys`
// sources per round, sequential rounds.
struct round_cas {
  std::vector<std::uint64_t> revs;
  std::atomic<long> ok{0}, failed{0};
};

void on_cas_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* r = static_cast<round_cas*>(closure);
  const char* subj = natsMsg_GetSubject(msg);
  const char* dash = subj ? std::strrchr(subj, '-') : nullptr;
  const std::size_t i = dash ? static_cast<std::size_t>(std::atol(dash + 1)) : 0;
  if (pa && i < r->revs.size()) {
    r->revs[i] = pa->Sequence;
    r->ok.fetch_add(1, std::memory_order_relaxed);
  } else if (pae) {
    r->failed.fetch_add(1, std::memory_order_relaxed);
  }
  natsMsg_Destroy(msg);
}

void round_cas_run(natsConnection* nc, const options& o, int keys, long rounds) {
  jsCtx* plain = nullptr;
  check(natsConnection_JetStream(&plain, nc, nullptr), "natsConnection_JetStream");
  kvStore* kv = make_bucket(plain, o);
  round_cas r;
  r.revs.resize(static_cast<std::size_t>(keys));
  auto first = source_record(0);
  for (int i = 0; i < keys; ++i) {
    const std::string key = "src-" + std::to_string(i);
    check(kvStore_Put(&r.revs[static_cast<std::size_t>(i)], kv, key.c_str(), first.data(),
                      static_cast<int>(first.size())),
          "kvStore_Put");
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = o.max_pending;
  jo.PublishAsync.StallWait = 30000;
  jo.PublishAsync.AckHandler = on_cas_ack;
  jo.PublishAsync.AckHandlerClosure = &r;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &jo), "natsConnection_JetStream");
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 10000;
  std::vector<double> lat;
  char subject[96];
  traffic t(o);
  const auto t0 = clock_type::now();
  for (long n = 1; n <= rounds; ++n) {
    const auto s = clock_type::now();
    for (int i = 0; i < keys; ++i) {
      auto v = source_record(static_cast<std::uint64_t>(n));
      std::snprintf(subject, sizeof subject, "$KV.natscost_sources.src-%d", i);
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.ExpectLastSubjectSeq = r.revs[static_cast<std::size_t>(i)];
      check(js_PublishAsync(js, subject, v.data(), static_cast<int>(v.size()), &po), "js_PublishAsync CAS");
    }
    check(js_PublishAsyncComplete(js, &wait), "js_PublishAsyncComplete");
    lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
  }
  const double secs = seconds_since(t0);
  const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
  std::printf("  KV CAS of %d keys per round as async publishes (Expected-Last-Subject-Sequence): round p50 %.0f us, "
              "p99 %.0f us, %.0f CAS/s, %ld ok, %ld failed\n",
              keys, p50, p99, static_cast<double>(rounds * keys) / secs, r.ok.load(), r.failed.load());
  t.report("per CAS", static_cast<double>(rounds * keys));
  {
    // The fence holds for this form too: a stale revision is refused.
    jsPubAck* pa = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = r.revs[0] - 1;
    auto v = source_record(0);
    natsStatus st = js_Publish(&pa, plain, "$KV.natscost_sources.src-0", v.data(), static_cast<int>(v.size()), &po,
                               &jerr);
    std::printf("  the same with a stale revision: %s (JetStream error %d)\n",
                st == NATS_OK ? "ACCEPTED (wrong)" : "refused", static_cast<int>(jerr));
    jsPubAck_Destroy(pa);
  }
  kvStore_Destroy(kv);
  js_DeleteKeyValue(plain, "natscost_sources");
  jsCtx_Destroy(js);
  jsCtx_Destroy(plain);
}

// One link batch's commit as docs/cluster.md orders it: publish one
// observation message per shard touched (async, with Msg-Ids), wait for
// every PubAck, then CAS the source record. Sequential batches of one
// source; the time is what the sensor's Ack waits for on top of decoding.
void commit_run(natsConnection* nc, const options& o, long batches) {
  ack_counts acks;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = o.max_pending;
  // At MaxPending the publisher waits for acks (back-pressure), as the
  // collector will; the library's 200 ms default makes that an error.
  jo.PublishAsync.StallWait = 30000;
  jo.PublishAsync.AckHandler = on_pub_ack;
  jo.PublishAsync.AckHandlerClosure = &acks;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, &jo), "natsConnection_JetStream");
  kvStore* kv = make_bucket(js, o);
  auto first = source_record(0);
  std::uint64_t rev = 0;
  check(kvStore_Put(&rev, kv, "src-commit", first.data(), static_cast<int>(first.size())), "kvStore_Put");

  std::vector<char> payload(static_cast<std::size_t>(16 + 40 * o.commit_obs), 'o');
  std::vector<double> lat;
  char subject[64], id[96];
  long failed = 0;
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 10000;
  traffic t(o);
  const auto t0 = clock_type::now();
  for (long b = 1; b <= batches; ++b) {
    const auto s = clock_type::now();
    for (int k = 0; k < o.commit_shards; ++k) {
      const int shard = static_cast<int>((b * 7 + k * 3) % o.shards);
      std::snprintf(subject, sizeof subject, "natscost.obs.%d", shard);
      std::snprintf(id, sizeof id, "commit:%s:%ld:%d", kSourceUuid, b, shard);
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = id;
      check(js_PublishAsync(js, subject, payload.data(), static_cast<int>(payload.size()), &po), "js_PublishAsync");
    }
    check(js_PublishAsyncComplete(js, &wait), "js_PublishAsyncComplete");
    auto v = source_record(static_cast<std::uint64_t>(b));
    std::uint64_t next = 0;
    if (kvStore_Update(&next, kv, "src-commit", v.data(), static_cast<int>(v.size()), rev) == NATS_OK) rev = next;
    else ++failed;
    lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
  }
  const double secs = seconds_since(t0);
  const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
  std::printf("  batch commit (%d shard messages of %zu B, then CAS), one source, sequential: p50 %.0f us, "
              "p99 %.0f us, %.0f commits/s, %ld CAS failed, %ld publishes failed\n",
              o.commit_shards, payload.size(), p50, p99, static_cast<double>(batches) / secs, failed,
              acks.failed.load());
  t.report("per commit", static_cast<double>(batches));
  kvStore_Destroy(kv);
  js_DeleteKeyValue(js, "natscost_sources");
  jsCtx_Destroy(js);
}

// ---- (c) request/reply -----------------------------------------------------

struct responder {
  natsConnection* nc = nullptr;
  natsSubscription* q = nullptr;
  natsSubscription* list = nullptr;
  const options* o = nullptr;
  int index = 0;
  int parts = 1;  // how many responders share a bulk answer
};

void on_query(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  char answer[200];
  std::memset(answer, 'r', sizeof answer);
  if (const char* reply = natsMsg_GetReply(msg)) natsConnection_Publish(nc, reply, answer, sizeof answer);
  natsMsg_Destroy(msg);
}

// A shard owner's share of a device list: bulk_bytes / parts in chunks,
// then an empty message that says "done".
void on_list(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  auto* r = static_cast<responder*>(closure);
  const char* reply = natsMsg_GetReply(msg);
  if (reply) {
    std::vector<char> chunk(static_cast<std::size_t>(r->o->chunk_bytes), 'd');
    long left = r->o->bulk_bytes / r->parts;
    while (left > 0) {
      const int n = static_cast<int>(std::min<long>(left, r->o->chunk_bytes));
      natsConnection_Publish(nc, reply, chunk.data(), n);
      left -= n;
    }
    natsConnection_Publish(nc, reply, nullptr, 0);
    natsConnection_Flush(nc);
  }
  natsMsg_Destroy(msg);
}

void rtt_run(natsConnection* nc, const options& o) {
  // Responders on other connections; in a cluster, on other servers than
  // the requester (which uses servers[0]) when there are any.
  std::vector<responder> rs(static_cast<std::size_t>(o.responders));
  for (int i = 0; i < o.responders; ++i) {
    auto& r = rs[static_cast<std::size_t>(i)];
    r.o = &o;
    r.index = i;
    r.parts = o.responders;
    const auto& url = o.servers[static_cast<std::size_t>(o.servers.size() > 1 ? 1 + i % (o.servers.size() - 1) : 0)];
    r.nc = connect_to(o, {url}, "natscost-responder");
    char subj[64];
    std::snprintf(subj, sizeof subj, "natscost.q.%d", i);
    check(natsConnection_Subscribe(&r.q, r.nc, subj, on_query, &r), "natsConnection_Subscribe q");
    std::snprintf(subj, sizeof subj, "natscost.list.%d", i);
    check(natsConnection_Subscribe(&r.list, r.nc, subj, on_list, &r), "natsConnection_Subscribe list");
    check(natsConnection_Flush(r.nc), "natsConnection_Flush");
  }
  // Let interest reach every server of a cluster.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  char request[100];
  std::memset(request, 'q', sizeof request);
  {
    std::vector<double> lat;
    traffic t(o);
    const auto t0 = clock_type::now();
    for (long i = 0; i < o.rtt_count; ++i) {
      natsMsg* reply = nullptr;
      const auto s = clock_type::now();
      check(natsConnection_Request(&reply, nc, "natscost.q.0", request, sizeof request, 2000), "Request");
      lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
      natsMsg_Destroy(reply);
    }
    const double secs = seconds_since(t0);
    const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
    std::printf("  request/reply (100 B request, 200 B answer%s): p50 %.0f us, p99 %.0f us, %.0f round trips/s\n",
                o.servers.size() > 1 ? ", responder on another server" : "", p50, p99,
                static_cast<double>(o.rtt_count) / secs);
    t.report("per round trip, both ends", static_cast<double>(o.rtt_count));
  }
  {
    // A request nobody is subscribed to: the server answers "no responders"
    // at once. This is how a collector learns that a source's recorded
    // owner has no connection to NATS (docs/cluster.md, "Sources").
    std::vector<double> lat;
    long other = 0;
    for (long i = 0; i < o.rtt_count / 5; ++i) {
      natsMsg* reply = nullptr;
      const auto s = clock_type::now();
      natsStatus st = natsConnection_Request(&reply, nc, "natscost.ctl.nobody", request, 16, 2000);
      lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
      if (st != NATS_NO_RESPONDERS) ++other;
      natsMsg_Destroy(reply);
    }
    const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
    std::printf("  request to a subject without subscribers: \"no responders\" after p50 %.0f us, p99 %.0f us "
                "(%ld other outcomes)\n",
                p50, p99, other);
  }
  natsInbox* inbox = nullptr;
  check(natsInbox_Create(&inbox), "natsInbox_Create");
  natsSubscription* in = nullptr;
  check(natsConnection_SubscribeSync(&in, nc, inbox), "SubscribeSync inbox");
  check(natsSubscription_SetPendingLimits(in, -1, -1), "SetPendingLimits");
  check(natsConnection_Flush(nc), "natsConnection_Flush");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    // Scatter/gather: one request to each responder, wait for all answers.
    std::vector<double> lat;
    long missing = 0;
    for (long i = 0; i < o.rtt_count; ++i) {
      const auto s = clock_type::now();
      for (int r = 0; r < o.responders; ++r) {
        char subj[64];
        std::snprintf(subj, sizeof subj, "natscost.q.%d", r);
        check(natsConnection_PublishRequest(nc, subj, inbox, request, sizeof request), "PublishRequest");
      }
      for (int r = 0; r < o.responders; ++r) {
        natsMsg* m = nullptr;
        if (natsSubscription_NextMsg(&m, in, 2000) != NATS_OK) {
          ++missing;
          continue;
        }
        natsMsg_Destroy(m);
      }
      lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s).count());
    }
    const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
    std::printf("  scatter/gather to %d responders (100 B each way): p50 %.0f us, p99 %.0f us, %ld answers missing\n",
                o.responders, p50, p99, missing);
  }
  {
    // Bulk: every responder sends its share of bulk_bytes in chunks to one inbox.
    for (int round = 0; round < 3; ++round) {
      traffic t(o);
      const auto s = clock_type::now();
      for (int r = 0; r < o.responders; ++r) {
        char subj[64];
        std::snprintf(subj, sizeof subj, "natscost.list.%d", r);
        check(natsConnection_PublishRequest(nc, subj, inbox, request, 16), "PublishRequest list");
      }
      int done = 0;
      std::uint64_t bytes = 0;
      long chunks = 0;
      while (done < o.responders) {
        natsMsg* m = nullptr;
        if (natsSubscription_NextMsg(&m, in, 10000) != NATS_OK) break;
        const int n = natsMsg_GetDataLength(m);
        if (n == 0) ++done;
        else {
          bytes += static_cast<std::uint64_t>(n);
          ++chunks;
        }
        natsMsg_Destroy(m);
      }
      const double secs = seconds_since(s);
      std::printf("  bulk gather, %d responders, %.1f MiB in %ld chunks of up to %d KiB: %.3f s, %.0f MB/s%s\n",
                  o.responders, static_cast<double>(bytes) / (1 << 20), chunks, o.chunk_bytes >> 10, secs,
                  static_cast<double>(bytes) / secs / 1e6, done == o.responders ? "" : " (INCOMPLETE)");
      if (round == 2) t.report("per MiB, both ends", static_cast<double>(bytes) / (1 << 20));
    }
  }
  natsSubscription_Destroy(in);
  natsInbox_Destroy(inbox);
  for (auto& r : rs) {
    natsSubscription_Unsubscribe(r.q);
    natsSubscription_Unsubscribe(r.list);
    natsSubscription_Destroy(r.q);
    natsSubscription_Destroy(r.list);
    natsConnection_Destroy(r.nc);
  }
}


// ---- servers of our own ------------------------------------------------------

struct spawned {
  std::string dir;
  std::vector<pid_t> pids;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f) die("cannot write " + path);
  chmod(path.c_str(), 0600);
}

void run_or_die(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) die("failed: " + cmd);
}

// A CA and one certificate for 127.0.0.1 that serves both as server and as
// route client certificate.
void make_certs(const std::string& d) {
  write_file(d + "/ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  const std::string q = " >/dev/null 2>&1";
  run_or_die("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=natscost-ca"
             " -keyout " + d + "/ca.key -out " + d + "/ca.pem" + q);
  run_or_die("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -keyout " + d +
             "/server.key -out " + d + "/server.csr" + q);
  run_or_die("openssl x509 -req -days 2 -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
             "/ca.key -CAcreateserial -extfile " + d + "/ext.cnf -out " + d + "/server.pem" + q);
}

spawned spawn_servers(options& o) {
  spawned sp;
  char tmpl[] = "/tmp/natscost.XXXXXX";
  if (!mkdtemp(tmpl)) die("mkdtemp failed");
  sp.dir = tmpl;
  g_dir = sp.dir;
  std::random_device rd;
  const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string pw, route_pw;
  for (int i = 0; i < 24; ++i) pw += alphabet[rd() % 62];
  for (int i = 0; i < 24; ++i) route_pw += alphabet[rd() % 62];
  o.user = "bench";
  o.password = pw;
  if (o.tls) {
    make_certs(sp.dir);
    o.tls_ca = sp.dir + "/ca.pem";
  }
  const std::string tls_block = "  cert_file: \"" + sp.dir + "/server.pem\"\n  key_file: \"" + sp.dir +
                                "/server.key\"\n  ca_file: \"" + sp.dir + "/ca.pem\"\n";
  o.servers.clear();
  o.monitors.clear();
  for (int i = 1; i <= o.spawn; ++i) {
    const int client = o.port_base + i, route = o.port_base + 10 + i, http = o.port_base + 20 + i;
    std::string c;
    c += "server_name: natscost-" + std::to_string(i) + "\n";
    c += "listen: 127.0.0.1:" + std::to_string(client) + "\n";
    c += "http: 127.0.0.1:" + std::to_string(http) + "\n";
    c += "jetstream { store_dir: \"" + sp.dir + "/store" + std::to_string(i) +
         "\", max_memory_store: 256MB, max_file_store: 8GB }\n";
    c += "authorization { users: [ { user: bench, password: \"" + pw + "\" } ] }\n";
    if (o.tls) c += "tls {\n" + tls_block + "  timeout: 2\n}\n";
    if (o.spawn > 1) {
      c += "cluster {\n  name: natscost\n  listen: 127.0.0.1:" + std::to_string(route) + "\n";
      c += "  authorization { user: route, password: \"" + route_pw + "\" }\n";
      if (o.tls) c += "  tls {\n" + tls_block + "    verify: true\n    timeout: 2\n  }\n";
      c += "  routes: [";
      bool first = true;
      for (int j = 1; j <= o.spawn; ++j) {
        if (j == i) continue;
        c += std::string(first ? "" : ", ") + "nats-route://route:" + route_pw + "@127.0.0.1:" +
             std::to_string(o.port_base + 10 + j);
        first = false;
      }
      c += "]\n}\n";
    }
    const std::string conf = sp.dir + "/n" + std::to_string(i) + ".conf";
    write_file(conf, c);
    const std::string log = sp.dir + "/n" + std::to_string(i) + ".log";
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      execlp("nats-server", "nats-server", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    sp.pids.push_back(pid);
    g_children.push_back(pid);
    o.servers.push_back(std::string(o.tls ? "tls" : "nats") + "://127.0.0.1:" + std::to_string(client));
    o.monitors.push_back("127.0.0.1:" + std::to_string(http));
  }
  if (o.replicas == 0) o.replicas = o.spawn;
  // Wait until every server answers its health check.
  for (const auto& m : o.monitors) {
    bool up = false;
    for (int attempt = 0; attempt < 100 && !up; ++attempt) {
      up = http_get(m, "/healthz").find("ok") != std::string::npos;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!up) die("nats-server at " + m + " did not come up (logs in " + sp.dir + ")");
  }
  return sp;
}

void stop_servers(spawned& sp) {
  for (pid_t p : sp.pids) kill(p, SIGTERM);
  for (pid_t p : sp.pids) waitpid(p, nullptr, 0);
  g_children.clear();
  g_dir.clear();
  std::error_code ec;
  std::filesystem::remove_all(sp.dir, ec);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--servers") o.servers = split(value());
    else if (a == "--monitor") o.monitors = split(value());
    else if (a == "--user") o.user = value();
    else if (a == "--password-file") {
      std::ifstream f(value());
      std::getline(f, o.password);
    } else if (a == "--tls-ca") o.tls_ca = value();
    else if (a == "--replicas") o.replicas = std::atoi(value().c_str());
    else if (a == "--shards") o.shards = std::atoi(value().c_str());
    else if (a == "--small-count") o.small_count = std::atol(value().c_str());
    else if (a == "--batch-count") o.batch_count = std::atol(value().c_str());
    else if (a == "--cas-count") o.cas_count = std::atol(value().c_str());
    else if (a == "--rtt-count") o.rtt_count = std::atol(value().c_str());
    else if (a == "--responders") o.responders = std::atoi(value().c_str());
    else if (a == "--bulk-mib") o.bulk_bytes = std::atol(value().c_str()) << 20;
    else if (a == "--max-pending") o.max_pending = std::atoi(value().c_str());
    else if (a == "--commit-shards") o.commit_shards = std::atoi(value().c_str());
    else if (a == "--commit-obs") o.commit_obs = std::atoi(value().c_str());
    else if (a == "--spawn") o.spawn = std::atoi(value().c_str());
    else if (a == "--tls") o.tls = true;
    else if (a == "--send-asap") o.send_asap = true;
    else if (a == "--port-base") o.port_base = std::atoi(value().c_str());
    else if (a == "--help" || a == "-h") {
      std::printf("usage: nats_cost --spawn 1|3 [--tls] [--port-base 14200]\n"
                  "   or: nats_cost --servers URL[,URL...] [--monitor HOST:PORT[,...]] [--user U] "
                  "[--password-file F | env NATSCOST_PASSWORD] [--tls-ca FILE] [--replicas N] [--shards 64]\n"
                  "       [--small-count N] [--batch-count N] [--cas-count N] [--rtt-count N] [--responders N]\n"
                  "       [--bulk-mib N] [--max-pending N] [--commit-shards N] [--commit-obs N]\n");
      std::exit(0);
    } else die("unknown option " + a + " (--help)");
  }
  if (o.spawn < 0 || o.spawn > 9) die("--spawn takes 1 to 9 servers");
  if (o.servers.empty() && o.spawn == 0) die("--servers or --spawn is required");
  if (o.tls && o.spawn == 0) die("--tls is for --spawn; use --tls-ca with your own servers");
  if (o.password.empty())
    if (const char* p = std::getenv("NATSCOST_PASSWORD")) o.password = p;
  if (o.shards < 1 || o.responders < 1 || o.cas_threads < 1) die("counts must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  spawned sp;
  if (o.spawn > 0) sp = spawn_servers(o);
  if (o.replicas == 0) o.replicas = static_cast<int>(o.servers.size());
  natsConnection* nc = connect_to(o, {o.servers[0]}, "natscost");
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, nullptr), "natsConnection_JetStream");
  make_stream(js, o);
  std::printf("nats_cost: libnats %s, %zu server(s), replicas %d, %d shard subjects, %s, max pending %d%s\n",
              nats_GetVersion(), o.servers.size(), o.replicas, o.shards, o.tls_ca.empty() ? "plain" : "TLS",
              o.max_pending, o.send_asap ? ", send asap" : "");

  std::printf("(a) JetStream publishes with Nats-Msg-Id\n");
  publish_run(nc, o, "natscost.obs", 40, o.small_count, 0, "async, one observation (40 B)", false);
  // Ids are stream-wide: keep these apart from the 40 B run's.
  publish_run(nc, o, "natscost.big", 64 * 40, o.batch_count, 1000000000, "async, 64 observations (2560 B)", false);
  publish_run(nc, o, "natscost.obs", 40, o.small_count / 4, 0, "async resend of already stored ids (40 B)", true);
  publish_latency(nc, o, o.rtt_count);
  consume_run(nc, o, "natscost.obs.>", o.small_count + o.rtt_count, "pull consumer of the 40 B messages, fetch 512, AckAll");
  consume_run(nc, o, "natscost.big.>", o.batch_count, "pull consumer of the 2560 B messages, fetch 512, AckAll");

  std::printf("(b) KV compare-and-set\n");
  kv_run(nc, o);
  round_cas_run(nc, o, 20, o.cas_count / 10);
  commit_run(nc, o, o.cas_count / 2);

  std::printf("(c) request/reply\n");
  rtt_run(nc, o);

  js_DeleteStream(js, "NATSCOST_OBS", nullptr, nullptr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();
  if (o.spawn > 0) stop_servers(sp);
  return 0;
}

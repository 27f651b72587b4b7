// Cluster mode's own routes (docs/cluster.md): /cluster/status.json —
// this collector's place in the cluster, its NATS connection, and every
// source's cluster-wide record — and /cluster/devices.json, the fleet's
// device list gathered from every collector and merged by MAC. Standalone
// they answer 404 with a sentence.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/deferred_stream.h"
#include "collector/api/device_list.h"
#include "collector/api/json_reply.h"
#include "collector/api/kismet_time.h"
#include "collector/api/routes_all.h"
#include "collector/cluster/cluster_node.h"
#include "collector/persist/annotation_codec.h"
#include "collector/persist/device_codec.h"
#include "collector/track/device_merge.h"
#include "common/clock.h"
#include "common/uuid.h"

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
  // About 200 bytes a source: room for a thousand.
  auto stream = std::make_shared<deferred_stream>(256 * 1024);
  if (auto refused = ctx.svc.cluster->read_status_async(
          [stream](cluster_node::status s) { stream->answer(status_json(s)); });
      !refused.empty())
    return unavailable(ctx.svc.cluster->counters(), std::move(refused));
  http_reply r;
  r.stream = stream;
  return r;
}

// ---- The fleet's device list -------------------------------------------
//
// Each collector answers a "devices" query with its own devices in their
// stored form (persist/device_codec.h: sources by UUID), as entries
// [kind u8][length u32][bytes]: 'S' a source (UUID, NUL, name) before the
// first device that names it, 'D' a device record, 'A' the name and tags
// people gave it (MAC u64, then the stored annotation) after its record. The asking collector
// decodes every share into a tracker of its own, folding the records of
// one MAC into one device (track/device_merge.h), and streams that tracker
// with the list code every device route uses: fields, regex and windows
// as on /devices/views/all/devices.json.

constexpr char kSourceEntry = 'S', kDeviceEntry = 'D', kAnnotationEntry = 'A';

void append_entry(std::string& out, char kind, std::string_view bytes) {
  out.push_back(kind);
  const auto n = static_cast<std::uint32_t>(bytes.size());
  char len[4];
  std::memcpy(len, &n, 4);
  out.append(len, 4);
  out.append(bytes);
}

// This collector's share: every device, a few copied at a time.
void answer_devices(const device_tracker& t, device_tracker::reader reader, const cluster_node::query_send& send) {
  constexpr std::size_t kCopies = 16;
  auto copies = std::make_unique<device[]>(kCopies);
  std::vector<bool> sent;  // by source index
  std::vector<std::uint32_t> fresh;
  std::string part, rec;
  while (const std::size_t n = reader.next(copies.get(), kCopies)) {
    for (std::size_t i = 0; i < n; ++i) {
      rec.clear();
      fresh.clear();
      encode_device(copies[i], [&](std::uint32_t idx) {
        if (idx >= sent.size()) sent.resize(idx + 1, false);
        if (!sent[idx]) sent[idx] = true, fresh.push_back(idx);
        return t.source(idx).uuid;
      }, rec);
      for (const auto idx : fresh) {
        const auto src = t.source(idx);
        append_entry(part, kSourceEntry, src.uuid + std::string(1, '\0') + src.name);
      }
      append_entry(part, kDeviceEntry, rec);
      if (t.annotations().any())
        if (const auto a = t.annotations().get(copies[i].mac)) {
          std::string e(8, '\0');
          std::memcpy(e.data(), &copies[i].mac.v, 8);
          e += encode_annotation(*a);
          append_entry(part, kAnnotationEntry, e);
        }
      if (part.size() >= cluster_node::kQueryPart) {
        send(part);
        part.clear();
      }
    }
  }
  if (!part.empty()) send(part);
}

// The merged fleet: a tracker of its own (with its own source numbering),
// kept alive by the stream that writes it.
struct fleet_devices {
  source_table sources;
  std::unique_ptr<device_tracker> tracker;
  struct share {
    std::string node;
    std::size_t devices = 0, bytes = 0, damaged = 0;
  };
  std::vector<share> shares;
  std::vector<std::pair<std::string, std::string>> missing;
  std::size_t merged = 0;  // records folded into a device another share had
};

std::shared_ptr<fleet_devices> merge_fleet(const cluster_node::gathered& g, const oui_table& ouis) {
  auto f = std::make_shared<fleet_devices>();
  f->missing = g.missing;
  std::unordered_map<std::uint64_t, std::unique_ptr<device>> by_mac;
  std::unordered_map<std::uint64_t, device_annotation> notes;
  const source_index_of index_of = [&f](const std::string& uuid) { return f->sources.index_of(uuid, {}); };
  for (const auto& sh : g.answered) {
    fleet_devices::share s{sh.node};
    for (const auto& part : sh.parts) {
      s.bytes += part.size();
      std::size_t pos = 0;
      while (part.size() - pos >= 5) {
        const char kind = part[pos];
        std::uint32_t len = 0;
        std::memcpy(&len, part.data() + pos + 1, 4);
        if (part.size() - pos - 5 < len) {
          ++s.damaged;
          break;
        }
        const std::string_view bytes(part.data() + pos + 5, len);
        pos += 5 + len;
        if (kind == kSourceEntry) {
          const auto nul = bytes.find('\0');
          f->sources.index_of(std::string(bytes.substr(0, nul)),
                              nul == std::string_view::npos ? std::string() : std::string(bytes.substr(nul + 1)));
        } else if (kind == kAnnotationEntry) {
          device_annotation a;
          std::uint64_t mac = 0;
          if (bytes.size() < 8 || (std::memcpy(&mac, bytes.data(), 8), !decode_annotation(bytes.substr(8), a))) {
            ++s.damaged;
            continue;
          }
          // Given on one collector, usually; if on several, the first
          // name and every tag (the first value of each).
          auto& mine = notes[mac];
          if (!mine.username) mine.username = a.username;
          mine.tags.insert(a.tags.begin(), a.tags.end());
        } else if (kind == kDeviceEntry) {
          auto d = std::make_unique<device>();
          if (!decode_device(bytes, *d, index_of)) {
            ++s.damaged;
            continue;
          }
          ++s.devices;
          auto [it, fresh] = by_mac.try_emplace(d->mac.v);
          if (fresh) {
            it->second = std::move(d);
          } else {
            merge_device(*it->second, *d);
            ++f->merged;
          }
        }
      }
    }
    f->shares.push_back(s);
  }
  std::vector<std::unique_ptr<device>> all;
  all.reserve(by_mac.size());
  for (auto& [mac, d] : by_mac) all.push_back(std::move(d));
  f->tracker = std::make_unique<device_tracker>(device_tracker::options{}, ouis, f->sources);
  f->tracker->restore(std::move(all));
  for (auto& [mac, a] : notes) f->tracker->annotations().restore(mac_addr{mac}, std::move(a));
  return f;
}

// What a fleet list asks for: every device, a view's, or those changed
// since a time (last-time: two rounds, the MACs changed anywhere, then
// every collector's record of those, so a device changed on one collector
// still comes whole).
struct fleet_ask {
  enum class kind { all, view, since } what = kind::all;
  std::string view;  // all, phy-IEEE802.11, phydot11_accesspoints, seenby-<uuid>
  std::uint64_t since_ns = 0, now_s = 0;
};

// The fleet views: Kismet's fixed ones and one per source.
constexpr std::string_view kSeenbyView = "seenby-";
bool fleet_view_known(const std::string& id) {
  if (id == "all" || id == "phy-IEEE802.11" || id == "phydot11_accesspoints") return true;
  return id.size() > kSeenbyView.size() && id.compare(0, kSeenbyView.size(), kSeenbyView) == 0 &&
         uuid::parse(id.substr(kSeenbyView.size()));
}

// A known view's filter over the merged devices (empty: every device).
device_filter fleet_view_filter(const std::string& id, source_table& sources) {
  if (id == "phydot11_accesspoints") return [](const device& d) { return (d.types & kTypeAp) != 0; };
  if (id.compare(0, kSeenbyView.size(), kSeenbyView) != 0) return {};
  // A source no collector's device names gets an index of its own: an
  // empty list, not a 404.
  const std::uint32_t idx = sources.index_of(uuid::parse(id.substr(kSeenbyView.size()))->str(), {});
  return [idx](const device& d) {
    for (const auto& s : d.seenby)
      if (s.source == idx) return true;
    return false;
  };
}

void answer_fleet(const std::shared_ptr<deferred_stream>& stream, list_request req, const fleet_ask& ask,
                  const oui_table& ouis, cluster_node::gathered g, std::vector<std::pair<std::string, std::string>> more_missing) {
  if (!g.why.empty()) g.missing.emplace_back("", g.why);
  for (auto& m : more_missing)
    if (std::none_of(g.missing.begin(), g.missing.end(), [&m](const auto& x) { return x.first == m.first; }))
      g.missing.push_back(std::move(m));
  auto f = merge_fleet(g, ouis);
  device_filter keep;
  if (ask.what == fleet_ask::kind::view) keep = fleet_view_filter(ask.view, f->sources);
  auto reader = ask.what == fleet_ask::kind::since ? f->tracker->read_changed_since(ask.since_ns) : f->tracker->read_all();
  auto list = stream_devices(out_format::json, std::move(req), std::move(reader), *f->tracker, std::move(keep)).stream;
  std::vector<fleet_share_info> answered;
  for (const auto& s : f->shares) {
    fleet_share_info i{s.node, {{"devices", s.devices}, {"bytes", s.bytes}}};
    if (s.damaged) i.counts.emplace_back("damaged_records", s.damaged);
    answered.push_back(std::move(i));
  }
  fleet_counts totals = {{"hopwire.cluster.devices", f->tracker->device_count()},
                         {"hopwire.cluster.merged_records", f->merged}};
  // A client polls again from this time: with a collector missing, from
  // the time it asked about, so that what it missed comes next time.
  if (ask.what == fleet_ask::kind::since)
    totals.emplace_back("kismet.devicelist.timestamp",
                        f->missing.empty() ? ask.now_s : ask.since_ns / 1000000000ull);
  stream->answer(fleet_head(answered, f->missing, totals, "kismet.device.list"), std::move(list), f, "}");
}

// The MACs each collector changed since the time, as 8-byte values.
std::vector<std::uint64_t> changed_macs(const cluster_node::gathered& g) {
  std::vector<std::uint64_t> macs;
  for (const auto& sh : g.answered)
    for (const auto& part : sh.parts)
      for (std::size_t pos = 0; pos + 8 <= part.size(); pos += 8) {
        std::uint64_t m = 0;
        std::memcpy(&m, part.data() + pos, 8);
        macs.push_back(m);
      }
  std::sort(macs.begin(), macs.end());
  macs.erase(std::unique(macs.begin(), macs.end()), macs.end());
  return macs;
}

std::string macs_query(const std::vector<std::uint64_t>& macs) {
  std::string q = R"({"q":"devices","macs":")";
  static const char* hex = "0123456789abcdef";
  for (const auto m : macs)
    for (int i = 11; i >= 0; --i) q.push_back(hex[(m >> (4 * i)) & 0xf]);
  q += "\"}";
  return q;
}

// Past this many changed MACs the second round asks for every device (the
// list of MACs would not fit a NATS message); the merged devices are then
// cut to those changed since, as with fewer.
constexpr std::size_t kMaxAskedMacs = 60000;

http_reply fleet_list(request_ctx& ctx, fleet_ask ask) {
  if (!ctx.svc.cluster)
    return text_reply(404, "this collector is standalone: there is no cluster: section in its config (docs/cluster.md)");
  list_request req;
  http_reply err;
  if (!prepare_list(ctx, req, err)) return err;
  if (ask.what == fleet_ask::kind::view && !fleet_view_known(ask.view))
    return text_reply(404, "no fleet device view '" + ask.view +
                               "' (all, phy-IEEE802.11, phydot11_accesspoints, seenby-<source uuid>)");
  if (ask.what == fleet_ask::kind::since) {
    const auto now_ns = wall_ns();
    const auto since = parse_kismet_time(ctx.params.at(0), now_ns);
    if (!since)
      return text_reply(400, "timestamp must be seconds since the epoch (a fraction allowed: 1700000000.5), or "
                             "negative for seconds ago");
    ask.since_ns = *since;
    // Taken before any collector is asked: a change made meanwhile comes
    // again next time rather than never.
    ask.now_s = now_ns / 1000000000ull;
  }
  if (auto c = ctx.svc.cluster->counters(); !c.why.empty()) return unavailable(std::move(c), {});
  // The list's own bound, and the head (a line per collector).
  auto stream = std::make_shared<deferred_stream>(512 * 1024);
  const oui_table& ouis = ctx.svc.tracker->ouis();
  cluster_node* cluster = ctx.svc.cluster;
  std::string refused;
  if (ask.what != fleet_ask::kind::since) {
    refused = cluster->gather_async(std::string(kFleetDevicesQuery),
                                    [stream, req = std::move(req), ask, &ouis](cluster_node::gathered g) mutable {
                                      answer_fleet(stream, std::move(req), ask, ouis, std::move(g), {});
                                    });
  } else {
    const std::string first = R"({"q":"changed","since_ns":)" + std::to_string(ask.since_ns) + "}";
    refused = cluster->gather_async(first, [stream, req = std::move(req), ask, &ouis,
                                            cluster](cluster_node::gathered g1) mutable {
      // Who missed the first round is missing from the answer too.
      auto missing = g1.missing;
      if (!g1.why.empty()) missing.emplace_back("", g1.why);
      const auto macs = changed_macs(g1);
      const std::string second =
          macs.size() > kMaxAskedMacs ? std::string(kFleetDevicesQuery) : macs_query(macs);
      if (macs.empty()) {
        cluster_node::gathered none;
        for (const auto& sh : g1.answered) none.answered.push_back({sh.node, {}});
        return answer_fleet(stream, std::move(req), ask, ouis, std::move(none), std::move(missing));
      }
      // The second round here, on the query thread: not queued behind
      // (or refused by) other requests.
      answer_fleet(stream, std::move(req), ask, ouis, cluster->gather(second), std::move(missing));
    });
  }
  if (!refused.empty()) return unavailable(cluster->counters(), std::move(refused));
  http_reply r;
  r.stream = stream;
  return r;
}

http_reply fleet_device_list(request_ctx& ctx) { return fleet_list(ctx, {}); }

}  // namespace

std::string fleet_head(const std::vector<fleet_share_info>& answered,
                       const std::vector<std::pair<std::string, std::string>>& missing, const fleet_counts& totals,
                       const char* list_key) {
  rapidjson::StringBuffer buf;
  jsonw::writer w(buf);
  w.StartObject();
  w.Key("hopwire.cluster.collectors");
  w.StartArray();
  for (const auto& s : answered) {
    w.StartObject();
    jsonw::kv(w, "node_id", s.node);
    for (const auto& [k, v] : s.counts) jsonw::kv(w, k, v);
    w.EndObject();
  }
  w.EndArray();
  w.Key("hopwire.cluster.missing");
  w.StartArray();
  for (const auto& [node, why] : missing) {
    w.StartObject();
    jsonw::kv(w, "node_id", node);
    jsonw::kv(w, "why", why);
    w.EndObject();
  }
  w.EndArray();
  for (const auto& [k, v] : totals) jsonw::kv(w, k, v);
  w.EndObject();
  std::string head(buf.GetString(), buf.GetSize());
  head.pop_back();  // left open for the list
  head += ",\"";
  head += list_key;
  head += "\":";
  return head;
}

void add_cluster_routes(route_table& t, api_context& api) {
  add_route(t, api, "GET", "/cluster/status.json", kReadRole,
            "Cluster mode: this node, its NATS connection, and every source's cluster-wide record (owner, last "
            "acknowledged batch, counts)",
            cluster_status);
  const char* fleet_summary =
      "Cluster mode: the fleet's devices, gathered from every live collector and merged by MAC (POST: fields, "
      "regex, start, length as on the device lists)";
  add_route(t, api, "GET", "/cluster/devices.json", kReadRole, fleet_summary, fleet_device_list);
  add_route(t, api, "POST", "/cluster/devices.json", kReadRole, fleet_summary, fleet_device_list, kListCommandLimit);
  const auto view = [](request_ctx& c) {
    fleet_ask a;
    a.what = fleet_ask::kind::view;
    a.view = c.params.at(0);
    return fleet_list(c, a);
  };
  const auto since = [](request_ctx& c) {
    fleet_ask a;
    a.what = fleet_ask::kind::since;
    return fleet_list(c, a);
  };
  const char* view_summary =
      "Cluster mode: a device view of the fleet (all, phy-IEEE802.11, phydot11_accesspoints, seenby-UUID), "
      "gathered and merged";
  const char* since_summary =
      "Cluster mode: the fleet's devices changed since TS on any collector, each merged whole (negative: seconds "
      "ago)";
  for (const char* method : {"GET", "POST"}) {
    const std::size_t limit = std::string_view(method) == "POST" ? kListCommandLimit : 0;
    add_route(t, api, method, "/cluster/devices/views/{view}/devices.json", kReadRole, view_summary, view, limit);
    add_route(t, api, method, "/cluster/devices/last-time/{ts}/devices.json", kReadRole, since_summary, since,
              limit);
  }
}

void serve_fleet_queries(cluster_node& cluster, const device_tracker& tracker, const alert_engine* alerts) {
  cluster.serve([&tracker, alerts](const std::string& request, const cluster_node::query_send& send) {
    if (request == kFleetDevicesQuery) return answer_devices(tracker, tracker.read_all(), send);
    rapidjson::Document d;
    d.Parse(request.data(), request.size());
    if (!d.HasParseError() && d.IsObject() && d.HasMember("q") && d["q"].IsString()) {
      const std::string_view q = d["q"].GetString();
      if (q == "changed" && d.HasMember("since_ns") && d["since_ns"].IsUint64()) {
        std::string part;
        tracker.for_each_changed_since(d["since_ns"].GetUint64(), [&](const device& dev) {
          part.append(reinterpret_cast<const char*>(&dev.mac.v), 8);
          if (part.size() >= cluster_node::kQueryPart) send(part), part.clear();
        });
        if (!part.empty()) send(part);
        return;
      }
      if (q == "devices" && d.HasMember("macs") && d["macs"].IsString()) {
        const std::string_view hex(d["macs"].GetString(), d["macs"].GetStringLength());
        if (hex.size() % 12) throw std::runtime_error("a fleet query's MAC list is not 12 hex digits a MAC");
        std::vector<mac_addr> macs;
        for (std::size_t i = 0; i < hex.size(); i += 12) {
          std::uint64_t m = 0;
          for (std::size_t j = 0; j < 12; ++j) {
            const char c = hex[i + j];
            const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (v < 0) throw std::runtime_error("a fleet query's MAC list has a character that is not hex");
            m = m << 4 | static_cast<std::uint64_t>(v);
          }
          macs.push_back(mac_addr{m});
        }
        return answer_devices(tracker, tracker.read_macs(macs), send);
      }
    }
    if (request == kFleetAlertsQuery) {
      if (!alerts) throw std::runtime_error("its alert engine is not running");
      return serve_fleet_alerts(*alerts, send);
    }
    throw std::runtime_error("unknown fleet query: " + request.substr(0, 80));
  });
}

}  // namespace hopwire::collector

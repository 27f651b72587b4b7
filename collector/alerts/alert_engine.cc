// The engine's bookkeeping: definitions and their limits, raising and
// merging, the history and its retention, storage, acknowledgements,
// queries, subscribers, sources and the once-a-second checks. The 802.11
// detectors are in detectors.cc.
#include <algorithm>

#include <fmt/format.h>

#include "collector/alerts/alert_codec.h"
#include "collector/alerts/engine_internal.h"
#include "common/channel.h"
#include "common/clock.h"
#include "common/text.h"

namespace hopwire::collector {

namespace {

std::uint64_t open_key(int def, std::uint64_t subject) { return mix64(subject, static_cast<std::uint64_t>(def) + 1); }

std::shared_ptr<const engine_config> compile(const alerts_config& cfg, std::uint32_t gen) {
  auto c = std::make_shared<engine_config>();
  c->gen = gen;
  c->raw = cfg;
  auto h = [](std::string_view s) {
    return hash_bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  };
  for (std::size_t i = 0; i < cfg.known_networks.size() && i < engine_config::kNone; ++i) {
    const auto& n = cfg.known_networks[i];
    if (n.glob) c->networks_glob.push_back(static_cast<std::uint16_t>(i));
    else c->networks_exact.emplace(h(n.ssid), static_cast<std::uint16_t>(i));
  }
  for (std::size_t i = 0; i < cfg.canaries.size() && i < engine_config::kNone; ++i) {
    const auto& n = cfg.canaries[i];
    if (n.glob) c->canaries_glob.push_back(static_cast<std::uint16_t>(i));
    else c->canaries_exact.emplace(h(n.ssid), static_cast<std::uint16_t>(i));
  }
  return c;
}

std::string sanitised(std::string_view text) {
  return ssid_text(text.size() > kMaxAlertText ? text.substr(0, kMaxAlertText) : text);
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::uint16_t engine_config::find_network(std::string_view ssid, std::uint64_t hash) const {
  auto [b, e] = networks_exact.equal_range(hash);
  std::uint16_t best = kNone;
  for (auto it = b; it != e; ++it)
    if (raw.known_networks[it->second].ssid == ssid) best = std::min(best, it->second);
  for (auto i : networks_glob)
    if (i < best && glob_match(raw.known_networks[i].ssid, ssid)) best = i;
  return best;
}

std::uint16_t engine_config::find_canary(std::string_view ssid, std::uint64_t hash) const {
  auto [b, e] = canaries_exact.equal_range(hash);
  std::uint16_t best = kNone;
  for (auto it = b; it != e; ++it)
    if (raw.canaries[it->second].ssid == ssid) best = std::min(best, it->second);
  for (auto i : canaries_glob)
    if (i < best && glob_match(raw.canaries[i].ssid, ssid)) best = i;
  return best;
}

engine_state::engine_state(std::size_t shard_count, std::size_t bss_capacity) {
  std::size_t n = 1;
  while (n < shard_count && n < 1024) n <<= 1;
  shard_count = n;
  shard_mask = n - 1;
  const std::size_t per = std::max<std::size_t>(16, bss_capacity / shard_count);
  for (std::size_t i = 0; i < shard_count; ++i) {
    bss.push_back(std::make_unique<bss_shard>(per));
    nonces.push_back(std::make_unique<nonce_shard>(std::max<std::size_t>(16, 4096 / shard_count)));
  }
}

alert_engine::alert_engine(const source_table* sources, const oui_table* ouis, const alerts_config& cfg)
    : alert_engine(sources, ouis, cfg, options{}) {}

alert_engine::alert_engine(const source_table* sources, const oui_table* ouis, const alerts_config& cfg,
                           options opts)
    : sources_(sources), ouis_(ouis), clock_(opts.clock ? std::move(opts.clock) : std::function<std::uint64_t()>(wall_ns)),
      st_(std::make_unique<engine_state>(opts.shards, cfg.max_tracked_bssids)) {
  for (std::size_t i = 0; i < kBuiltinAlerts; ++i) {
    const auto& b = builtin(static_cast<builtin_alert>(i));
    auto& d = st_->builtins[i];
    d.header = b.header;
    d.alert_class = b.alert_class;
    d.description = b.description;
    d.default_severity = b.severity;
    d.phy = b.phy == kPhyAny ? -1 : static_cast<std::int64_t>(b.phy);
    d.builtin = true;
    st_->by_name[b.header] = static_cast<int>(i);
  }
  configure(cfg);
}

alert_engine::~alert_engine() = default;

std::uint64_t alert_engine::now() const { return clock_(); }

bool alert_engine::active(builtin_alert a) const {
  return st_->builtins[static_cast<std::size_t>(a)].active.load(std::memory_order_relaxed);
}

void alert_engine::configure(const alerts_config& cfg) {
  const auto old = st_->config();
  const std::uint32_t gen = old ? old->gen + 1 : 1;
  for (std::size_t i = 0; i < kBuiltinAlerts; ++i) {
    const auto& b = builtin(static_cast<builtin_alert>(i));
    const auto it = cfg.definitions.find(b.header);
    st_->builtins[i].apply(it == cfg.definitions.end() ? nullptr : &it->second, b.limits, b.severity);
  }
  std::atomic_store(&st_->cfg, compile(cfg, gen));
  watch_.set_configured(cfg.watch);
  std::lock_guard lock(st_->mu);
  while (st_->history.size() > cfg.retention_count) {
    st_->erase_pending = std::max(st_->erase_pending, st_->history.front().id);
    st_->dirty.erase(st_->history.front().id);
    st_->history.pop_front();
  }
}

// ---------------------------------------------------------------------------
// Raising and merging.

namespace {

alert_seenby* find_seen(alert& a, const detection& d) {
  for (auto& e : a.seenby) {
    if (d.sensor != 0xffffffffu && e.source == d.sensor) return &e;
    if (d.src && e.source == 0xffffffffu && e.uuid == d.src->uuid) return &e;
  }
  return nullptr;
}

}  // namespace

namespace {

// Adds what `d` saw to the seenby entry of its sensor (made if new).
void add_seen(alert& a, const detection& d, const source_table* sources) {
  if (d.sensor == 0xffffffffu) return;
  alert_seenby* e = find_seen(a, d);
  if (!e) {
    if (a.seenby.size() >= kMaxAlertSeenby) return;
    alert_seenby n;
    n.source = d.sensor;
    if (d.src) {
      n.uuid = d.src->uuid;
      n.name = d.src->name;
    } else if (sources) {
      const auto s = sources->get(d.sensor);
      n.uuid = s.uuid;
      n.name = s.name;
    }
    a.seenby.push_back(std::move(n));
    e = &a.seenby.back();
  }
  e->source = d.sensor;
  e->packets += d.packets;
  if (d.pkt) {
    if (d.pkt->has_signal()) e->add_signal(d.pkt->signal_dbm());
    const auto ts = d.pkt->ts_ns;
    if (!e->first_ns || ts < e->first_ns) e->first_ns = ts;
    if (ts > e->last_ns) e->last_ns = ts;
  }
}

alert* find_alert(std::deque<alert>& h, std::uint64_t id) {
  auto it = std::lower_bound(h.begin(), h.end(), id, [](const alert& a, std::uint64_t v) { return a.id < v; });
  return it != h.end() && it->id == id ? &*it : nullptr;
}

}  // namespace

bool alert_engine::touch(const detection& d) {
  const auto cfg = st_->config();
  if (!cfg->raw.merge_window_ns || !d.merge) return false;
  const auto t = now();
  std::lock_guard lock(st_->mu);
  return merge_locked(d, cfg->raw.merge_window_ns, t);
}

bool alert_engine::merge_locked(const detection& d, std::uint64_t window, std::uint64_t t) {
  if (!window || !d.merge) return false;
  const int def = d.def_index >= 0 ? d.def_index : static_cast<int>(d.def);
  open_alert* o = st_->open.find(open_key(def, d.subject));
  if (!o || t - o->raised_ns >= window) return false;
  alert* a = find_alert(st_->history, o->id);
  if (!a) return false;
  add_seen(*a, d, sources_);
  ++a->count;
  a->last_ns = std::max(a->last_ns, t);
  st_->dirty.insert(a->id);
  if (def < static_cast<int>(kBuiltinAlerts)) st_->builtins[def].merged.fetch_add(1, std::memory_order_relaxed);
  st_->merged.fetch_add(1, std::memory_order_relaxed);
  return true;
}

alert_engine::outcome alert_engine::hit(const detection& d, const text_fn& text, std::uint64_t* raised_id) {
  const int def_index = d.def_index >= 0 ? d.def_index : static_cast<int>(d.def);
  const auto cfg = st_->config();
  const auto t = now();
  alert copy;
  {
    std::lock_guard lock(st_->mu);
    // Merge first, under the same lock that raises: two sensors detecting
    // the same thing at once make one alert seen by both, never one alert
    // and a throttled second.
    if (merge_locked(d, cfg->raw.merge_window_ns, t)) return outcome::merged;
    def_state& def = def_index < static_cast<int>(kBuiltinAlerts)
                         ? st_->builtins[static_cast<std::size_t>(def_index)]
                         : st_->custom[static_cast<std::size_t>(def_index) - kBuiltinAlerts];
    if (!def.active.load(std::memory_order_relaxed)) {
      st_->disabled.fetch_add(1, std::memory_order_relaxed);
      return outcome::disabled;
    }
    if (!def.limiter.try_acquire(t)) {
      def.throttled.fetch_add(1, std::memory_order_relaxed);
      st_->throttled.fetch_add(1, std::memory_order_relaxed);
      return outcome::limited;
    }
    alert a;
    a.id = st_->next_id++;
    a.header = def.header;
    a.alert_class = def.alert_class;
    a.severity = def.severity;
    a.phy = def.phy < 0 ? kPhyAny : static_cast<std::uint32_t>(def.phy);
    a.ts_ns = t - t % 1000;  // Kismet's timeval: whole microseconds
    a.transmitter = d.transmitter;
    a.source = d.source;
    a.dest = d.dest;
    a.other = d.other;
    std::uint32_t mhz = d.pkt ? d.pkt->freq_mhz() : 0;
    if (!d.channel_text.empty()) a.channel = std::string(d.channel_text);
    else if (d.channel) a.channel = std::to_string(d.channel);
    else if (mhz) a.channel = std::to_string(mhz_to_channel(mhz));
    a.freq_khz = d.freq_khz ? d.freq_khz : mhz * 1000;
    a.text = text();
    if (a.text.size() > kMaxAlertText) a.text.resize(kMaxAlertText);
    if (d.pkt && d.pkt->has_gps) {
      a.location.valid = true;
      a.location.lat = d.pkt->lat;
      a.location.lon = d.pkt->lon;
      a.location.alt = d.pkt->alt;
      a.location.has_alt = d.pkt->alt == d.pkt->alt;  // not NaN
      a.location.time_ns = d.pkt->ts_ns;
    }
    a.device = d.device;
    a.has_device = d.has_device;
    a.hash = kismet_alert_hash(a);
    add_seen(a, d, sources_);
    a.count = 1;
    a.last_ns = t;
    def.raised.fetch_add(1, std::memory_order_relaxed);
    st_->raised.fetch_add(1, std::memory_order_relaxed);
    st_->dirty.insert(a.id);
    if (d.merge && cfg->raw.merge_window_ns) {
      bool fresh;
      st_->open.get(open_key(def_index, d.subject), fresh) = open_alert{a.id, t};
    }
    if (raised_id) *raised_id = a.id;
    copy = a;
    st_->history.push_back(std::move(a));
    while (st_->history.size() > std::max<std::size_t>(cfg->raw.retention_count, 1)) {
      st_->erase_pending = std::max(st_->erase_pending, st_->history.front().id);
      st_->dirty.erase(st_->history.front().id);
      st_->history.pop_front();
    }
  }
  notify(copy);
  return outcome::raised;
}

void alert_engine::notify(const alert& a) {
  std::lock_guard lock(st_->sub_mu);
  for (const auto& [token, fn] : st_->subs) fn(a);
}

std::size_t alert_engine::subscribe(subscriber fn) {
  std::lock_guard lock(st_->sub_mu);
  const auto token = st_->next_token++;
  st_->subs.emplace_back(token, std::move(fn));
  return token;
}

void alert_engine::unsubscribe(std::size_t token) {
  std::lock_guard lock(st_->sub_mu);
  std::erase_if(st_->subs, [token](const auto& s) { return s.first == token; });
}

alert_engine::raise_result alert_engine::raise(const raise_request& r) {
  std::string name, why;
  if (!normalise_alert_name(r.name, name, why))
    return {raise_status::unknown, 0, "unknown alert type '" + ssid_text(r.name) + "'"};
  int index;
  {
    std::lock_guard lock(st_->mu);
    const auto it = st_->by_name.find(name);
    if (it == st_->by_name.end()) return {raise_status::unknown, 0, "unknown alert type '" + name + "'"};
    index = it->second;
  }
  detection d;
  d.def_index = index;
  d.merge = false;
  d.transmitter = r.transmitter;
  d.source = r.source;
  d.dest = r.dest;
  d.other = r.other;
  d.channel_text = r.channel;
  d.sensor = r.sensor;
  const std::string text = sanitised(r.text);
  auto make = [&] { return text; };
  std::uint64_t id = 0;
  switch (hit(d, text_fn(make), &id)) {
    case outcome::raised: return {raise_status::raised, id, {}};
    case outcome::disabled:
      return {raise_status::throttled, 0, "alert " + name + " is disabled (rate 0 or enabled: false)"};
    default: return {raise_status::throttled, 0, "alert throttle reached, alert not raised."};
  }
}

std::uint64_t alert_engine::raise_one_shot(std::string_view header, std::string_view alert_class, std::uint8_t severity,
                                           std::string_view text) {
  std::string h, c, why;
  if (!normalise_alert_name(header, h, why)) h = "KISMET";
  if (!normalise_alert_name(alert_class, c, why)) c = "SYSTEM";
  const auto cfg = st_->config();
  const auto t = now();
  alert a;
  {
    std::lock_guard lock(st_->mu);
    a.id = st_->next_id++;
    a.header = h;
    a.alert_class = c;
    a.severity = valid_severity(severity) ? severity : kSevCritical;
    a.phy = kPhyAny;
    a.ts_ns = t - t % 1000;
    a.text = sanitised(text);
    a.hash = kismet_alert_hash(a);
    a.last_ns = t;
    st_->dirty.insert(a.id);
    st_->history.push_back(a);
    st_->raised.fetch_add(1, std::memory_order_relaxed);
    while (st_->history.size() > std::max<std::size_t>(cfg->raw.retention_count, 1)) {
      st_->erase_pending = std::max(st_->erase_pending, st_->history.front().id);
      st_->dirty.erase(st_->history.front().id);
      st_->history.pop_front();
    }
  }
  notify(a);
  return a.id;
}

alert_engine::define_result alert_engine::define(const define_request& r) {
  std::string name, cls, why;
  if (!normalise_alert_name(r.name, name, why)) return {define_status::invalid, "name: " + why};
  if (!normalise_alert_name(r.alert_class.empty() ? "OTHER" : r.alert_class, cls, why))
    return {define_status::invalid, "class: " + why};
  if (!valid_severity(r.severity))
    return {define_status::invalid, "unknown severity level " + std::to_string(r.severity) + " (0, 5, 10, 15, 20)"};
  const auto limits = try_parse_alert_limits(r.throttle, r.burst, why);
  if (!limits) return {define_status::invalid, why};
  std::int64_t phy = -1;
  if (!r.phyname.empty() && r.phyname != "any") {
    if (r.phyname == "IEEE802.11" || r.phyname == "phy80211" || r.phyname == "phydot11") phy = kPhyDot11;
    else return {define_status::invalid, "could not find phy '" + ssid_text(r.phyname) + "' (any, IEEE802.11)"};
  }
  std::lock_guard lock(st_->mu);
  if (st_->by_name.count(name)) return {define_status::exists, "alert " + name + " is already defined"};
  if (st_->custom.size() >= 1024) return {define_status::invalid, "too many alert definitions (1024)"};
  auto& d = st_->custom.emplace_back();
  d.header = name;
  d.alert_class = cls;
  d.description = sanitised(r.description);
  d.severity = d.default_severity = static_cast<std::uint8_t>(r.severity);
  d.phy = phy;
  d.builtin = false;
  d.limits = *limits;
  d.limiter.set_limits(*limits);
  d.active.store(limits->rate.count > 0, std::memory_order_relaxed);
  st_->by_name[name] = static_cast<int>(kBuiltinAlerts + st_->custom.size() - 1);
  return {};
}

std::vector<alert_definition> alert_engine::definitions() const {
  std::vector<alert_definition> out;
  auto one = [&](const def_state& d) {
    alert_definition a;
    a.header = d.header;
    a.alert_class = d.alert_class;
    a.severity = d.severity;
    a.default_severity = d.default_severity;
    a.description = d.description;
    a.phy = d.phy;
    a.limits = d.limiter.limits();
    a.enabled = d.enabled;
    a.builtin = d.builtin;
    const auto s = d.limiter.snapshot();
    a.burst_sent = s.burst_sent;
    a.total_sent = s.total_sent;
    a.time_last_ns = s.time_last_ns;
    a.raised = d.raised.load(std::memory_order_relaxed);
    a.merged = d.merged.load(std::memory_order_relaxed);
    a.throttled = d.throttled.load(std::memory_order_relaxed);
    out.push_back(std::move(a));
  };
  std::lock_guard lock(st_->mu);
  for (const auto& d : st_->builtins) one(d);
  for (const auto& d : st_->custom) one(d);
  return out;
}

bool alert_engine::acknowledge(std::uint64_t id, std::string_view who, bool ack) {
  const auto t = now();
  std::lock_guard lock(st_->mu);
  alert* a = find_alert(st_->history, id);
  if (!a) return false;
  a->acknowledged = ack;
  a->acknowledged_by = ack ? sanitised(who.substr(0, std::min<std::size_t>(who.size(), 256))) : std::string();
  a->acknowledged_ns = ack ? t : 0;
  st_->dirty.insert(id);
  return true;
}

std::vector<alert> alert_engine::all() const {
  std::lock_guard lock(st_->mu);
  return {st_->history.begin(), st_->history.end()};
}

std::vector<alert> alert_engine::since(double ts) const {
  std::vector<alert> out;
  std::lock_guard lock(st_->mu);
  for (const auto& a : st_->history)
    if (a.timestamp() > ts) out.push_back(a);
  return out;
}

std::optional<alert> alert_engine::by_id(std::uint64_t id) const {
  std::lock_guard lock(st_->mu);
  if (const alert* a = find_alert(st_->history, id)) return *a;
  return std::nullopt;
}

std::optional<alert> alert_engine::by_hash(std::uint32_t hash) const {
  std::lock_guard lock(st_->mu);
  for (const auto& a : st_->history)
    if (a.hash == hash) return a;
  return std::nullopt;
}

alert_engine::counters alert_engine::stats() const {
  counters c;
  c.raised = st_->raised.load();
  c.merged = st_->merged.load();
  c.throttled = st_->throttled.load();
  c.disabled = st_->disabled.load();
  c.store_writes = st_->store_writes.load();
  c.store_failures = st_->store_failures.load();
  for (const auto& s : st_->bss) {
    std::lock_guard lock(s->mu);
    c.evicted_state += s->table.evictions();
  }
  std::lock_guard lock(st_->mu);
  c.history = st_->history.size();
  c.pending = st_->dirty.size();
  return c;
}

// ---------------------------------------------------------------------------
// Storage.

std::vector<std::string> alert_engine::attach(alert_backend* alerts, watchlist_backend* watch) {
  std::vector<std::string> problems;
  if (watch) {
    watch_.load(*watch, problems);
    watch_.set_backend(watch);
  }
  if (!alerts) return problems;
  std::vector<alert> loaded;
  std::size_t damaged = 0;
  alerts->load([&](std::uint64_t id, std::string_view record) {
    alert a;
    std::string why;
    if (!decode_alert(record, a, why) || a.id != id) {
      if (++damaged <= 5) problems.push_back("alert " + std::to_string(id) + ": " + (why.empty() ? "id mismatch" : why));
      return;
    }
    loaded.push_back(std::move(a));
  });
  if (damaged > 5) problems.push_back(std::to_string(damaged - 5) + " more damaged alert records skipped");
  std::sort(loaded.begin(), loaded.end(), [](const alert& a, const alert& b) { return a.id < b.id; });
  const auto cfg = st_->config();
  {
    std::lock_guard lock(st_->mu);
    std::uint64_t top = 0;
    for (auto& a : loaded) {
      top = std::max(top, a.id);
      if (find_alert(st_->history, a.id)) continue;
      auto pos = std::lower_bound(st_->history.begin(), st_->history.end(), a.id,
                                  [](const alert& x, std::uint64_t v) { return x.id < v; });
      st_->history.insert(pos, std::move(a));
    }
    if (top >= st_->next_id) {
      // Alerts raised before attach (none, normally) take ids after the stored ones.
      st_->next_id = top + 1;
    }
    while (st_->history.size() > cfg->raw.retention_count) {
      st_->erase_pending = std::max(st_->erase_pending, st_->history.front().id);
      st_->history.pop_front();
    }
  }
  std::lock_guard flock(st_->flush_mu);
  st_->backend = alerts;
  return problems;
}

void alert_engine::flush() {
  std::lock_guard flock(st_->flush_mu);
  std::vector<std::pair<std::uint64_t, std::string>> batch;
  std::uint64_t erase_to = 0;
  {
    std::lock_guard lock(st_->mu);
    if (!st_->backend) {
      st_->dirty.clear();
      return;
    }
    batch.reserve(st_->dirty.size());
    for (const auto id : st_->dirty)
      if (const alert* a = find_alert(st_->history, id)) batch.emplace_back(id, encode_alert(*a));
    st_->dirty.clear();
    erase_to = st_->erase_pending;
  }
  if (!batch.empty()) {
    std::sort(batch.begin(), batch.end());
    if (st_->backend->put(batch)) {
      st_->store_writes.fetch_add(1, std::memory_order_relaxed);
    } else {
      st_->store_failures.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(st_->mu);
      for (const auto& [id, rec] : batch) st_->dirty.insert(id);
    }
  }
  if (erase_to > st_->erased_through) {
    if (st_->backend->erase_through(erase_to)) st_->erased_through = erase_to;
    else st_->store_failures.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---------------------------------------------------------------------------
// Sources, events, the timer.

void alert_engine::on_event(const tracker_event& e) {
  if (e.kind == event_kind::source_up) {
    source_up(e.source);
  } else if (e.kind == event_kind::source_error) {
    source_error(e.source, e.reason);
  } else if (e.kind == event_kind::source_down && e.source_lost) {
    // A link that timed out or failed; a sensor's goodbye (a replay that
    // ended, a restart) stays quiet.
    source_down(e.source, false, e.reason);
  } else if (e.kind == event_kind::source_down) {
    std::lock_guard lock(st_->src_mu);
    st_->sources[e.source].up = false;
  }
}

void alert_engine::source_up(std::uint32_t source) {
  const auto t = now();
  std::lock_guard lock(st_->src_mu);
  auto& s = st_->sources[source];
  s.up = true;
  s.up_ns = t;
  s.silent_alerted = false;
}

namespace {

std::string source_label(const source_table* sources, std::uint32_t s) {
  if (!sources) return "source " + std::to_string(s);
  const auto e = sources->get(s);
  if (e.uuid.empty()) return "source " + std::to_string(s);
  return ssid_text(e.name) + " (" + e.uuid + ")";
}

}  // namespace

void alert_engine::source_down(std::uint32_t source, bool clean, std::string_view reason) {
  bool was_up;
  {
    std::lock_guard lock(st_->src_mu);
    auto& s = st_->sources[source];
    was_up = s.up;
    s.up = false;
  }
  if (clean || !was_up) return;
  detection d;
  d.def = builtin_alert::sensorlost;
  d.subject = source_subject(source);
  d.sensor = source;
  d.packets = 0;
  const std::string why = sanitised(reason);
  auto text = [&] {
    return "Sensor " + source_label(sources_, source) + " stopped reporting: " +
           (why.empty() ? std::string("its link dropped") : why) +
           ". It keeps what it captures and sends it when it reconnects.";
  };
  hit(d, text_fn(text));
}

void alert_engine::source_error(std::uint32_t source, std::string_view reason) {
  detection d;
  d.def = builtin_alert::sourceerror;
  d.subject = source_subject(source);
  d.sensor = source;
  d.packets = 0;
  const std::string why = sanitised(reason);
  auto text = [&] {
    return "Source " + source_label(sources_, source) + " has encountered an error (" + why +
           "). Remote sources are not reopened by the collector; capture resumes when the sensor reconnects.";
  };
  hit(d, text_fn(text));
}

void alert_engine::check_silent_sources(std::uint64_t t) {
  const auto cfg = st_->config();
  const auto silence = cfg->raw.sensor_silence_ns;
  if (!silence) return;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> silent;
  {
    std::lock_guard lock(st_->src_mu);
    for (auto& [idx, s] : st_->sources) {
      const auto since = std::max(s.last_packet_ns, s.up_ns);
      if (s.up && !s.silent_alerted && since && t > since && t - since > silence) {
        s.silent_alerted = true;
        silent.emplace_back(idx, (t - since) / 1'000'000'000ull);
      }
    }
  }
  for (const auto& [idx, secs] : silent) {
    detection d;
    d.def = builtin_alert::sensorlost;
    d.subject = source_subject(idx);
    d.sensor = idx;
    d.packets = 0;
    const auto n = secs;
    auto text = [&, n] {
      return "Sensor " + source_label(sources_, idx) + " is connected but has delivered no packets for " +
             std::to_string(n) + " seconds.";
    };
    hit(d, text_fn(text));
  }
}

void alert_engine::tick() {
  const auto t = now();
  check_lost_devices(t);
  check_silent_sources(t);
  const auto cfg = st_->config();
  if (cfg->raw.retention_age_ns && t > cfg->raw.retention_age_ns) {
    const auto cutoff = t - cfg->raw.retention_age_ns;
    std::lock_guard lock(st_->mu);
    while (!st_->history.empty() && st_->history.front().ts_ns < cutoff) {
      st_->erase_pending = std::max(st_->erase_pending, st_->history.front().id);
      st_->dirty.erase(st_->history.front().id);
      st_->history.pop_front();
    }
  }
  flush();
}

// ---------------------------------------------------------------------------
// The packet path's entry (the detectors themselves are in detectors.cc).

void alert_engine::on_packets(const ingest_source& source, std::span<const decoded_packet> packets) {
  if (packets.empty()) return;
  chunk c{source, st_->config(), watch_.snapshot()};
  c.now = now();
  {
    std::lock_guard lock(st_->src_mu);
    auto& s = st_->sources[source.index];
    s.last_packet_ns = c.now;
    s.silent_alerted = false;
    if (!s.up) {
      s.up = true;
      s.up_ns = c.now;
    }
  }
  using b = builtin_alert;
  static_assert(kBuiltinAlerts <= 32);
  for (std::size_t i = 0; i < kBuiltinAlerts; ++i)
    if (active(static_cast<builtin_alert>(i))) c.on |= 1u << i;
  c.bss = active(b::apspoof) || active(b::ssidcanary) || active(b::chanchange) || active(b::probechan) ||
          active(b::cryptodrop) || active(b::advcryptchange) || active(b::bsstimestamp) || active(b::beaconrate) ||
          active(b::karmaoui) || active(b::nullproberesp);
  c.disconnects = active(b::deauthflood) || active(b::bcastdiscon) || active(b::disconcodeinvalid) ||
                  active(b::deauthcodeinvalid);
  c.eapol = active(b::noncedegrade) || active(b::noncereuse) || active(b::wpsbrute);
  c.overpowered = active(b::overpowered);
  c.malformed = active(b::malformmgmt);
  c.long_ssid = active(b::longssid);
  c.canary = active(b::ssidcanary) && c.cfg->any_canary();
  // The BSSID table sets this chunk's beacons and probe responses will read
  // are loaded while the first packets are checked (a set is read without
  // its shard's lock: a prefetch is only a hint).
  if (c.bss)
    for (const auto& p : packets)
      if (!p.error() && p.dot11.kind == frame_kind::mgmt && (p.dot11.subtype == kBeacon || p.dot11.subtype == kProbeResp))
        st_->bss_of(bss_key(p.dot11.ta, source.index)).table.prefetch(bss_key(p.dot11.ta, source.index));
  for (const auto& p : packets) check_packet(c, p);
}

}  // namespace hopwire::collector

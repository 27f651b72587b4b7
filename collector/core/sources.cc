#include "collector/core/sources.h"

#include <algorithm>

#include "common/units.h"
#include "common/uuid.h"

namespace hopwire::collector {

source_options read_source_options(const source_definition& def, const std::string& type,
                                   const std::vector<std::string>& channels) {
  source_options o;
  o.metagps = def.get("metagps").value_or("");
  // Live radios are stamped with the collector's clock (routers often have
  // no real-time clock); a replay keeps its file's times. timestamp= in the
  // definition says otherwise.
  o.stamp_time = def.bool_option("timestamp", type != "pcapfile").value_or(type != "pcapfile");
  o.group = def.get("group").value_or("");
  o.group_plan = def.get("group_plan").value_or("");
  hop_plan& p = o.own;
  p.channels = channels;
  p.hop = def.bool_option("channel_hop", true).value_or(true);
  p.shuffle = def.bool_option("channel_hop_shuffle", true).value_or(true);
  if (auto r = def.get("channel_hoprate"))
    if (const auto rate = try_parse_rate(*r)) p.rate_per_sec = std::min(*rate, kMaxHopRatePerSec);
  if (auto fixed = def.get("channel")) {
    std::string why;
    if (const auto c = try_parse_channel(*fixed, why)) {
      p.channels = {c->str()};
      p.hop = false;
    }
  }
  if (p.channels.size() <= 1) p.hop = false;
  return o;
}

std::shared_ptr<source_entry> source_registry::make_entry(const std::string& uuid, const std::string& name) {
  auto e = std::make_shared<source_entry>();
  e->index = table_.index_of(uuid, name);
  e->id = hopwire::uuid::parse(uuid).value_or(hopwire::uuid{});
  e->rec.uuid = uuid;
  return e;
}

void source_registry::load(std::vector<stored_source> sources) {
  std::lock_guard lock(mu_);
  for (auto& s : sources) {
    auto e = make_entry(s.uuid, s.name);
    e->rec = std::move(s);
    by_uuid_[e->rec.uuid] = std::move(e);
  }
}

std::shared_ptr<source_entry> source_registry::claim(const stored_source& hello,
                                                     const std::vector<std::string>& channels,
                                                     const std::string& transport, std::string& why) {
  std::lock_guard lock(mu_);
  auto& slot = by_uuid_[hello.uuid];
  if (!slot) slot = make_entry(hello.uuid, hello.name);
  else table_.index_of(hello.uuid, hello.name);  // the name may have changed
  std::lock_guard slock(slot->mu);
  if (slot->running) {
    why = "source " + hello.uuid + " ('" + slot->rec.name + "') is already connected from " + slot->rec.remote_ip +
          "; each source UUID may have one live link";
    return nullptr;
  }
  auto& r = slot->rec;
  if (r.last_seen_ns != 0) ++r.reconnects;
  r.name = hello.name;
  r.type = hello.type;
  r.interface = hello.interface;
  r.definition = hello.definition;
  r.dlt = hello.dlt;
  r.remote_ip = hello.remote_ip;
  if (r.first_seen_ns == 0) r.first_seen_ns = hello.first_seen_ns;
  r.last_seen_ns = hello.last_seen_ns;
  if (r.boot_id != hello.boot_id) {
    // A new sensor process: its sequence numbers and counters start afresh.
    r.dropped_ring_base += r.dropped_ring_boot;
    r.dropped_ring_boot = 0;
    r.dropped_kernel_base += r.dropped_kernel_boot;
    r.dropped_kernel_boot = 0;
    r.boot_id = hello.boot_id;
    r.last_seq = 0;
  }
  slot->running = true;
  slot->transport = transport;
  slot->channels = channels;
  slot->captured = slot->sent = slot->acked = 0;
  return slot;
}

void source_registry::release(const std::shared_ptr<source_entry>& s) {
  std::lock_guard lock(s->mu);
  s->running = false;
}

std::shared_ptr<source_entry> source_registry::scan_source(const std::string& name, const std::string& uuid,
                                                           bool& created) {
  std::lock_guard lock(mu_);
  created = false;
  if (!uuid.empty()) {
    std::shared_ptr<source_entry> known;
    if (auto it = by_uuid_.find(uuid); it != by_uuid_.end()) known = it->second;
    else if (auto a = scan_aliases_.find(uuid); a != scan_aliases_.end()) known = a->second;
    if (known) {
      std::lock_guard slock(known->mu);
      if (!name.empty()) {
        known->rec.name = name;
        table_.index_of(known->rec.uuid, name);
      }
      return known;
    }
  }
  if (!name.empty()) {
    for (const auto& [k, s] : by_uuid_) {
      std::lock_guard slock(s->mu);
      if (s->rec.type != "scan" || s->rec.name != name) continue;
      // Known by name; a UUID given now becomes another name for it.
      if (!uuid.empty()) scan_aliases_[uuid] = s;
      return s;
    }
  }
  const std::string id = !uuid.empty() ? uuid : hopwire::uuid::from_name("hopwire-scan:" + name).str();
  if (auto it = by_uuid_.find(id); it != by_uuid_.end()) return it->second;
  auto e = make_entry(id, name.empty() ? id : name);
  e->rec.name = name.empty() ? id : name;
  e->rec.type = "scan";
  e->rec.definition = "scan report";
  by_uuid_[e->rec.uuid] = e;
  created = true;
  return e;
}

std::shared_ptr<source_entry> source_registry::find(const std::string& uuid) const {
  std::lock_guard lock(mu_);
  auto it = by_uuid_.find(uuid);
  return it == by_uuid_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<source_entry>> source_registry::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<source_entry>> out;
  out.reserve(by_uuid_.size());
  for (const auto& [k, v] : by_uuid_) out.push_back(v);
  return out;
}

}  // namespace hopwire::collector

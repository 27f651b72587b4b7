#include "device_tracker.h"

#include <algorithm>
#include <cmath>

#include "collector/dot11_frame.h"
#include "collector/radio_header.h"
#include "collector/sources.h"
#include "common/clock.h"
#include "common/protocol.h"

namespace hopwire::collector {

const char* device_type_name(std::uint32_t t) {
  if (t & kTypeAp) return "Wi-Fi AP";
  if (t & kTypeWds) return "Wi-Fi WDS";
  if (t & kTypeAdhoc) return "Wi-Fi Ad-Hoc";
  if (t & kTypeClient) return "Wi-Fi Client";
  if (t & kTypeBridged) return "Wi-Fi Bridged";
  return "Wi-Fi Device";
}

// Everything about the current packet that every device update needs.
struct device_tracker::packet_ctx {
  std::uint32_t source;
  std::uint64_t ts_ns, now_ns;
  std::uint32_t freq_mhz;
  std::uint32_t bytes;
  const packet_view* pkt;
  const radio_info* radio;
  const dot11_frame* frame;
  bool has_signal;
  std::int16_t signal;
};

namespace {

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

// Small lists (SSIDs, seenby, peers) are bounded so that a flood of junk
// cannot grow one device without limit.
constexpr std::size_t kMaxSsidsPerDevice = 64;
constexpr std::size_t kMaxPeersPerDevice = 1024;
constexpr std::size_t kMaxSeenby = 256;
constexpr std::size_t kMaxAssocRecords = 16;
constexpr std::uint64_t kRelinkNs = 100'000'000;  // 100 ms

}  // namespace

device_tracker::device_tracker(options opts, const oui_table& ouis) : opts_(opts), ouis_(ouis) {
  if (opts_.shards == 0) opts_.shards = 1;
  shards_ = std::make_unique<shard[]>(opts_.shards);
  if (opts_.max_devices) per_shard_limit_ = std::max<std::size_t>(1, (opts_.max_devices + opts_.shards - 1) / opts_.shards);
}

device_tracker::~device_tracker() = default;

std::uint32_t device_tracker::source_index(const std::string& uuid, const std::string& name) {
  std::lock_guard lock(sources_mu_);
  auto it = source_by_uuid_.find(uuid);
  if (it != source_by_uuid_.end()) {
    if (!name.empty()) sources_[it->second].name = name;
    return it->second;
  }
  const auto idx = static_cast<std::uint32_t>(sources_.size());
  sources_.push_back({uuid, name});
  source_by_uuid_.emplace(uuid, idx);
  return idx;
}

device_tracker::source_ref device_tracker::source(std::uint32_t index) const {
  std::lock_guard lock(sources_mu_);
  return index < sources_.size() ? sources_[index] : source_ref{};
}

device_tracker::shard& device_tracker::shard_of(mac_addr mac) const {
  return shards_[mix(mac.v) % opts_.shards];
}

void device_tracker::touch(shard& s, device& d, std::uint64_t now_ns) {
  // The list is kept in order of when each device was last moved, and a
  // device modified again within kRelinkNs stays where it is: that spares
  // two cache misses per packet, and readers allow for it (see
  // for_each_changed_since).
  const bool fresh = d.mod_ns + kRelinkNs > now_ns && d.mod_ns != 0;
  d.mod_ns = std::max(d.mod_ns, now_ns);
  if (s.newest == &d || fresh) return;
  // Unlink, then push at the newest end.
  if (d.newer) d.newer->older = d.older;
  if (d.older) d.older->newer = d.newer;
  if (s.oldest == &d) s.oldest = d.newer;
  d.older = s.newest;
  d.newer = nullptr;
  if (s.newest) s.newest->newer = &d;
  s.newest = &d;
  if (!s.oldest) s.oldest = &d;
}

void device_tracker::evict_one(shard& s) {
  device* victim = s.oldest;
  if (!victim) return;
  s.oldest = victim->newer;
  if (s.oldest) s.oldest->older = nullptr;
  if (s.newest == victim) s.newest = nullptr;
  s.by_mac.erase(victim->mac.v);
  s.removed.push_back(victim->mac.v);
  const auto idx = victim->index;
  if (idx + 1 != s.devices.size()) {
    s.devices[idx] = std::move(s.devices.back());
    s.devices[idx]->index = idx;
  }
  s.devices.pop_back();
  count_.fetch_sub(1, std::memory_order_relaxed);
  evicted_.fetch_add(1, std::memory_order_relaxed);
}

template <typename Fn>
bool device_tracker::update(mac_addr mac, bool create, const packet_ctx& ctx, Fn&& fn) {
  shard& s = shard_of(mac);
  std::lock_guard lock(s.mu);
  device* d = s.by_mac.find(mac.v);
  if (!d) {
    if (!create) return false;
    if (per_shard_limit_ && s.devices.size() >= per_shard_limit_) evict_one(s);
    auto owned = std::make_unique<device>();
    d = owned.get();
    d->mac = mac;
    d->first_ns = ctx.ts_ns;
    d->index = static_cast<std::uint32_t>(s.devices.size());
    s.devices.push_back(std::move(owned));
    s.by_mac.insert(mac.v, d);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  touch(s, *d, ctx.now_ns);
  if (!d->dirty) {
    d->dirty = true;
    s.dirty.push_back(mac.v);
  }
  // Counters every device in the packet shares.
  ++d->packets;
  d->bytes += ctx.bytes;
  if (ctx.ts_ns > d->last_ns) d->last_ns = ctx.ts_ns;
  if (ctx.ts_ns < d->first_ns) d->first_ns = ctx.ts_ns;
  seenby_entry* sb = nullptr;
  for (auto& e : d->seenby)
    if (e.source == ctx.source) {
      sb = &e;
      break;
    }
  if (!sb && d->seenby.size() < kMaxSeenby) {
    d->seenby.push_back(seenby_entry{ctx.source, 0, 0, ctx.ts_ns, ctx.ts_ns, {}});
    sb = &d->seenby.back();
  }
  if (sb) {
    ++sb->packets;
    if (ctx.ts_ns > sb->last_ns) sb->last_ns = ctx.ts_ns;
    if (ctx.ts_ns < sb->first_ns) sb->first_ns = ctx.ts_ns;
    if (ctx.freq_mhz) sb->freq_mhz = ctx.freq_mhz;
  }
  fn(*d);
  return true;
}

namespace {

void add_location(device& d, const packet_view& p) {
  if (!p.has_gps) return;
  if (!d.location) d.location = std::make_unique<location_stats>();
  auto& l = *d.location;
  const bool has_alt = !std::isnan(p.alt);
  if (l.count == 0) {
    l.min_lat = l.max_lat = p.lat;
    l.min_lon = l.max_lon = p.lon;
  }
  l.min_lat = std::min(l.min_lat, p.lat);
  l.max_lat = std::max(l.max_lat, p.lat);
  l.min_lon = std::min(l.min_lon, p.lon);
  l.max_lon = std::max(l.max_lon, p.lon);
  l.sum_lat += p.lat;
  l.sum_lon += p.lon;
  ++l.count;
  if (has_alt) {
    if (l.alt_count == 0) l.min_alt = l.max_alt = p.alt;
    l.min_alt = std::min(l.min_alt, p.alt);
    l.max_alt = std::max(l.max_alt, p.alt);
    l.sum_alt += p.alt;
    ++l.alt_count;
    l.last_alt = p.alt;
  }
  l.last_lat = p.lat;
  l.last_lon = p.lon;
  l.last_ns = p.ts_ns;
}

void merge_security(ssid_record& r, const dot11_frame& f) {
  const auto& ie = f.ie;
  if (f.cap_privacy()) r.security |= kSecPrivacy;
  if (ie.rsn.present) {
    r.security |= kSecRsn;
    r.akms |= ie.rsn.akms;
    r.pairwise |= ie.rsn.pairwise;
    r.group |= ie.rsn.group;
    if (ie.rsn.mfpc) r.security |= kSecMfpc;
    if (ie.rsn.mfpr) r.security |= kSecMfpr;
  }
  if (ie.wpa.present) {
    r.security |= kSecWpa;
    r.wpa_akms |= ie.wpa.akms;
    r.wpa_unicast |= ie.wpa.pairwise;
    r.wpa_multicast |= ie.wpa.group;
  }
  if (ie.owe_transition) r.security |= kSecOweTransition;
  if (ie.wps) {
    r.security |= kSecWps;
    r.wps_state = ie.wps_state;
  }
}

}  // namespace

bool device_tracker::ingest(std::uint32_t source, const packet_view& p, std::uint64_t now_ns) {
  packets_.fetch_add(1, std::memory_order_relaxed);
  radio_info radio;
  std::span<const std::uint8_t> frame;
  if (decode_radio_header(p.dlt, p.data, radio, frame, anomalies_) != header_status::ok || radio.fcs_bad) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  dot11_frame f;
  if (!decode_dot11(frame, radio.data_pad, f, anomalies_)) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  packet_ctx ctx{};
  ctx.source = source;
  ctx.ts_ns = p.ts_ns;
  ctx.now_ns = now_ns;
  ctx.freq_mhz = radio.freq_mhz ? radio.freq_mhz : p.freq_khz / 1000;
  ctx.bytes = p.orig_len ? p.orig_len : static_cast<std::uint32_t>(p.data.size());
  ctx.pkt = &p;
  ctx.radio = &radio;
  ctx.frame = &f;
  ctx.has_signal = radio.has_signal || p.has_signal;
  ctx.signal = radio.has_signal ? radio.signal_dbm : p.signal_dbm;
  switch (f.kind) {
    case frame_kind::mgmt: track_mgmt(f, ctx); break;
    case frame_kind::data: track_data(f, ctx); break;
    case frame_kind::ctrl: track_ctrl(f, ctx); break;
    case frame_kind::ext: break;
  }
  return true;
}

void device_tracker::heard_radio(device& d, const packet_ctx& ctx) {
  if (ctx.has_signal) {
    d.signal.add(ctx.signal);
    for (auto& e : d.seenby)
      if (e.source == ctx.source) e.signal.add(ctx.signal);
  }
  if (ctx.freq_mhz) {
    d.freq_mhz = ctx.freq_mhz;
    d.channel = static_cast<std::uint16_t>(channel_of_freq(ctx.freq_mhz));
  }
  add_location(d, *ctx.pkt);
}

void device_tracker::track_mgmt(const dot11_frame& f, const packet_ctx& ctx) {
  const auto& ie = f.ie;
  auto transmitter = [&](device& d) {
    ++d.packets_tx;
    ++d.packets_mgmt;
    if (f.protected_frame) ++d.packets_crypt;
    if (ie.malformed) ++d.packets_error;
    if (f.retry) ++d.retries;
    heard_radio(d, ctx);
  };

  switch (f.subtype) {
    case kBeacon:
    case kProbeResp: {
      if (!f.fixed_ok) {
        update(f.ta, false, ctx, transmitter);
        return;
      }
      update(f.ta, true, ctx, [&](device& d) {
        transmitter(d);
        d.types |= f.cap_ibss() && !f.cap_ess() ? kTypeAdhoc : kTypeAp;
        auto& w = d.w();
        auto& list = f.subtype == kBeacon ? w.advertised : w.responded;
        const std::string_view ssid(reinterpret_cast<const char*>(ie.ssid.data()), ie.ssid.size());
        ssid_record* r = nullptr;
        for (auto& e : list)
          if (e.ssid == ssid) {
            r = &e;
            break;
          }
        if (!r) {
          if (list.size() >= kMaxSsidsPerDevice) return;
          list.push_back(ssid_record{});
          r = &list.back();
          r->ssid.assign(ssid);
          r->first_ns = ctx.ts_ns;
        }
        if (ctx.ts_ns > r->last_ns) r->last_ns = ctx.ts_ns;
        (f.subtype == kBeacon ? r->beacons : r->probe_responses)++;
        merge_security(*r, f);
        if (ie.ds_channel) r->channel = ie.ds_channel;
        else if (ie.ht_primary) r->channel = ie.ht_primary;
        else if (ctx.freq_mhz && !r->channel) r->channel = static_cast<std::uint8_t>(channel_of_freq(ctx.freq_mhz));
        if (ctx.freq_mhz) r->freq_mhz = ctx.freq_mhz;
        r->phy |= ie.phy;
        if (ie.ht_primary) r->ht_width = ie.ht_width;
        if (ie.vht_width) r->vht_width = ie.vht_width;
        if (ie.max_rate_500k > r->max_rate_500k) r->max_rate_500k = ie.max_rate_500k;
        if (ie.country[0]) {
          r->country[0] = ie.country[0];
          r->country[1] = ie.country[1];
        }
        if (ie.has_mesh_id) {
          r->has_mesh_id = true;
          r->mesh_id.assign(reinterpret_cast<const char*>(ie.mesh_id.data()), ie.mesh_id.size());
        }
        if (f.body.size() >= 10) r->beacon_interval = static_cast<std::uint16_t>(f.body[8] | f.body[9] << 8);
        // An AP's channel is the one it announces, when it announces one.
        if (r->channel) {
          d.channel = r->channel;
          if (!ctx.freq_mhz) d.freq_mhz = freq_of_channel(r->channel);
        }
      });
      return;
    }
    case kProbeReq:
      update(f.ta, true, ctx, [&](device& d) {
        transmitter(d);
        d.types |= kTypeClient;
        auto& w = d.w();
        w.probe_phy |= ie.phy;
        if (!ie.has_ssid) return;
        bool empty = ie.ssid.empty();
        if (empty) {
          ++w.wildcard_probes;
          return;
        }
        const std::string_view ssid(reinterpret_cast<const char*>(ie.ssid.data()), ie.ssid.size());
        for (auto& e : w.probed)
          if (e.ssid == ssid) {
            ++e.count;
            if (ctx.ts_ns > e.last_ns) e.last_ns = ctx.ts_ns;
            return;
          }
        if (w.probed.size() < kMaxSsidsPerDevice) w.probed.push_back(probed_record{std::string(ssid), ctx.ts_ns, ctx.ts_ns, 1});
      });
      return;
    case kAssocReq:
    case kReassocReq:
      update(f.ta, true, ctx, [&](device& d) {
        transmitter(d);
        d.types |= kTypeClient;
        if (!f.fixed_ok) return;
        auto& w = d.w();
        assoc_request* a = nullptr;
        for (auto& e : w.assoc)
          if (e.bssid == f.bssid) a = &e;
        if (!a) {
          if (w.assoc.size() >= kMaxAssocRecords) w.assoc.erase(w.assoc.begin());
          w.assoc.push_back(assoc_request{});
          a = &w.assoc.back();
          a->bssid = f.bssid;
        }
        a->reassoc = f.subtype == kReassocReq;
        a->ssid.assign(reinterpret_cast<const char*>(ie.ssid.data()), ie.ssid.size());
        a->security = 0;
        if (f.cap_privacy()) a->security |= kSecPrivacy;
        a->akms = a->pairwise = a->group = a->wpa_akms = 0;
        if (ie.rsn.present) {
          a->security |= kSecRsn;
          a->akms = ie.rsn.akms;
          a->pairwise = ie.rsn.pairwise;
          a->group = ie.rsn.group;
          if (ie.rsn.mfpc) a->security |= kSecMfpc;
          if (ie.rsn.mfpr) a->security |= kSecMfpr;
        }
        if (ie.wpa.present) {
          a->security |= kSecWpa;
          a->wpa_akms = ie.wpa.akms;
        }
        a->phy = ie.phy;
        a->last_ns = ctx.ts_ns;
      });
      return;
    case kAuth:
      update(f.ta, true, ctx, [&](device& d) {
        transmitter(d);
        if (f.ta != f.bssid) d.types |= kTypeClient;
      });
      if (f.fixed_ok && f.auth_algorithm < 16) {
        // The algorithm belongs to the BSS; record it on the BSSID's device
        // if we know it (the transmitter's update above created it when the
        // AP itself sent this frame).
        const auto alg = f.auth_algorithm;
        update(f.bssid, false, ctx, [&](device& d) { d.w().auth_algorithms |= static_cast<std::uint16_t>(1u << alg); });
      }
      return;
    case kDeauth:
    case kDisassoc:
      update(f.ta, true, ctx, [&](device& d) {
        transmitter(d);
        (f.subtype == kDeauth ? d.w().deauths : d.w().disassocs)++;
      });
      return;
    default:
      update(f.ta, true, ctx, transmitter);
      return;
  }
}

void device_tracker::track_data(const dot11_frame& f, const packet_ctx& ctx) {
  const std::uint32_t payload = static_cast<std::uint32_t>(f.body.size());
  auto transmitter = [&](device& d) {
    ++d.packets_tx;
    ++d.packets_data;
    if (f.protected_frame) ++d.packets_crypt;
    d.data_bytes += payload;
    if (f.retry) ++d.retries;
    heard_radio(d, ctx);
  };
  auto receiver = [&](device& d) {
    ++d.packets_rx;
    ++d.packets_data;
    if (f.protected_frame) ++d.packets_crypt;
  };
  // Record the AP <-> station link (and handshake progress) on both sides.
  auto link = [&](device& d, mac_addr peer, bool peer_is_client) {
    auto& w = d.w();
    auto& list = peer_is_client ? w.clients : w.aps;
    peer_link* l = nullptr;
    for (auto& e : list)
      if (e.peer == peer) {
        l = &e;
        break;
      }
    if (!l) {
      if (list.size() >= kMaxPeersPerDevice) return;
      list.push_back(peer_link{peer, ctx.ts_ns, ctx.ts_ns});
      l = &list.back();
    }
    ++l->packets;
    l->bytes += ctx.bytes;
    if (ctx.ts_ns > l->last_ns) l->last_ns = ctx.ts_ns;
    if (f.eapol.message) {
      l->eapol_seen |= static_cast<std::uint8_t>(1u << (f.eapol.message - 1));
      l->eapol_last = f.eapol.message;
      l->eapol_last_ns = ctx.ts_ns;
    }
    if (!peer_is_client) {
      w.last_bssid = peer;
      w.has_last_bssid = true;
    }
  };

  if (f.to_ds && f.from_ds) {
    // WDS: a link between two radios.
    update(f.ta, true, ctx, [&](device& d) {
      transmitter(d);
      d.types |= kTypeWds;
    });
    if (!f.ra.is_group()) update(f.ra, true, ctx, [&](device& d) {
        receiver(d);
        d.types |= kTypeWds;
      });
    return;
  }
  if (!f.to_ds && !f.from_ds) {
    // Direct / IBSS data.
    update(f.ta, true, ctx, [&](device& d) {
      transmitter(d);
      d.types |= kTypeAdhoc;
    });
    return;
  }
  const mac_addr bssid = f.bssid;
  mac_addr client;
  bool client_valid;
  if (f.to_ds) {
    client = f.ta;
    client_valid = !client.is_group() && client != bssid;
    update(f.ta, true, ctx, [&](device& d) {
      transmitter(d);
      if (client_valid) {
        d.types |= kTypeClient;
        link(d, bssid, false);
      }
    });
    if (!bssid.is_group())
      update(bssid, true, ctx, [&](device& d) {
        receiver(d);
        if (client_valid) link(d, client, true);
      });
  } else {
    client = f.ra;
    client_valid = !client.is_group() && client != bssid;
    update(f.ta, true, ctx, [&](device& d) {
      transmitter(d);
      if (client_valid) link(d, client, true);
    });
    if (client_valid)
      update(client, true, ctx, [&](device& d) {
        receiver(d);
        d.types |= kTypeClient;
        link(d, bssid, false);
      });
    // A source behind the AP that is not the AP: a wired host bridged in.
    if (f.sa != bssid && !f.sa.is_group())
      update(f.sa, true, ctx, [&](device& d) { d.types |= kTypeBridged; });
  }
}

void device_tracker::track_ctrl(const dot11_frame& f, const packet_ctx& ctx) {
  // Control frames name a transmitter at best and are often corrupted
  // copies; they update devices we know but create none.
  if (!f.has_ta) return;
  update(f.ta, false, ctx, [&](device& d) {
    ++d.packets_tx;
    if (ctx.has_signal) d.signal.add(ctx.signal);
  });
}

void device_tracker::observe_ap(std::uint32_t source, const observed_ap& ap, std::uint64_t now_ns) {
  packet_view p;
  p.ts_ns = ap.ts_ns;
  p.has_gps = ap.has_location;
  p.lat = ap.lat;
  p.lon = ap.lon;
  p.alt = ap.alt;
  packet_ctx ctx{};
  ctx.source = source;
  ctx.ts_ns = ap.ts_ns;
  ctx.now_ns = now_ns;
  ctx.freq_mhz = ap.freq_mhz ? ap.freq_mhz : freq_of_channel(ap.channel);
  ctx.pkt = &p;
  ctx.has_signal = true;
  ctx.signal = ap.signal_dbm;
  update(ap.bssid, true, ctx, [&](device& d) {
    d.types |= kTypeAp;
    heard_radio(d, ctx);
    if (ap.channel) d.channel = ap.channel;
    if (!ap.has_ssid && !ap.has_security) return;
    auto& list = d.w().advertised;
    ssid_record* r = nullptr;
    for (auto& e : list)
      if (e.ssid == ap.ssid) r = &e;
    if (!r) {
      if (list.size() >= kMaxSsidsPerDevice) return;
      list.push_back(ssid_record{});
      r = &list.back();
      r->ssid = ap.ssid;
      r->first_ns = ap.ts_ns;
    }
    if (ap.ts_ns > r->last_ns) r->last_ns = ap.ts_ns;
    if (ap.has_security) {
      // A report states the security as it is now: replace, not merge.
      r->security = ap.security;
      r->akms = ap.akms;
      r->wpa_akms = ap.wpa_akms;
    }
    if (ap.channel) r->channel = ap.channel;
    else if (ctx.freq_mhz) r->channel = static_cast<std::uint8_t>(channel_of_freq(ctx.freq_mhz));
    if (ctx.freq_mhz) r->freq_mhz = ctx.freq_mhz;
  });
}

std::uint64_t device_tracker::on_batch(source_entry& source, const wire::PacketBatch& b) {
  std::string uuid, name;
  {
    std::lock_guard lock(source.mu);
    uuid = source.rec.uuid;
    name = source.rec.name;
  }
  const auto src = source_index(uuid, name);
  const auto now = wall_ns();
  const auto* data = b.data();
  const auto* gps = b.gps();
  std::uint64_t errors = 0;
  if (!b.packets() || !data) return 0;
  for (const auto* r : *b.packets()) {
    packet_view p;
    p.ts_ns = r->ts_ns();
    p.dlt = r->dlt();
    p.freq_khz = r->freq_khz();
    p.has_signal = r->flags() & protocol::kFlagSignal;
    p.signal_dbm = r->signal_dbm();
    if ((r->flags() & protocol::kFlagGps) && gps && r->gps_index() < gps->size()) {
      const auto* g = gps->Get(r->gps_index());
      p.has_gps = true;
      p.lat = g->lat();
      p.lon = g->lon();
      p.alt = g->alt();
    }
    p.orig_len = r->orig_len();
    // check_batch() has verified the offsets.
    p.data = std::span<const std::uint8_t>(data->data() + r->data_offset(), r->cap_len());
    if (!ingest(src, p, now)) ++errors;
  }
  return errors;
}

namespace {

// A deep copy, made under the shard lock so the reader can take its time.
void copy_device(const device& from, device& to) {
  to.mac = from.mac;
  to.types = from.types;
  to.first_ns = from.first_ns;
  to.last_ns = from.last_ns;
  to.mod_ns = from.mod_ns;
  to.packets = from.packets;
  to.packets_data = from.packets_data;
  to.packets_mgmt = from.packets_mgmt;
  to.packets_error = from.packets_error;
  to.packets_crypt = from.packets_crypt;
  to.packets_tx = from.packets_tx;
  to.packets_rx = from.packets_rx;
  to.bytes = from.bytes;
  to.data_bytes = from.data_bytes;
  to.retries = from.retries;
  to.signal = from.signal;
  to.freq_mhz = from.freq_mhz;
  to.channel = from.channel;
  to.seenby = from.seenby;
  if (from.location) to.location = std::make_unique<location_stats>(*from.location);
  else to.location.reset();
  if (from.wifi) to.wifi = std::make_unique<wifi_detail>(*from.wifi);
  else to.wifi.reset();
}

constexpr std::size_t kReadChunk = 16;

}  // namespace

device_tracker::reader device_tracker::read_changed_since(std::uint64_t mod_ns) const {
  reader r(*this, reader::mode::changed);
  r.since_ = mod_ns;
  return r;
}

device_tracker::reader device_tracker::read_macs(const std::vector<mac_addr>& macs) const {
  reader r(*this, reader::mode::macs);
  r.macs_.reserve(macs.size());
  for (const auto m : macs) r.macs_.push_back(m.v);
  return r;
}

std::size_t device_tracker::reader::next(device* out, std::size_t max) {
  std::size_t n = 0;
  const std::size_t shards = t_->opts_.shards;
  if (mode_ == mode::macs) {
    while (n < max && pos_ < macs_.size()) {
      const std::uint64_t mac = macs_[pos_++];
      shard& s = t_->shard_of(mac_addr{mac});
      std::lock_guard lock(s.mu);
      if (const device* d = s.by_mac.find(mac)) copy_device(*d, out[n++]);
    }
    return n;
  }
  while (n == 0 && shard_ < shards) {
    shard& s = t_->shards_[shard_];
    std::lock_guard lock(s.mu);
    if (mode_ == mode::all) {
      const auto end = std::min(pos_ + max, s.devices.size());
      for (; pos_ < end; ++pos_) copy_device(*s.devices[pos_], out[n++]);
      if (pos_ >= s.devices.size()) {
        ++shard_;
        pos_ = 0;
      }
      continue;
    }
    if (!collected_) {
      // The list is ordered by when devices were last moved, which trails
      // their mod_ns by less than kRelinkNs: walk that much further.
      const std::uint64_t stop = since_ > kRelinkNs ? since_ - kRelinkNs : 0;
      macs_.clear();
      for (const device* d = s.newest; d && d->mod_ns >= stop; d = d->older)
        if (d->mod_ns >= since_) macs_.push_back(d->mac.v);
      collected_ = true;
      pos_ = 0;
    }
    while (n < max && pos_ < macs_.size())
      if (const device* d = s.by_mac.find(macs_[pos_++])) copy_device(*d, out[n++]);
    if (pos_ >= macs_.size()) {
      ++shard_;
      collected_ = false;
    }
  }
  return n;
}

void device_tracker::for_each(const visitor& fn) const {
  // A few devices copied per lock hold, so ingest waits microseconds at most.
  device copies[kReadChunk];
  auto r = read_all();
  while (const auto n = r.next(copies, kReadChunk))
    for (std::size_t j = 0; j < n; ++j) fn(copies[j]);
}

void device_tracker::for_each_changed_since(std::uint64_t mod_ns, const visitor& fn) const {
  device copies[kReadChunk];
  auto r = read_changed_since(mod_ns);
  while (const auto n = r.next(copies, kReadChunk))
    for (std::size_t j = 0; j < n; ++j) fn(copies[j]);
}

void device_tracker::drain_changes(const std::function<void(mac_addr, const device*)>& fn) {
  std::vector<std::uint64_t> dirty, removed;
  for (std::size_t i = 0; i < opts_.shards; ++i) {
    shard& s = shards_[i];
    {
      std::lock_guard lock(s.mu);
      dirty.swap(s.dirty);
      removed.swap(s.removed);
    }
    for (const auto mac : removed) {
      std::lock_guard lock(s.mu);
      if (!s.by_mac.find(mac)) fn(mac_addr{mac}, nullptr);  // else it came back and is dirty
    }
    for (std::size_t pos = 0; pos < dirty.size(); pos += kReadChunk) {
      std::lock_guard lock(s.mu);
      const auto end = std::min(pos + kReadChunk, dirty.size());
      for (std::size_t j = pos; j < end; ++j)
        if (device* d = s.by_mac.find(dirty[j]); d && d->dirty) {
          d->dirty = false;
          fn(d->mac, d);
        }
    }
    dirty.clear();
    removed.clear();
  }
}

void device_tracker::restore(std::vector<std::unique_ptr<device>> devices) {
  // Oldest first, so each shard's list ends up in modification order.
  std::sort(devices.begin(), devices.end(),
            [](const auto& a, const auto& b) { return a->mod_ns < b->mod_ns; });
  for (auto& owned : devices) {
    shard& s = shard_of(owned->mac);
    std::lock_guard lock(s.mu);
    if (s.by_mac.find(owned->mac.v)) continue;
    if (per_shard_limit_ && s.devices.size() >= per_shard_limit_) evict_one(s);
    device* d = owned.get();
    d->index = static_cast<std::uint32_t>(s.devices.size());
    d->dirty = false;
    d->newer = d->older = nullptr;
    s.devices.push_back(std::move(owned));
    s.by_mac.insert(d->mac.v, d);
    count_.fetch_add(1, std::memory_order_relaxed);
    const auto mod = d->mod_ns;
    d->mod_ns = 0;
    touch(s, *d, mod);
  }
}

bool device_tracker::visit(mac_addr mac, const visitor& fn) const {
  shard& s = shard_of(mac);
  std::lock_guard lock(s.mu);
  const device* d = s.by_mac.find(mac.v);
  if (!d) return false;
  fn(*d);
  return true;
}

}  // namespace hopwire::collector

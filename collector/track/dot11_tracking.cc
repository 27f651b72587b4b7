// What 802.11 frames and scan reports say about devices: the tracker's
// policy, on top of its store (device_tracker.cc). Which device a frame
// creates, which counters it moves, what its elements record, and which
// events that raises.
#include <cmath>

#include "collector/track/tracker_internal.h"
#include "common/channel.h"

namespace hopwire::collector {

namespace {

void add_location(device& d, const decoded_packet& p) {
  if (!p.has_gps) return;
  auto& l = d.location.emplace();
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

void device_tracker::heard_radio(device& d, const packet_ctx& ctx) {
  if (ctx.has_signal) {
    d.signal.add(ctx.signal);
    for (auto& e : d.seenby)
      if (e.source == ctx.source) e.signal.add(ctx.signal);
  }
  if (ctx.freq_mhz) {
    d.freq_mhz = ctx.freq_mhz;
    d.channel = static_cast<std::uint16_t>(mhz_to_channel(ctx.freq_mhz));
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
        auto& ap = d.w().ap_part();
        auto& list = f.subtype == kBeacon ? ap.advertised : ap.responded;
        const std::string_view ssid(reinterpret_cast<const char*>(ie.ssid.data()), ie.ssid.size());
        ssid_record* r = nullptr;
        for (auto& e : list)
          if (e.ssid == ssid) {
            r = &e;
            break;
          }
        bool fresh = false;
        if (!r) {
          if (list.size() >= kMaxSsidsPerDevice) return;
          list.push_back(ssid_record{});
          r = &list.back();
          r->ssid.assign(ssid);
          r->first_ns = ctx.ts_ns;
          fresh = true;
        }
        if (ctx.ts_ns > r->last_ns) r->last_ns = ctx.ts_ns;
        (f.subtype == kBeacon ? r->beacons : r->probe_responses)++;
        merge_security(*r, f);
        if (ie.ds_channel) r->channel = ie.ds_channel;
        else if (ie.ht_primary) r->channel = ie.ht_primary;
        else if (ie.he6_primary) r->channel = ie.he6_primary;
        else if (ctx.freq_mhz && !r->channel) r->channel = static_cast<std::uint8_t>(mhz_to_channel(ctx.freq_mhz));
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
        if (fresh)
          emit(f.subtype == kBeacon ? event_kind::advertised_ssid : event_kind::responded_ssid, d, ctx, r->ssid);
        // An AP's channel is the one it announces, when it announces one.
        if (r->channel) {
          d.channel = r->channel;
          // Without the radio's frequency the band comes from the frame:
          // only 6 GHz APs announce their channel in the HE operation alone.
          if (!ctx.freq_mhz)
            d.freq_mhz = !ie.ds_channel && !ie.ht_primary && ie.he6_primary
                             ? channel_to_mhz(r->channel, wifi_band::ghz6)
                             : channel_to_mhz(r->channel);
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
        if (w.probed.size() < kMaxSsidsPerDevice) {
          w.probed.push_back(probed_record{std::string(ssid), ctx.ts_ns, ctx.ts_ns, 1});
          emit(event_kind::probed_ssid, d, ctx, w.probed.back().ssid);
        }
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
  // The link to `peer` in `list` (an AP's clients, a station's APs), made
  // if new and there is room; `made` says it was.
  auto find_link = [&](auto& list, mac_addr peer, bool& made) -> peer_link* {
    for (auto& e : list)
      if (e.peer == peer) return &e;
    if (list.size() >= kMaxPeersPerDevice) return nullptr;
    list.push_back(peer_link{peer, 0, 0, ctx.ts_ns, ctx.ts_ns});
    made = true;
    return &list.back();
  };
  // Record the AP <-> station link (and handshake progress) on both sides.
  auto link = [&](device& d, mac_addr peer, bool peer_is_client) {
    auto& w = d.w();
    bool made = false;
    peer_link* l = peer_is_client ? find_link(w.ap_part().clients, peer, made) : find_link(w.aps, peer, made);
    if (!l) return;
    if (made && peer_is_client) emit(event_kind::new_client, d, ctx, {}, peer);
    ++l->packets;
    l->bytes += ctx.bytes;
    if (ctx.ts_ns > l->last_ns) l->last_ns = ctx.ts_ns;
    if (f.eapol.message) {
      l->eapol_seen |= static_cast<std::uint8_t>(1u << (f.eapol.message - 1));
      l->eapol_last = f.eapol.message;
      l->eapol_last_ns = ctx.ts_ns;
      // Once per message, from the AP's side of the link.
      if (peer_is_client) emit(event_kind::handshake, d, ctx, {}, peer, f.eapol.message);
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
  decoded_packet p;
  p.ts_ns = ap.ts_ns;
  p.has_gps = ap.has_location;
  p.lat = ap.lat;
  p.lon = ap.lon;
  p.alt = ap.alt;
  packet_ctx ctx{};
  ctx.source = source;
  ctx.ts_ns = ap.ts_ns;
  ctx.now_ns = now_ns;
  ctx.freq_mhz = ap.freq_mhz ? ap.freq_mhz : channel_to_mhz(ap.channel);
  ctx.pkt = &p;
  ctx.has_signal = true;
  ctx.signal = ap.signal_dbm;
  update(ap.bssid, true, ctx, [&](device& d) {
    d.types |= kTypeAp;
    heard_radio(d, ctx);
    if (ap.channel) d.channel = ap.channel;
    if (!ap.has_ssid && !ap.has_security) return;
    auto& list = d.w().ap_part().advertised;
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
    else if (ctx.freq_mhz) r->channel = static_cast<std::uint8_t>(mhz_to_channel(ctx.freq_mhz));
    if (ctx.freq_mhz) r->freq_mhz = ctx.freq_mhz;
  });
}

}  // namespace hopwire::collector

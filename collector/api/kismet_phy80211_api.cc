// Kismet's Wi-Fi routes beyond clients-of (device_api.cc) and the pcap-ng
// streams (pcap_api.cc): the SSID list, devices related to a device,
// handshake captures cut from the packet log, and the per-channel counts of
// Kismet's channel tracker.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/device_json.h"
#include "collector/api/device_list.h"
#include "collector/api/kismet_reply.h"
#include "collector/api/routes_all.h"
#include "collector/core/packet_rates.h"
#include "collector/decode/dot11_frame.h"
#include "collector/decode/radio_header.h"
#include "collector/persist/packet_log.h"
#include "collector/track/device_tracker.h"
#include "common/clock.h"
#include "common/text.h"

namespace hopwire::collector {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

http_reply json_reply(const rapidjson::StringBuffer& buf) {
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

// ---- SSIDs ----------------------------------------------------------------

// Kismet's crypt_set bits (its packet_ieee80211.h, as its web UI names them).
constexpr std::uint64_t kCryptWep = 1ull << 1, kCryptTkip = 1ull << 5, kCryptWpa = 1ull << 6, kCryptPsk = 1ull << 7,
                        kCryptAesCcm = 1ull << 9, kCryptEap = 1ull << 11, kCryptSae = 1ull << 16,
                        kCryptOwe = 1ull << 17, kCryptWps = 1ull << 26, kCryptVersionWpa = 1ull << 27,
                        kCryptVersionWpa2 = 1ull << 28, kCryptVersionWpa3 = 1ull << 29;

std::uint64_t kismet_crypt_set(const ssid_record& r) {
  std::uint64_t c = 0;
  const auto akms = r.akms | r.wpa_akms;
  if ((r.security & kSecPrivacy) && !(r.security & (kSecRsn | kSecWpa))) c |= kCryptWep;
  if (r.security & kSecWpa) c |= kCryptWpa | kCryptVersionWpa;
  if (r.security & kSecRsn) {
    c |= kCryptWpa;
    if (akms & (kAkmSae | kAkmFtSae | kAkmSaeExt | kAkmFtSaeExt)) c |= kCryptVersionWpa3;
    if ((akms & ~(kAkmSae | kAkmFtSae | kAkmSaeExt | kAkmFtSaeExt | kAkmOwe)) || akms == 0) c |= kCryptVersionWpa2;
  }
  if (akms & (kAkmPsk | kAkmFtPsk | kAkmPskSha256 | kAkmPskSha384 | kAkmFtPskSha384)) c |= kCryptPsk;
  if (akms & (kAkmEap | kAkmFtEap | kAkmEapSha256 | kAkmEapSuiteB | kAkmEapSuiteB192 | kAkmFtEapSha384)) c |= kCryptEap;
  if (akms & (kAkmSae | kAkmFtSae | kAkmSaeExt | kAkmFtSaeExt)) c |= kCryptSae;
  if (akms & kAkmOwe) c |= kCryptOwe;
  const auto ciphers = r.pairwise | r.wpa_unicast;
  if (ciphers & kCipherTkip) c |= kCryptTkip;
  if (ciphers & (kCipherCcmp128 | kCipherCcmp256)) c |= kCryptAesCcm;
  if (r.security & kSecWps) c |= kCryptWps;
  return c;
}

// A stable 64-bit hash of the SSID's bytes (FNV-1a): the group's id in
// by-hash paths. Kismet's values differ; ours survive restarts.
std::uint64_t ssid_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

struct ssid_group {
  std::string ssid;
  std::uint64_t crypt = 0;
  std::uint16_t security = 0;
  std::uint32_t akms = 0;
  std::uint64_t first_ns = 0, last_ns = 0;
  std::set<std::uint64_t> advertising, responding, probing;

  void seen(std::uint64_t first, std::uint64_t last) {
    if (first && (!first_ns || first < first_ns)) first_ns = first;
    last_ns = std::max(last_ns, last);
  }
};

bool blank(const std::string& ssid) {
  return std::all_of(ssid.begin(), ssid.end(), [](char c) { return c == 0; });
}

std::map<std::uint64_t, ssid_group> ssid_groups(const device_tracker& t) {
  std::map<std::uint64_t, ssid_group> groups;
  auto group = [&](const std::string& ssid) -> ssid_group& {
    auto& g = groups[ssid_hash(ssid)];
    if (g.ssid.empty()) g.ssid = ssid;
    return g;
  };
  t.for_each_in_place([&](const device& d) {
    if (!d.wifi) return;
    const auto& w = *d.wifi;
    for (const auto* list : {&w.advertised(), &w.responded()})
      for (const auto& r : *list) {
        if (blank(r.ssid)) continue;  // cloaked: no name to group by
        auto& g = group(r.ssid);
        g.crypt |= kismet_crypt_set(r);
        g.security |= r.security;
        g.akms |= r.akms;
        g.seen(r.first_ns, r.last_ns);
        (list == &w.advertised() ? g.advertising : g.responding).insert(d.mac.v);
      }
    for (const auto& p : w.probed) {
      if (p.ssid.empty()) continue;  // wildcard probes name no SSID
      auto& g = group(p.ssid);
      g.seen(p.first_ns, p.last_ns);
      g.probing.insert(d.mac.v);
    }
  });
  return groups;
}

void write_group(writer& w, std::uint64_t hash, const ssid_group& g) {
  auto keys = [&](const char* k, const char* len_key, const std::set<std::uint64_t>& macs) {
    w.Key(k);
    w.StartArray();
    for (const auto m : macs) {
      const auto key = device_key(mac_addr{m});
      w.String(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
    }
    w.EndArray();
    w.Key(len_key);
    w.Uint64(macs.size());
  };
  w.StartObject();
  w.Key("dot11.ssidgroup.hash");
  w.Uint64(hash);
  const auto text = ssid_text(g.ssid);
  w.Key("dot11.ssidgroup.ssid");
  w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  w.Key("dot11.ssidgroup.ssid_len");
  w.Uint64(g.ssid.size());
  w.Key("dot11.ssidgroup.crypt_set");
  w.Uint64(g.crypt);
  // Probed only: nobody said what security it has.
  const auto crypt = g.advertising.empty() && g.responding.empty() ? std::string() : crypt_summary(g.security, g.akms);
  w.Key("dot11.ssidgroup.crypt_string");
  w.String(crypt.c_str(), static_cast<rapidjson::SizeType>(crypt.size()));
  w.Key("dot11.ssidgroup.first_time");
  w.Uint64(g.first_ns / 1000000000ull);
  w.Key("dot11.ssidgroup.last_time");
  w.Uint64(g.last_ns / 1000000000ull);
  keys("dot11.ssidgroup.advertising_devices", "dot11.ssidgroup.advertising_devices_len", g.advertising);
  keys("dot11.ssidgroup.responding_devices", "dot11.ssidgroup.responding_devices_len", g.responding);
  keys("dot11.ssidgroup.probing_devices", "dot11.ssidgroup.probing_devices_len", g.probing);
  w.EndObject();
}

http_reply ssids(request_ctx& ctx) {
  if (!ctx.svc.tracker) return no_tracker();
  const auto groups = ssid_groups(*ctx.svc.tracker);
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartArray();
  for (const auto& [hash, g] : groups) write_group(w, hash, g);
  w.EndArray();
  return json_reply(buf);
}

http_reply ssid_by_hash(request_ctx& ctx) {
  if (!ctx.svc.tracker) return no_tracker();
  const auto& text = ctx.params.at(0);
  std::uint64_t hash = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), hash);
  if (ec != std::errc() || end != text.data() + text.size())
    return text_reply(400, "an SSID hash is a decimal number (dot11.ssidgroup.hash)");
  const auto groups = ssid_groups(*ctx.svc.tracker);
  auto it = groups.find(hash);
  if (it == groups.end()) return text_reply(404, "no SSID with hash " + text);
  rapidjson::StringBuffer buf;
  writer w(buf);
  write_group(w, it->first, it->second);
  return json_reply(buf);
}

// ---- Related devices --------------------------------------------------------

// Kismet's related-to: an AP's clients, a client's APs.
http_reply related_to(request_ctx& ctx, out_format fmt) {
  list_request req;
  http_reply err;
  if (!prepare_list(ctx, req, err)) return err;
  const auto mac = parse_device_key(ctx.params.at(0));
  std::vector<mac_addr> related;
  const bool found = mac && ctx.svc.tracker->visit(*mac, [&](const device& d) {
    if (!d.wifi) return;
    for (const auto& l : d.wifi->clients()) related.push_back(l.peer);
    for (const auto& l : d.wifi->aps) related.push_back(l.peer);
  });
  if (!found) return text_reply(404, "no device with key " + ctx.params.at(0));
  const auto& t = *ctx.svc.tracker;
  return stream_devices(fmt, std::move(req), t.read_macs(related), t);
}

// ---- Handshake captures -------------------------------------------------------

// The PMKID in an EAPOL-Key frame's key data (RSN PMKID KDE, 00-0F-AC:4),
// reading the body after the 802.11 header: LLC/SNAP (8), EAPOL header (4),
// the key descriptor up to its key data (95, for a 16-byte MIC).
bool has_pmkid(std::span<const std::uint8_t> body) {
  constexpr std::size_t kKeyDataLen = 8 + 4 + 93, kKeyData = kKeyDataLen + 2;
  if (body.size() < kKeyData) return false;
  const std::size_t len = std::size_t{body[kKeyDataLen]} << 8 | body[kKeyDataLen + 1];
  const auto data = body.subspan(kKeyData, std::min(len, body.size() - kKeyData));
  for (std::size_t i = 0; i + 2 <= data.size();) {
    const std::size_t n = data[i + 1];
    if (i + 2 + n > data.size()) break;
    if (data[i] == 0xdd && n >= 20 && data[i + 2] == 0x00 && data[i + 3] == 0x0f && data[i + 4] == 0xac &&
        data[i + 5] == 0x04) {
      const auto id = data.subspan(i + 6, 16);
      if (std::any_of(id.begin(), id.end(), [](std::uint8_t b) { return b != 0; })) return true;
    }
    i += 2 + n;
  }
  return false;
}

// A classic pcap (DLT 105, the 802.11 frames without capture headers) of a
// BSS's handshake as Kismet cuts it: the AP's beacon, then its EAPOL-Key
// frames (with one client, or any), or only the first frame with a PMKID.
// Read from the packet log in time order, a packet per step.
class handshake_stream final : public body_stream {
 public:
  static constexpr std::size_t kMaxFrames = 4096;

  handshake_stream(const store& db, mac_addr ap, std::optional<mac_addr> client, bool pmkid)
      : reader_(db, query(ap)), ap_(ap), client_(client), pmkid_(pmkid) {
    auto put32 = [this](std::uint32_t v) { pending_.append(reinterpret_cast<const char*>(&v), 4); };
    auto put16 = [this](std::uint16_t v) { pending_.append(reinterpret_cast<const char*>(&v), 2); };
    put32(0xa1b2c3d4);  // host byte order, as Kismet writes it
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(8192);
    put32(kDltIeee80211);
  }

  bool pull(std::string& out, std::size_t max, std::function<void()>) override {
    while (pending_.size() - head_ < max && !done_) step();
    const std::size_t n = std::min(max, pending_.size() - head_);
    out.append(pending_, head_, n);
    head_ += n;
    if (head_ == pending_.size()) {
      pending_.clear();
      head_ = 0;
    }
    return n > 0 || !done_;
  }
  void delivered(std::size_t) override {}
  void close() override { done_ = true; }
  std::size_t memory_bound() const override { return 256 * 1024; }

 private:
  static history_query query(mac_addr ap) {
    history_query q;
    q.device = ap;
    return q;
  }

  void step() {
    logged_packet p;
    if (!reader_.next(p)) {
      done_ = true;
      return;
    }
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(p.data.data()), p.data.size());
    radio_info radio;
    std::span<const std::uint8_t> frame;
    if (decode_radio_header(p.dlt, bytes, radio, frame, anomalies_) != header_status::ok || radio.fcs_bad) return;
    dot11_frame f;
    if (!decode_dot11(frame, radio.data_pad, f, anomalies_)) return;
    if (f.is_mgmt(kBeacon)) {
      if (!beacon_ && f.has_ta && f.ta == ap_) {
        beacon_ = true;
        write(p.ts_ns, frame);
      }
      return;
    }
    if (f.kind != frame_kind::data || !f.eapol.present || !f.eapol.is_key) return;
    if (!f.has_bssid || !(f.bssid == ap_)) return;
    if (client_ && !(f.a1 == *client_ || f.a2 == *client_)) return;
    if (pmkid_) {
      if (f.eapol.message != 1 || !has_pmkid(f.body)) return;
      write(p.ts_ns, frame);
      done_ = true;  // Kismet keeps one
      return;
    }
    write(p.ts_ns, frame);
    if (++frames_ >= kMaxFrames) done_ = true;
  }

  void write(std::uint64_t ts_ns, std::span<const std::uint8_t> frame) {
    const std::uint32_t hdr[4] = {static_cast<std::uint32_t>(ts_ns / 1000000000ull),
                                  static_cast<std::uint32_t>((ts_ns / 1000) % 1000000),
                                  static_cast<std::uint32_t>(frame.size()), static_cast<std::uint32_t>(frame.size())};
    pending_.append(reinterpret_cast<const char*>(hdr), sizeof hdr);
    pending_.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  }

  history_reader reader_;
  mac_addr ap_;
  std::optional<mac_addr> client_;
  bool pmkid_;
  bool beacon_ = false, done_ = false;
  std::size_t frames_ = 0;
  anomaly_counters anomalies_;  // of this read only
  std::string pending_;
  std::size_t head_ = 0;
};

http_reply handshake(request_ctx& ctx, bool with_client, bool pmkid) {
  if (!ctx.svc.tracker) return no_tracker();
  if (!ctx.svc.log || !ctx.svc.db)
    return text_reply(503, "the packet log is off (packet_log_max: 0), and handshakes are cut from it");
  auto known = [&](const std::string& key) -> std::optional<mac_addr> {
    const auto mac = parse_device_key(key);
    if (!mac || !ctx.svc.tracker->visit(*mac, [](const device&) {})) return std::nullopt;
    return mac;
  };
  const auto ap = known(ctx.params.at(0));
  if (!ap) return text_reply(404, "no device with key " + ctx.params.at(0));
  std::optional<mac_addr> client;
  if (with_client) {
    client = known(ctx.params.at(1));
    if (!client) return text_reply(404, "no device with key " + ctx.params.at(1));
  }
  std::string name = ap->str(true);
  if (client) name += "-" + client->str(true);
  name += pmkid ? "-pmkid.pcap" : "-handshake.pcap";
  http_reply r;
  r.content_type = "application/vnd.tcpdump.pcap";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  r.stream = std::make_shared<handshake_stream>(*ctx.svc.db, *ap, client, pmkid);
  return r;
}

// ---- Channels -----------------------------------------------------------------

void write_channel(writer& w, const packet_rates::channel_record& c, const std::string& channel,
                   std::uint64_t now) {
  w.StartObject();
  w.Key("kismet.channelrec.channel");
  w.String(channel.c_str(), static_cast<rapidjson::SizeType>(channel.size()));
  w.Key("kismet.channelrec.frequency");
  kismet_double(w, static_cast<double>(c.freq_khz));
  w.Key("kismet.channelrec.packets_rrd");
  write_rrd(w, c.packets, now);
  w.Key("kismet.channelrec.data_rrd");
  write_rrd(w, c.bytes, now);
  w.Key("kismet.channelrec.device_rrd");
  write_rrd(w, c.devices, now, false);
  w.Key("kismet.channelrec.signal");
  w.StartObject();
  w.Key("kismet.common.signal.type");
  w.String("dbm");
  w.Key("kismet.common.signal.last_signal");
  w.Int(c.signal.valid ? c.signal.last : 0);
  w.Key("kismet.common.signal.min_signal");
  w.Int(c.signal.valid ? c.signal.min : 0);
  w.Key("kismet.common.signal.max_signal");
  w.Int(c.signal.valid ? c.signal.max : 0);
  w.EndObject();
  w.EndObject();
}

http_reply channels(request_ctx& ctx) {
  if (!ctx.svc.rates) return text_reply(503, "channel counts are not being kept");
  const auto now = wall_ns() / 1000000000ull;
  auto recs = ctx.svc.rates->channels();
  // By channel string: frequencies that share one (2.4 GHz 1 and 6 GHz 1)
  // add up, as one record of Kismet's channel map would.
  std::map<std::string, packet_rates::channel_record> by_channel;
  for (auto rec : recs) {
    if (rec.channel.empty()) continue;
    rec.packets.advance(now);
    rec.bytes.advance(now);
    rec.devices.advance(std::max<std::uint64_t>(now, rec.devices.last_time()));
    auto [it, fresh] = by_channel.try_emplace(rec.channel, rec);
    if (fresh) continue;
    auto& c = it->second;
    c.packets.absorb(rec.packets);
    c.bytes.absorb(rec.bytes);
    c.devices.absorb(rec.devices);
    if (rec.signal.valid) {
      if (!c.signal.valid || rec.signal.min < c.signal.min) c.signal.min = rec.signal.min;
      if (!c.signal.valid || rec.signal.max > c.signal.max) c.signal.max = rec.signal.max;
      c.signal.last = rec.signal.last;
      c.signal.valid = true;
    }
  }
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  w.Key("kismet.channeltracker.channel_map");
  w.StartObject();
  for (const auto& [name, c] : by_channel) {
    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    write_channel(w, c, name, now);
  }
  w.EndObject();
  w.Key("kismet.channeltracker.frequency_map");
  w.StartObject();
  for (const auto& c : recs) {
    const auto key = std::to_string(c.freq_khz);
    w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
    write_channel(w, c, c.channel, now);
  }
  w.EndObject();
  w.EndObject();
  return json_reply(buf);
}

}  // namespace

void add_kismet_phy80211_routes(route_table& t, api_context& api) {
  add_kismet_route(t, api, "/phy/phy80211/ssids/views/ssids.", true, true, kReadRole,
                   "SSIDs: who advertises, answers and probes for each (POST: fields, regex, start, length)", ssids);
  add_kismet_route(t, api, "/phy/phy80211/ssids/by-hash/{hash}/ssid.", true, true, kReadRole,
                   "One SSID by its dot11.ssidgroup.hash", ssid_by_hash);
  for (const auto& f : kFormats) {
    const auto fmt = f.fmt;
    auto handler = [fmt](request_ctx& c) { return related_to(c, fmt); };
    const std::string pattern = std::string("/phy/phy80211/related-to/{key}/devices.") + f.suffix;
    add_route(t, api, "GET", pattern, kReadRole, "Devices related to one: an AP's clients, a client's APs", handler);
    add_route(t, api, "POST", pattern, kReadRole, "Devices related to one: an AP's clients, a client's APs", handler,
              kListCommandLimit);
  }
  add_route(t, api, "GET", "/phy/phy80211/by-key/{key}/device/{device}/pcap/handshake.pcap", kReadRole,
            "The handshake between an AP and one client (pcap, from the packet log)",
            [](request_ctx& c) { return handshake(c, true, false); });
  add_route(t, api, "GET", "/phy/phy80211/by-key/{key}/pcap/handshake.pcap", kReadRole,
            "An AP's handshakes with every client (pcap, from the packet log)",
            [](request_ctx& c) { return handshake(c, false, false); });
  add_route(t, api, "GET", "/phy/phy80211/by-key/{key}/pcap/handshake-pmkid.pcap", kReadRole,
            "An AP's beacon and first EAPOL frame with a PMKID (pcap, from the packet log)",
            [](request_ctx& c) { return handshake(c, false, true); });
  add_kismet_route(t, api, "/channels/channels.", true, true, kReadRole,
                   "Per channel and frequency: packets, bytes and active devices (minute/hour/day), signal", channels);
}

}  // namespace hopwire::collector

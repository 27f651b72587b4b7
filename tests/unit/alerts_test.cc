// The alert engine (collector/alerts/): Kismet's rate and burst limits
// exactly, each detector on crafted frames — fires once per limit with the
// right fields and names both sensors that heard it, stays quiet on benign
// frames — the stored form, the watch list and its masks, the YAML keys,
// the decoder fields the detectors read, and every capture in tests/data
// against the justified list in tests/data/expected_alerts.json.

#include <gtest/gtest.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector/alerts/alert.h"
#include "collector/alerts/alert_codec.h"
#include "collector/alerts/alert_engine.h"
#include "collector/alerts/alert_json.h"
#include "collector/alerts/alert_limits.h"
#include "collector/alerts/outputs.h"
#include "collector/config/alerts_yaml.h"
#include "collector/core/source_table.h"
#include "collector/decode/decoded_packet.h"
#include "sensor/capture_file.h"

using namespace hopwire;
using namespace hopwire::collector;

namespace {

constexpr std::uint64_t kS = 1'000'000'000ull;
constexpr std::uint64_t kT0 = 1'700'000'000ull * kS;  // packet times

using bytes = std::vector<std::uint8_t>;

void put_mac(bytes& b, std::uint64_t m) {
  for (int i = 5; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(m >> (8 * i)));
}
void put16(bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put_be16(bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void ie(bytes& b, std::uint8_t id, const bytes& body) {
  b.push_back(id);
  b.push_back(static_cast<std::uint8_t>(body.size()));
  b.insert(b.end(), body.begin(), body.end());
}
bytes str_bytes(std::string_view s) { return bytes(s.begin(), s.end()); }

// Radiotap with channel (MHz) and dBm signal, before the 802.11 frame.
bytes radiotap(std::uint16_t mhz, std::int8_t signal) {
  bytes b = {0, 0, 16, 0, 0x28, 0, 0, 0};  // present: channel (3), dbm signal (5)
  put16(b, mhz);
  put16(b, mhz < 3000 ? 0x00a0 : 0x0140);
  b.push_back(static_cast<std::uint8_t>(signal));
  b.resize(16, 0);
  return b;
}

bytes rsn_ie(bool mfpc, std::uint8_t akm = 2) {
  bytes r = {1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, akm};
  r.push_back(mfpc ? 0x80 : 0x00);
  r.push_back(0);
  return r;
}
bytes wpa_ie() {
  return {0x00, 0x50, 0xf2, 1, 1, 0, 0x00, 0x50, 0xf2, 2, 1, 0, 0x00, 0x50, 0xf2, 2, 1, 0, 0x00, 0x50, 0xf2, 2};
}

enum class sec { open, wep, wpa, wpa2, wpa3 };

struct bss_opts {
  std::string ssid = "CorpNet";
  std::uint8_t channel = 6;
  sec security = sec::wpa2;
  std::uint16_t interval = 100;
  std::uint64_t tsf = 0;
  bool mesh = false;
  bool omit_ssid = false;
  bytes extra;  // raw bytes appended after the elements
};

// A beacon (or probe response) from `bssid`.
bytes bss_frame(std::uint64_t bssid, const bss_opts& o, bool probe_resp = false, std::uint64_t dst = 0xffffffffffffull) {
  bytes f = {static_cast<std::uint8_t>(probe_resp ? 0x50 : 0x80), 0x00, 0, 0};
  put_mac(f, dst);
  put_mac(f, bssid);
  put_mac(f, bssid);
  put16(f, 0x10);
  for (int i = 0; i < 8; ++i) f.push_back(static_cast<std::uint8_t>(o.tsf >> (8 * i)));
  put16(f, o.interval);
  std::uint16_t cap = o.mesh ? 0 : 0x0001;
  if (o.security != sec::open) cap |= 0x0010;
  put16(f, cap);
  if (!o.omit_ssid) ie(f, 0, str_bytes(o.ssid));
  ie(f, 1, {0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24});
  ie(f, 3, {o.channel});
  if (o.security == sec::wpa2) ie(f, 48, rsn_ie(false));
  if (o.security == sec::wpa3) ie(f, 48, rsn_ie(true, 8));
  if (o.security == sec::wpa) ie(f, 221, wpa_ie());
  if (o.mesh) ie(f, 114, str_bytes("mesh"));
  f.insert(f.end(), o.extra.begin(), o.extra.end());
  return f;
}

bytes probe_req(std::uint64_t sta, std::string_view ssid) {
  bytes f = {0x40, 0x00, 0, 0};
  put_mac(f, 0xffffffffffffull);
  put_mac(f, sta);
  put_mac(f, 0xffffffffffffull);
  put16(f, 0x20);
  ie(f, 0, str_bytes(ssid));
  ie(f, 1, {0x82, 0x84, 0x8b, 0x96});
  return f;
}

bytes assoc_req(std::uint64_t sta, std::uint64_t bssid, std::string_view ssid, bool rsn, bool mfpc, bool reassoc = false) {
  bytes f = {static_cast<std::uint8_t>(reassoc ? 0x20 : 0x00), 0x00, 0, 0};
  put_mac(f, bssid);
  put_mac(f, sta);
  put_mac(f, bssid);
  put16(f, 0x30);
  put16(f, 0x0411);  // capability
  put16(f, 10);      // listen interval
  if (reassoc) put_mac(f, bssid);
  ie(f, 0, str_bytes(ssid));
  ie(f, 1, {0x82, 0x84, 0x8b, 0x96});
  if (rsn) ie(f, 48, rsn_ie(mfpc));
  return f;
}

bytes disconnect(std::uint64_t from, std::uint64_t to, std::uint64_t bssid, std::uint16_t reason, bool deauth = true) {
  bytes f = {static_cast<std::uint8_t>(deauth ? 0xc0 : 0xa0), 0x00, 0, 0};
  put_mac(f, to);
  put_mac(f, from);
  put_mac(f, bssid);
  put16(f, 0x40);
  put16(f, reason);
  return f;
}

// An EAPOL-Key frame between `ap` and `sta`; from the AP (FromDS) or to it.
bytes eapol_key(std::uint64_t ap, std::uint64_t sta, bool from_ap, std::uint16_t key_info, std::uint64_t counter,
                std::uint8_t nonce_fill, std::uint16_t key_data_len, bool retry = false) {
  bytes f = {0x08, static_cast<std::uint8_t>((from_ap ? 0x02 : 0x01) | (retry ? 0x08 : 0)), 0, 0};
  if (from_ap) {
    put_mac(f, sta);
    put_mac(f, ap);
    put_mac(f, ap);
  } else {
    put_mac(f, ap);
    put_mac(f, sta);
    put_mac(f, ap);
  }
  put16(f, 0x50);
  f.insert(f.end(), {0xaa, 0xaa, 0x03, 0, 0, 0, 0x88, 0x8e});
  f.insert(f.end(), {0x02, 0x03});
  put_be16(f, static_cast<std::uint16_t>(95 + key_data_len));
  f.push_back(0x02);  // descriptor: RSN
  put_be16(f, key_info);
  put_be16(f, 16);
  for (int i = 7; i >= 0; --i) f.push_back(static_cast<std::uint8_t>(counter >> (8 * i)));
  f.resize(f.size() + 32, nonce_fill);
  f.resize(f.size() + 16 + 8 + 8 + 16, 0);
  put_be16(f, key_data_len);
  f.resize(f.size() + key_data_len, 0xdd);
  return f;
}
constexpr std::uint16_t kM1 = 0x008a, kM2 = 0x010a, kM3 = 0x13ca, kM4 = 0x030a;

// An EAP Request from the AP carrying a WSC message of `type` (M3 = 0x07).
bytes eap_wsc(std::uint64_t ap, std::uint64_t sta, std::uint8_t type) {
  bytes f = {0x08, 0x02, 0, 0};
  put_mac(f, sta);
  put_mac(f, ap);
  put_mac(f, ap);
  put16(f, 0x60);
  f.insert(f.end(), {0xaa, 0xaa, 0x03, 0, 0, 0, 0x88, 0x8e});
  bytes wsc = {0x00, 0x37, 0x2a, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00};  // WFA SimpleConfig, WSC_MSG, no flags
  put_be16(wsc, 0x104a), put_be16(wsc, 1), wsc.push_back(0x10);          // Version
  put_be16(wsc, 0x1022), put_be16(wsc, 1), wsc.push_back(type);          // Message Type
  bytes eap = {0x01, 0x07};  // Request, id
  put_be16(eap, static_cast<std::uint16_t>(5 + wsc.size()));
  eap.push_back(254);
  eap.insert(eap.end(), wsc.begin(), wsc.end());
  f.insert(f.end(), {0x02, 0x00});  // EAPOL v2, EAP packet
  put_be16(f, static_cast<std::uint16_t>(eap.size()));
  f.insert(f.end(), eap.begin(), eap.end());
  return f;
}

// A test bench: an engine on a clock the test moves, and two sensors.
struct bench {
  std::atomic<std::uint64_t> clock{1'800'000'000ull * kS};
  source_table sources;
  ingest_source a, b;
  std::unique_ptr<alert_engine> engine;
  std::vector<alert> heard;  // subscribers' view
  std::vector<std::unique_ptr<bytes>> keep;

  explicit bench(alerts_config cfg = {}) {
    a.index = sources.index_of("a0000000-0000-4000-8000-000000000001", "roof");
    a.uuid = "a0000000-0000-4000-8000-000000000001";
    a.name = "roof";
    b.index = sources.index_of("b0000000-0000-4000-8000-000000000002", "lobby");
    b.uuid = "b0000000-0000-4000-8000-000000000002";
    b.name = "lobby";
    alert_engine::options o;
    o.clock = [this] { return clock.load(); };
    engine = std::make_unique<alert_engine>(&sources, nullptr, cfg, o);
    engine->subscribe([this](const alert& x) { heard.push_back(x); });
  }

  void advance(double seconds) { clock += static_cast<std::uint64_t>(seconds * 1e9); }

  // Feeds frames (plain 802.11, or radiotap when `signal` is set) heard by `src`.
  void feed(const ingest_source& src, const std::vector<std::pair<std::uint64_t, bytes>>& frames,
            std::int8_t signal = 0, std::uint16_t mhz = 2437) {
    std::vector<decoded_packet> ps;
    anomaly_counters an;
    for (const auto& [ts, f] : frames) {
      auto owned = std::make_unique<bytes>(signal ? radiotap(mhz, signal) : bytes{});
      owned->insert(owned->end(), f.begin(), f.end());
      decoded_packet p;
      p.dlt = signal ? kDltRadiotap : kDltIeee80211;
      p.ts_ns = ts;
      p.bytes = *owned;
      keep.push_back(std::move(owned));
      decode_packet(p, an);
      ps.push_back(p);
    }
    engine->on_packets(src, ps);
  }
  void feed1(const ingest_source& src, std::uint64_t ts, const bytes& f, std::int8_t signal = 0) {
    feed(src, {{ts, f}}, signal);
  }

  std::vector<alert> named(std::string_view header) const {
    std::vector<alert> out;
    for (const auto& x : engine->all())
      if (x.header == header) out.push_back(x);
    return out;
  }
  std::size_t total() const { return engine->all().size(); }
};

alerts_config enable_all() {
  alerts_config c;
  for (const char* n : {"DEAUTHCODEINVALID", "NONCEDEGRADE", "NONCEREUSE", "OVERPOWERED"})
    c.definitions[n].rate = alert_rate{10, alert_time_unit::minute}, c.definitions[n].burst = alert_rate{1, alert_time_unit::second};
  return c;
}

bool seen_by(const alert& x, std::string_view name) {
  for (const auto& s : x.seenby)
    if (s.name == name) return true;
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Kismet's rate and burst limits.

namespace {
std::uint64_t at(double s) { return static_cast<std::uint64_t>(s * 1e9); }
alert_limits limits(const char* rate, const char* burst) {
  std::string why;
  auto l = try_parse_alert_limits(rate, burst, why);
  EXPECT_TRUE(l) << why;
  return l.value_or(alert_limits{});
}
}  // namespace

TEST(alert_limits, a_burst_of_one_per_second_waits_for_the_next_whole_second_after_the_last_send) {
  rate_limiter l(limits("5/min", "1/sec"));
  EXPECT_TRUE(l.try_acquire(at(100.3)));
  EXPECT_FALSE(l.try_acquire(at(100.9)));
  // 100.3 is not older than 101 - 1 = 100: still in the burst.
  EXPECT_FALSE(l.try_acquire(at(101.5)));
  // 100.3 < 102 - 1: the burst counter restarts.
  EXPECT_TRUE(l.try_acquire(at(102.0)));
}

TEST(alert_limits, the_rate_silences_until_a_whole_unit_after_the_last_alert_sent) {
  rate_limiter l(limits("5/min", "1/sec"));
  double t = 100.0;
  int sent = 0;
  for (; t < 200 && sent < 5; t += 0.5) sent += l.try_acquire(at(t));
  ASSERT_EQ(sent, 5);
  const double last = l.snapshot().time_last_ns / 1e9;
  EXPECT_NEAR(last, 108.0, 0.01);  // 100, 102, 104, 106, 108
  // Silent while the last send is not older than now (whole seconds) - 60.
  for (double u = last + 1; u < last + 61; u += 0.5) EXPECT_FALSE(l.try_acquire(at(u))) << u;
  EXPECT_TRUE(l.try_acquire(at(last + 61)));
  EXPECT_EQ(l.snapshot().total_sent, 1u);  // both counters restarted
}

TEST(alert_limits, refused_attempts_do_not_move_the_last_send_time) {
  rate_limiter l(limits("2/min", "2/sec"));
  EXPECT_TRUE(l.try_acquire(at(10.1)));
  EXPECT_TRUE(l.try_acquire(at(10.2)));
  for (double t = 11; t < 70; t += 1) EXPECT_FALSE(l.try_acquire(at(t)));
  EXPECT_NEAR(l.snapshot().time_last_ns / 1e9, 10.2, 1e-6);
  EXPECT_TRUE(l.try_acquire(at(71)));  // 10.2 < 71 - 60
}

TEST(alert_limits, a_rate_of_zero_squelches_the_alert) {
  rate_limiter l(limits("0/min", "0/sec"));
  for (double t = 0; t < 1000; t += 7) EXPECT_FALSE(l.try_acquire(at(1e6 + t)));
}

TEST(alert_limits, a_burst_of_zero_lets_an_alert_out_only_when_the_rate_unit_has_passed) {
  // Kismet's check returns at once when the rate unit has passed, before
  // it looks at the burst.
  rate_limiter l(limits("5/min", "0/sec"));
  EXPECT_TRUE(l.try_acquire(at(1000)));
  EXPECT_FALSE(l.try_acquire(at(1002)));
  EXPECT_FALSE(l.try_acquire(at(1060)));
  EXPECT_TRUE(l.try_acquire(at(1061)));
}

TEST(alert_limits, would_allow_sends_nothing) {
  rate_limiter l(limits("1/min", "1/sec"));
  EXPECT_TRUE(l.would_allow(at(500)));
  EXPECT_TRUE(l.would_allow(at(500)));
  EXPECT_EQ(l.snapshot().total_sent, 0u);
  EXPECT_TRUE(l.try_acquire(at(500)));
  EXPECT_FALSE(l.would_allow(at(501)));
}

TEST(alert_limits, new_limits_keep_the_counters) {
  rate_limiter l(limits("10/min", "10/sec"));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.try_acquire(at(100 + i * 0.01)));
  l.set_limits(limits("3/min", "10/sec"));
  EXPECT_FALSE(l.try_acquire(at(100.5)));
}

TEST(alert_rate_syntax, reads_kismets_forms_and_says_why_not) {
  std::string why;
  auto r = try_parse_alert_rate("10/min", why);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 10u);
  EXPECT_EQ(r->unit, alert_time_unit::minute);
  EXPECT_EQ(try_parse_alert_rate("1/sec", why)->unit, alert_time_unit::second);
  EXPECT_EQ(try_parse_alert_rate("5/second", why)->unit, alert_time_unit::second);
  EXPECT_EQ(try_parse_alert_rate("2/HOUR", why)->unit, alert_time_unit::hour);
  EXPECT_EQ(try_parse_alert_rate("2/hr", why)->unit, alert_time_unit::hour);
  EXPECT_EQ(try_parse_alert_rate("1/day", why)->unit, alert_time_unit::day);
  const auto bare = try_parse_alert_rate("7", why);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->unit, alert_time_unit::minute);  // no unit: per minute
  EXPECT_EQ(try_parse_alert_rate(" 0/min ", why)->count, 0u);
  for (const char* bad : {"", "/min", "x/min", "10/fortnight", "-1/min", "10abc", "1.5/sec"}) {
    why.clear();
    EXPECT_FALSE(try_parse_alert_rate(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_FALSE(try_parse_alert_limits("1/min", "1/hr", why));
  EXPECT_NE(why.find("burst"), std::string::npos);
  EXPECT_TRUE(try_parse_alert_limits("1/hr", "1/min", why));
  EXPECT_EQ(format_alert_rate(*try_parse_alert_rate("5/min", why)), "5/min");
}

// ---------------------------------------------------------------------------
// Kismet's hash, names, the record and its codec.

TEST(alert_record, kismet_adler32_is_not_zlibs) {
  EXPECT_EQ(kismet_adler32("kismet_cap_pcapfile"), 0x4E1D07C3u);
  EXPECT_EQ(kismet_adler32("abc"), 0u);  // under 4 bytes
}

TEST(alert_record, the_hash_covers_kismets_fields_in_kismets_format) {
  alert a;
  a.header = "DEAUTHFLOOD";
  a.severity = 10;
  a.phy = kPhyDot11;
  a.ts_ns = 1718900000ull * kS + 123456000ull;
  a.transmitter = mac_addr{0x001122334455};
  a.channel.assign(1, '6');
  EXPECT_EQ(kismet_alert_hash(a),
            kismet_adler32("DEAUTHFLOOD 10 0 1718900000.123456 00:11:22:33:44:55 00:00:00:00:00:00 "
                           "00:00:00:00:00:00 00:00:00:00:00:00 6"));
  a.ts_ns = 1718900000ull * kS;
  a.phy = kPhyAny;
  EXPECT_EQ(kismet_alert_hash(a),
            kismet_adler32("DEAUTHFLOOD 10 4294967295 1718900000 00:11:22:33:44:55 00:00:00:00:00:00 "
                           "00:00:00:00:00:00 00:00:00:00:00:00 6"));
}

TEST(alert_record, the_builtin_table_and_the_configs_name_list_agree) {
  ASSERT_EQ(std::size(kBuiltinAlertNames), kBuiltinAlerts);
  for (std::size_t i = 0; i < kBuiltinAlerts; ++i) {
    const auto& b = builtin(static_cast<builtin_alert>(i));
    EXPECT_STREQ(b.header, kBuiltinAlertNames[i]);
    EXPECT_TRUE(valid_severity(b.severity)) << b.header;
    EXPECT_LE(static_cast<int>(b.limits.burst.unit), static_cast<int>(b.limits.rate.unit)) << b.header;
  }
  // Kismet's defaults for a few.
  EXPECT_EQ(builtin(builtin_alert::deauthflood).limits, limits("5/min", "2/sec"));
  EXPECT_EQ(builtin(builtin_alert::apspoof).limits, limits("10/min", "1/sec"));
  EXPECT_EQ(builtin(builtin_alert::noclientmfp).limits, limits("10/min", "1/sec"));
  EXPECT_EQ(builtin(builtin_alert::noncereuse).limits.rate.count, 0u);
  EXPECT_STREQ(builtin(builtin_alert::karmaoui).alert_class, "PROBE");
  EXPECT_EQ(builtin(builtin_alert::longssid).severity, kSevCritical);
}

namespace {
alert sample_alert() {
  alert a;
  a.id = 42;
  a.header = "APSPOOF";
  a.alert_class = "SPOOF";
  a.severity = 15;
  a.phy = 0;
  a.ts_ns = 1718900000123456000ull;
  a.transmitter = mac_addr{0x0a0b0c0d0e0f};
  a.source = mac_addr{0x010203040506};
  a.channel = "36";
  a.freq_khz = 5180000;
  a.text = "SSID 'caf\xc3\xa9'";
  a.location = {true, 52.52, 13.405, 48.0, true, 1718900000000000000ull};
  a.device = a.transmitter;
  a.has_device = true;
  a.hash = kismet_alert_hash(a);
  a.count = 7;
  a.last_ns = a.ts_ns + 5 * kS;
  a.acknowledged = true;
  a.acknowledged_by = "admin";
  a.acknowledged_ns = a.ts_ns + 60 * kS;
  alert_seenby s1{0, "a0000000-0000-4000-8000-000000000001", "roof", 12, -40, -55, -38, true, 1, 2};
  alert_seenby s2{1, "b0000000-0000-4000-8000-000000000002", "lobby", 3, 0, 0, 0, false, 3, 4};
  a.seenby = {s1, s2};
  return a;
}
}  // namespace

TEST(alert_codec, an_alert_round_trips) {
  const alert a = sample_alert();
  const std::string rec = encode_alert(a);
  alert b;
  std::string why;
  ASSERT_TRUE(decode_alert(rec, b, why)) << why;
  EXPECT_EQ(b.id, a.id);
  EXPECT_EQ(b.header, a.header);
  EXPECT_EQ(b.alert_class, a.alert_class);
  EXPECT_EQ(b.severity, a.severity);
  EXPECT_EQ(b.ts_ns, a.ts_ns);
  EXPECT_EQ(b.transmitter, a.transmitter);
  EXPECT_EQ(b.source, a.source);
  EXPECT_EQ(b.channel, a.channel);
  EXPECT_EQ(b.freq_khz, a.freq_khz);
  EXPECT_EQ(b.text, a.text);
  EXPECT_TRUE(b.location.valid);
  EXPECT_DOUBLE_EQ(b.location.lat, 52.52);
  EXPECT_EQ(b.hash, a.hash);
  EXPECT_EQ(b.count, 7u);
  EXPECT_TRUE(b.acknowledged);
  EXPECT_EQ(b.acknowledged_by, "admin");
  ASSERT_EQ(b.seenby.size(), 2u);
  EXPECT_EQ(b.seenby[0].name, "roof");
  EXPECT_EQ(b.seenby[0].packets, 12u);
  EXPECT_EQ(b.seenby[0].signal_min, -55);
  EXPECT_EQ(b.seenby[1].uuid, "b0000000-0000-4000-8000-000000000002");
  EXPECT_EQ(encode_alert(b), rec);
}

TEST(alert_codec, every_cut_and_a_newer_version_are_refused_with_a_reason) {
  const std::string rec = encode_alert(sample_alert());
  for (std::size_t n = 0; n < rec.size(); ++n) {
    alert out;
    std::string why;
    EXPECT_FALSE(decode_alert(std::string_view(rec).substr(0, n), out, why)) << n;
    EXPECT_FALSE(why.empty());
  }
  std::string newer = rec;
  newer[0] = 2;
  alert out;
  std::string why;
  EXPECT_FALSE(decode_alert(newer, out, why));
  EXPECT_NE(why.find("version"), std::string::npos);
  // A string length that claims more than the record holds.
  std::string lying = rec;
  lying[9] = '\x7f';
  EXPECT_FALSE(decode_alert(lying, out, why));
  EXPECT_FALSE(decode_alert(rec + "x", out, why));
}

TEST(alert_json, writes_kismets_field_names_and_ours) {
  const std::string j = alert_json(sample_alert());
  rapidjson::Document d;
  d.Parse(j.c_str());
  ASSERT_FALSE(d.HasParseError()) << j;
  EXPECT_STREQ(d["kismet.alert.header"].GetString(), "APSPOOF");
  EXPECT_STREQ(d["kismet.alert.class"].GetString(), "SPOOF");
  EXPECT_EQ(d["kismet.alert.severity"].GetUint(), 15u);
  EXPECT_EQ(d["kismet.alert.hash"].GetUint(), sample_alert().hash);
  EXPECT_EQ(d["kismet.alert.phy_id"].GetUint(), 0u);
  EXPECT_NEAR(d["kismet.alert.timestamp"].GetDouble(), 1718900000.123456, 1e-6);
  EXPECT_STREQ(d["kismet.alert.transmitter_mac"].GetString(), "0A:0B:0C:0D:0E:0F");
  EXPECT_STREQ(d["kismet.alert.dest_mac"].GetString(), "00:00:00:00:00:00");
  EXPECT_STREQ(d["kismet.alert.channel"].GetString(), "36");
  EXPECT_DOUBLE_EQ(d["kismet.alert.frequency"].GetDouble(), 5180000.0);
  EXPECT_STREQ(d["kismet.alert.device_key"].GetString(), "4202770D00000000_00000A0B0C0D0E0F");
  const auto& geo = d["kismet.alert.location"]["kismet.common.location.geopoint"];
  EXPECT_DOUBLE_EQ(geo[0].GetDouble(), 13.405);  // [lon, lat]
  EXPECT_EQ(d["hopwire.alert.id"].GetUint64(), 42u);
  ASSERT_EQ(d["hopwire.alert.seenby"].Size(), 2u);
  EXPECT_STREQ(d["hopwire.alert.seenby"][1]["hopwire.alert.seenby.name"].GetString(), "lobby");
  EXPECT_EQ(d["hopwire.alert.seenby"][0]["hopwire.alert.seenby.signal"]["kismet.common.signal.max_signal"].GetInt(), -38);
  EXPECT_TRUE(d["hopwire.alert.acknowledged"].GetBool());
  alert none;
  EXPECT_EQ(alert_device_key(none), "00_0");
}

// ---------------------------------------------------------------------------
// MAC masks and the watch list.

TEST(mac_masks, kismets_mask_form_bit_counts_and_ouis) {
  std::string why;
  auto m = try_parse_mac_mask("AA:BB:CC:00:00:00/FF:FF:FF:00:00:00", why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->bits, 24);
  EXPECT_TRUE(m->matches(mac_addr{0xaabbcc123456}));
  EXPECT_FALSE(m->matches(mac_addr{0xaabbcd123456}));
  EXPECT_EQ(m->str(), "AA:BB:CC:00:00:00/FF:FF:FF:00:00:00");
  EXPECT_EQ(try_parse_mac_mask("aa:bb:cc:dd:ee:ff", why)->bits, 48);
  EXPECT_EQ(try_parse_mac_mask("AA:BB:CC:DD:EE:FF/28", why)->mac.v, 0xaabbccd00000ull);
  EXPECT_EQ(try_parse_mac_mask("00:13:37", why)->bits, 24);
  for (const char* bad : {"", "AA:BB", "AA:BB:CC:DD:EE:FF/FF:00:FF:00:00:00", "AA:BB:CC:DD:EE:FF/0",
                          "AA:BB:CC:DD:EE:FF/49", "zz:bb:cc:dd:ee:ff"})
    EXPECT_FALSE(try_parse_mac_mask(bad, why)) << bad;
}

namespace {
struct memory_watch : watchlist_backend {
  std::map<std::string, std::string> kv;
  bool fail = false;
  bool put(std::string_view k, std::string_view v) override {
    if (fail) return false;
    kv[std::string(k)] = std::string(v);
    return true;
  }
  bool erase(std::string_view k) override {
    if (fail) return false;
    kv.erase(std::string(k));
    return true;
  }
  void load(const std::function<void(std::string_view, std::string_view)>& fn) override {
    for (const auto& [k, v] : kv) fn(k, v);
  }
};
}  // namespace

TEST(watch_list, masks_types_and_persistence) {
  memory_watch store;
  std::string why;
  {
    watch_list w;
    w.set_backend(&store);
    w.set_configured({{*try_parse_mac_mask("00:11:22:33:44:55", why), kWatchFound}});
    ASSERT_TRUE(w.add(*try_parse_mac_mask("AA:BB:CC:00:00:00/FF:FF:FF:00:00:00", why), kWatchLost).ok);
    ASSERT_TRUE(w.add(*try_parse_mac_mask("AA:BB:CC:DD:EE:FF", why), kWatchFound).ok);
    const auto idx = w.snapshot();
    EXPECT_EQ(idx->match(mac_addr{0xaabbccddeeff}), kWatchBoth);  // exact (found) + masked (lost)
    EXPECT_EQ(idx->match(mac_addr{0xaabbcc000001}), kWatchLost);
    EXPECT_EQ(idx->match(mac_addr{0x001122334455}), kWatchFound);
    EXPECT_EQ(idx->match(mac_addr{0x001122334456}), 0);
    EXPECT_EQ(w.list(kWatchLost).size(), 1u);
    EXPECT_EQ(w.list(kWatchBoth).size(), 3u);
    // The configured entry is the file's to change.
    EXPECT_FALSE(w.remove(*try_parse_mac_mask("00:11:22:33:44:55", why), kWatchFound).ok);
    EXPECT_TRUE(w.remove(*try_parse_mac_mask("AA:BB:CC:DD:EE:FF", why), kWatchFound).ok);
    EXPECT_EQ(w.snapshot()->match(mac_addr{0xaabbccddeeff}), kWatchLost);
    store.fail = true;
    EXPECT_FALSE(w.add(*try_parse_mac_mask("01:02:03:04:05:06", why), kWatchFound).ok);
    EXPECT_EQ(w.snapshot()->match(mac_addr{0x010203040506}), 0);  // not stored, not applied
    store.fail = false;
  }
  watch_list again;
  std::vector<std::string> problems;
  again.load(store, problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(again.snapshot()->match(mac_addr{0xaabbcc777777}), kWatchLost);
  EXPECT_EQ(again.snapshot()->match(mac_addr{0x001122334455}), 0);  // the file's entry is not stored
}

// ---------------------------------------------------------------------------
// The decoder fields the detectors read.

TEST(decode_for_alerts, beacon_timestamp_interval_and_reason_codes) {
  anomaly_counters an;
  bss_opts o;
  o.tsf = 0x0102030405060708ull;
  o.interval = 102;
  const auto f = bss_frame(0x001122334455, o);
  dot11_frame d;
  ASSERT_TRUE(decode_dot11(f, false, d, an));
  EXPECT_EQ(d.tsf, 0x0102030405060708ull);
  EXPECT_EQ(d.beacon_interval, 102);
  const auto x = disconnect(0x001122334455, 0xffffffffffff, 0x001122334455, 99);
  dot11_frame e;
  ASSERT_TRUE(decode_dot11(x, false, e, an));
  EXPECT_EQ(e.reason, 99);
}

TEST(decode_for_alerts, eapol_nonce_key_info_and_key_data_length) {
  anomaly_counters an;
  const auto f = eapol_key(0x001122334455, 0x66778899aabb, true, kM1, 5, 0x5a, 0);
  dot11_frame d;
  ASSERT_TRUE(decode_dot11(f, false, d, an));
  EXPECT_EQ(d.eapol.message, 1);
  EXPECT_EQ(d.eapol.packet_type, 3);
  EXPECT_EQ(d.eapol.key_info, kM1);
  EXPECT_EQ(d.eapol.replay_counter, 5u);
  ASSERT_EQ(d.eapol.nonce.size(), 32u);
  EXPECT_EQ(d.eapol.nonce[31], 0x5a);
  EXPECT_TRUE(d.eapol.has_key_data_len);
  const auto m2 = eapol_key(0x001122334455, 0x66778899aabb, false, kM2, 5, 0x11, 22);
  dot11_frame e;
  ASSERT_TRUE(decode_dot11(m2, false, e, an));
  EXPECT_EQ(e.eapol.message, 2);
  EXPECT_EQ(e.eapol.key_data_len, 22);
  const auto m4 = eapol_key(0x001122334455, 0x66778899aabb, false, kM4, 6, 0, 0);
  dot11_frame g;
  ASSERT_TRUE(decode_dot11(m4, false, g, an));
  EXPECT_EQ(g.eapol.message, 4);
  // Cut inside the nonce: no nonce, no read past the end.
  auto cut = f;
  cut.resize(24 + 8 + 4 + 13 + 10);
  dot11_frame h;
  ASSERT_TRUE(decode_dot11(cut, false, h, an));
  EXPECT_TRUE(h.eapol.is_key);
  EXPECT_TRUE(h.eapol.nonce.empty());
}

TEST(decode_for_alerts, eap_wsc_message_type_and_cut_frames) {
  anomaly_counters an;
  const auto f = eap_wsc(0x001122334455, 0x66778899aabb, 0x07);
  dot11_frame d;
  ASSERT_TRUE(decode_dot11(f, false, d, an));
  EXPECT_EQ(d.eapol.packet_type, 0);
  EXPECT_EQ(d.eapol.eap_code, 1);
  EXPECT_EQ(d.eapol.eap_type, 254);
  EXPECT_EQ(d.eapol.wps_message, 0x07);
  EXPECT_EQ(d.eapol.message, 0);
  for (std::size_t n = 24; n < f.size(); ++n) {
    auto cut = f;
    cut.resize(n);
    dot11_frame e;
    decode_dot11(cut, false, e, an);
    EXPECT_EQ(e.eapol.wps_message, n == f.size() ? 0x07 : 0) << n;
  }
}

TEST(decode_for_alerts, the_trackers_handshake_numbering_is_unchanged) {
  anomaly_counters an;
  struct {
    std::uint16_t info;
    bool from_ap;
    std::uint16_t kd;
    std::uint8_t msg;
  } cases[] = {{kM1, true, 0, 1}, {kM2, false, 22, 2}, {kM3, true, 56, 3}, {kM4, false, 0, 4},
               {0x0382, true, 32, 0} /* group key message 1 */};
  for (const auto& c : cases) {
    const auto f = eapol_key(0x001122334455, 0x66778899aabb, c.from_ap, c.info, 1, 0x42, c.kd);
    dot11_frame d;
    ASSERT_TRUE(decode_dot11(f, false, d, an));
    EXPECT_EQ(d.eapol.message, c.msg) << std::hex << c.info;
  }
}

// ---------------------------------------------------------------------------
// Detectors: each fires once per limit with the right fields and names both
// sensors, and stays quiet on benign frames.

namespace {
constexpr std::uint64_t kAp = 0x001122334455, kSta = 0x66778899aabb, kEvil = 0x02deadbeef01;
}

TEST(detectors, a_deauth_flood_heard_by_two_sensors_is_one_alert_naming_both) {
  bench t;
  std::vector<std::pair<std::uint64_t, bytes>> flood;
  for (int i = 0; i < 30; ++i) flood.push_back({kT0 + i * 50'000'000ull, disconnect(kAp, kSta + i, kAp, 7)});
  t.feed(t.a, flood, -40);
  t.feed(t.b, flood, -62);
  const auto got = t.named("DEAUTHFLOOD");
  ASSERT_EQ(got.size(), 1u);
  const auto& x = got[0];
  EXPECT_EQ(x.alert_class, "DENIAL");
  EXPECT_EQ(x.severity, 10);
  EXPECT_EQ(x.transmitter.v, kAp);
  EXPECT_EQ(x.phy, kPhyDot11);
  EXPECT_EQ(x.channel, "6");
  EXPECT_EQ(x.freq_khz, 2437000u);
  EXPECT_NE(x.text.find("00:11:22:33:44:55"), std::string::npos);
  ASSERT_EQ(x.seenby.size(), 2u);
  EXPECT_TRUE(seen_by(x, "roof"));
  EXPECT_TRUE(seen_by(x, "lobby"));
  for (const auto& s : x.seenby) {
    EXPECT_GT(s.packets, 0u);
    EXPECT_TRUE(s.has_signal);
    EXPECT_EQ(s.signal_last, s.name == "roof" ? -40 : -62);
  }
  EXPECT_EQ(x.seenby[0].uuid, t.a.uuid);
  EXPECT_EQ(t.heard.size(), 1u);  // subscribers hear it once
  EXPECT_EQ(t.named("BCASTDISCON").size(), 0u);
}

TEST(detectors, ten_deauths_or_slow_ones_are_no_flood) {
  bench t;
  std::vector<std::pair<std::uint64_t, bytes>> ten, slow;
  for (int i = 0; i < 10; ++i) ten.push_back({kT0 + i * 10'000'000ull, disconnect(kAp, kSta, kAp, 3)});
  for (int i = 0; i < 40; ++i) slow.push_back({kT0 + 100 * kS + i * 2 * kS, disconnect(kAp, kSta, kAp, 3)});
  t.feed(t.a, ten);
  t.feed(t.b, ten);  // two sensors' ten are not twenty
  t.feed(t.a, slow);
  EXPECT_EQ(t.total(), 0u);
}

TEST(detectors, a_flood_that_goes_on_raises_again_within_the_limits) {
  bench t;  // DEAUTHFLOOD: 5/min, 2/sec, merged for 10 s
  std::uint64_t ts = kT0;
  for (int round = 0; round < 8; ++round) {
    std::vector<std::pair<std::uint64_t, bytes>> f;
    for (int i = 0; i < 12; ++i, ts += 10'000'000ull) f.push_back({ts, disconnect(kAp, kSta, kAp, 7)});
    t.feed(t.a, f);
    t.advance(11);  // past the merge window
  }
  // 8 bursts 11 s apart: the rate allows 5 a minute.
  EXPECT_EQ(t.named("DEAUTHFLOOD").size(), 5u);
}

TEST(detectors, broadcast_disconnects_raise_bcastdiscon_unicast_ones_do_not) {
  bench t;
  t.feed1(t.a, kT0, disconnect(kSta, kAp, kAp, 8));  // a station leaving
  t.feed1(t.a, kT0 + kS, disconnect(kAp, kSta, kAp, 3));
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0 + 2 * kS, disconnect(kAp, 0xffffffffffff, kAp, 3, false), -50);
  t.feed1(t.b, kT0 + 2 * kS, disconnect(kAp, 0xffffffffffff, kAp, 3, false), -70);
  const auto got = t.named("BCASTDISCON");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].transmitter.v, kAp);
  EXPECT_EQ(got[0].dest.v, 0xffffffffffffull);
  EXPECT_EQ(got[0].seenby.size(), 2u);
}

TEST(detectors, undefined_disassociation_reason_codes_raise_disconcodeinvalid) {
  bench t;
  for (std::uint16_t ok : {1, 3, 8, 25, 31, 45, 46, 66, 71})
    t.feed1(t.a, kT0 + ok * kS, disconnect(kSta, kAp, kAp, ok, false));
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0 + 100 * kS, disconnect(kSta, kAp, kAp, 99, false));
  const auto got = t.named("DISCONCODEINVALID");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].alert_class, "EXPLOIT");
  EXPECT_EQ(got[0].severity, 15);
  EXPECT_NE(got[0].text.find("99"), std::string::npos);
  // Deauthentications: DEAUTHCODEINVALID, off by default as in Kismet.
  t.feed1(t.a, kT0 + 200 * kS, disconnect(kSta, kAp, kAp, 0));
  EXPECT_EQ(t.named("DEAUTHCODEINVALID").size(), 0u);
  bench on(enable_all());
  on.feed1(on.a, kT0, disconnect(kSta, kAp, kAp, 0));
  EXPECT_EQ(on.named("DEAUTHCODEINVALID").size(), 1u);
}

namespace {
alerts_config corp() {
  alerts_config c;
  known_network n;
  n.name = "corporate";
  n.ssid = "CorpNet";
  std::string why;
  n.bssids = {*try_parse_mac_mask("00:11:22:33:44:55", why), *try_parse_mac_mask("00:22:44", why)};
  n.encryption = kNetWpa2 | kNetWpa3;
  n.channels = {1, 6, 11};
  c.known_networks.push_back(n);
  return c;
}
}  // namespace

TEST(detectors, an_unknown_bssid_advertising_a_known_ssid_is_apspoof) {
  bench t(corp());
  bss_opts o;
  t.feed1(t.a, kT0, bss_frame(kAp, o));                 // listed
  t.feed1(t.a, kT0 + kS, bss_frame(0x002244000001, o));  // its OUI is listed
  o.ssid = "Other";
  t.feed1(t.a, kT0 + 2 * kS, bss_frame(kEvil, o));      // not a known SSID
  EXPECT_EQ(t.total(), 0u);
  o.ssid = "CorpNet";
  for (int i = 0; i < 5; ++i) {
    t.feed1(t.a, kT0 + (10 + i) * kS, bss_frame(kEvil, o), -45);
    t.feed1(t.b, kT0 + (10 + i) * kS, bss_frame(kEvil, o), -75);
  }
  const auto got = t.named("APSPOOF");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].alert_class, "SPOOF");
  EXPECT_EQ(got[0].severity, 15);
  EXPECT_EQ(got[0].transmitter.v, kEvil);
  EXPECT_EQ(got[0].source.v, kEvil);
  EXPECT_NE(got[0].text.find("CorpNet"), std::string::npos);
  EXPECT_TRUE(seen_by(got[0], "roof"));
  EXPECT_TRUE(seen_by(got[0], "lobby"));
  EXPECT_EQ(got[0].count, 10u);
  EXPECT_EQ(got[0].device.v, kEvil);
  EXPECT_EQ(t.total(), 1u);
}

TEST(detectors, a_known_network_advertised_open_is_cryptodrop_and_weaker_is_advcryptchange) {
  bench t(corp());
  bss_opts o;
  o.security = sec::open;
  t.feed1(t.a, kT0, bss_frame(kAp, o));
  t.feed1(t.b, kT0, bss_frame(kAp, o));
  auto got = t.named("CRYPTODROP");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("Open"), std::string::npos);
  EXPECT_EQ(got[0].seenby.size(), 2u);
  o.security = sec::wpa;
  t.feed1(t.a, kT0, bss_frame(0x002244000002, o));
  got = t.named("ADVCRYPTCHANGE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("WPA"), std::string::npos);
  o.security = sec::wpa3;
  t.feed1(t.a, kT0, bss_frame(0x002244000003, o));
  EXPECT_EQ(t.total(), 2u);
}

TEST(detectors, a_network_that_drops_its_encryption_is_cryptodrop) {
  bench t;
  bss_opts o;
  o.ssid = "HomeNet";
  for (int i = 0; i < 3; ++i) t.feed1(t.a, kT0 + i * kS, bss_frame(kAp, o));
  EXPECT_EQ(t.total(), 0u);
  o.security = sec::open;
  t.feed1(t.a, kT0 + 10 * kS, bss_frame(kAp, o));
  t.feed1(t.b, kT0 + 10 * kS, bss_frame(kAp, o));
  auto got = t.named("CRYPTODROP");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("from WPA2 (PSK, CCMP) to Open"), std::string::npos) << got[0].text;
  t.advance(20);
  o.security = sec::wpa;
  t.feed1(t.a, kT0 + 20 * kS, bss_frame(kAp, o));
  got = t.named("ADVCRYPTCHANGE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("from Open to WPA"), std::string::npos) << got[0].text;
}

TEST(detectors, two_sensors_out_of_step_see_one_change_not_a_flip_flop) {
  // The second sensor delivers the same beacons later (a replay, or what it
  // stored while its link was down): each sensor's sequence is its own.
  bench t;
  bss_opts o;
  o.ssid = "HomeNet";
  std::vector<std::pair<std::uint64_t, bytes>> seq;
  for (int i = 0; i < 5; ++i) seq.push_back({kT0 + i * kS, bss_frame(kAp, o)});
  o.security = sec::open;
  o.channel = 11;
  o.interval = 300;
  for (int i = 5; i < 10; ++i) seq.push_back({kT0 + i * kS, bss_frame(kAp, o)});
  t.feed(t.a, seq);
  t.feed(t.b, seq);
  for (const char* h : {"CRYPTODROP", "CHANCHANGE", "BEACONRATE"}) {
    const auto got = t.named(h);
    ASSERT_EQ(got.size(), 1u) << h;
    EXPECT_EQ(got[0].seenby.size(), 2u) << h;
  }
  EXPECT_EQ(t.total(), 3u);  // no ADVCRYPTCHANGE "from Open back to WPA2"
}

TEST(detectors, channel_changes_and_probe_responses_on_another_channel) {
  bench t;
  bss_opts o;
  o.ssid = "Cafe";
  for (int i = 0; i < 3; ++i) t.feed1(t.a, kT0 + i * kS, bss_frame(kAp, o));
  t.feed1(t.a, kT0 + 4 * kS, bss_frame(kAp, o, true, kSta));
  EXPECT_EQ(t.total(), 0u);
  o.channel = 11;
  t.feed1(t.a, kT0 + 5 * kS, bss_frame(kAp, o, true, kSta));
  auto probe = t.named("PROBECHAN");
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].channel, "11");
  t.feed1(t.a, kT0 + 6 * kS, bss_frame(kAp, o));
  const auto got = t.named("CHANCHANGE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("from 6 to 11"), std::string::npos);
  EXPECT_EQ(got[0].severity, 5);
}

TEST(detectors, a_known_network_on_an_unexpected_channel_is_chanchange) {
  bench t(corp());
  bss_opts o;
  o.channel = 3;
  t.feed1(t.a, kT0, bss_frame(kAp, o));
  const auto got = t.named("CHANCHANGE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("channel 3"), std::string::npos);
}

TEST(detectors, out_of_sequence_bss_timestamps_from_two_clocks_are_bsstimestamp) {
  bench t;
  bss_opts real, twin;
  real.ssid = twin.ssid = "Lab";
  std::vector<std::pair<std::uint64_t, bytes>> steady, mixed;
  // One AP: TSF advances with time, one reboot (TSF back to zero) on the way.
  for (int i = 0; i < 50; ++i) {
    real.tsf = (i < 25 ? 5'000'000'000ull : 0) + static_cast<std::uint64_t>(i) * 102'400;
    steady.push_back({kT0 + i * 102'400'000ull, bss_frame(kAp, real)});
  }
  t.feed(t.a, steady);
  EXPECT_EQ(t.total(), 0u);
  // A twin with its own clock beacons between the real AP's beacons.
  for (int i = 0; i < 20; ++i) {
    const std::uint64_t ts = kT0 + 100 * kS + i * 102'400'000ull;
    real.tsf = 9'000'000'000ull + static_cast<std::uint64_t>(i) * 102'400;
    twin.tsf = 1'000'000ull + static_cast<std::uint64_t>(i) * 102'400;
    mixed.push_back({ts, bss_frame(kEvil, real)});
    mixed.push_back({ts + 50'000'000ull, bss_frame(kEvil, twin)});
  }
  t.feed(t.a, mixed, -50);
  t.feed(t.b, mixed, -60);
  const auto got = t.named("BSSTIMESTAMP");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].transmitter.v, kEvil);
  EXPECT_EQ(got[0].seenby.size(), 2u);
}

TEST(detectors, a_changed_beacon_interval_is_beaconrate) {
  bench t;
  bss_opts o;
  o.ssid = "Cafe";
  for (int i = 0; i < 3; ++i) t.feed1(t.a, kT0 + i * kS, bss_frame(kAp, o));
  o.interval = 200;
  t.feed1(t.a, kT0 + 5 * kS, bss_frame(kAp, o));
  const auto got = t.named("BEACONRATE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("from 100 to 200 TU"), std::string::npos);
}

TEST(detectors, probe_responses_from_oui_00_13_37_are_karmaoui) {
  bench t;
  bss_opts o;
  o.security = sec::open;
  for (const char* ssid : {"HomeWiFi", "Starbucks", "Airport"}) {
    o.ssid = ssid;
    t.feed1(t.a, kT0, bss_frame(0x001337abcdef, o, true, kSta));
    t.feed1(t.b, kT0, bss_frame(0x001337abcdef, o, true, kSta));
  }
  const auto got = t.named("KARMAOUI");
  ASSERT_EQ(got.size(), 1u);  // one responder, within the merge window
  EXPECT_EQ(got[0].alert_class, "PROBE");
  EXPECT_EQ(got[0].seenby.size(), 2u);
  EXPECT_EQ(got[0].count, 6u);
  t.feed1(t.a, kT0, bss_frame(kAp, o, true, kSta));
  EXPECT_EQ(t.total(), 1u);
}

TEST(detectors, an_empty_ssid_probe_response_is_nullproberesp_except_from_mesh) {
  bench t;
  bss_opts o;
  o.ssid = "";
  o.mesh = true;
  t.feed1(t.a, kT0, bss_frame(kAp, o, true, kSta));
  EXPECT_EQ(t.total(), 0u);
  o.mesh = false;
  t.feed1(t.a, kT0, bss_frame(kEvil, o, true, kSta));
  t.feed1(t.b, kT0, bss_frame(kEvil, o, true, kSta));
  const auto got = t.named("NULLPROBERESP");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seenby.size(), 2u);
}

TEST(detectors, an_ssid_over_32_bytes_is_longssid_not_malformmgmt) {
  bench t;
  bss_opts o;
  o.ssid = std::string(33, 'x');
  t.feed1(t.a, kT0, bss_frame(kEvil, o));
  const auto got = t.named("LONGSSID");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].severity, 20);
  EXPECT_EQ(t.named("MALFORMMGMT").size(), 0u);
  o.ssid = std::string(32, 'x');
  t.feed1(t.a, kT0, bss_frame(kAp, o));
  EXPECT_EQ(t.total(), 1u);
}

TEST(detectors, an_element_running_past_the_end_is_malformmgmt) {
  bench t;
  bss_opts o;
  o.extra = {221, 40, 0x00, 0x50, 0xf2};  // claims 40 bytes, has 3
  t.feed1(t.a, kT0, bss_frame(kEvil, o));
  t.feed1(t.b, kT0, bss_frame(kEvil, o));
  const auto got = t.named("MALFORMMGMT");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seenby.size(), 2u);
  bss_opts fine;
  t.feed1(t.a, kT0, bss_frame(kAp, fine));
  t.feed1(t.a, kT0, probe_req(kSta, "x"));
  EXPECT_EQ(t.total(), 1u);
}

TEST(detectors, a_client_joining_rsn_without_mfp_is_noclientmfp) {
  bench t;
  t.feed1(t.a, kT0, assoc_req(kSta, kAp, "CorpNet", true, true));    // MFP capable
  t.feed1(t.a, kT0, assoc_req(kSta, kAp, "Open", false, false));     // open network: no RSN
  t.feed1(t.a, kT0, assoc_req(kSta, kAp, "CorpNet", true, false, true));  // reassociation
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0 + kS, assoc_req(kSta + 1, kAp, "CorpNet", true, false), -30);
  t.feed1(t.b, kT0 + kS, assoc_req(kSta + 1, kAp, "CorpNet", true, false), -70);
  const auto got = t.named("NOCLIENTMFP");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].transmitter.v, kAp);
  EXPECT_EQ(got[0].source.v, kSta + 1);
  EXPECT_EQ(got[0].severity, 5);
  EXPECT_EQ(got[0].seenby.size(), 2u);
}

TEST(detectors, a_replayed_message_1_is_noncereuse_when_enabled) {
  bench off;
  off.feed1(off.a, kT0, eapol_key(kAp, kSta, true, kM1, 1, 0x42, 0));
  off.feed1(off.a, kT0 + 2 * kS, eapol_key(kAp, kSta, true, kM1, 1, 0x42, 0));
  EXPECT_EQ(off.total(), 0u);  // off by default, as in Kismet

  bench t(enable_all());
  // A normal handshake, then the AP's retry of message 1 with a new counter:
  // no reuse. The same message heard by both sensors: no reuse either.
  std::vector<std::pair<std::uint64_t, bytes>> hs = {
      {kT0, eapol_key(kAp, kSta, true, kM1, 1, 0x42, 0)},
      {kT0 + 10'000'000, eapol_key(kAp, kSta, false, kM2, 1, 0x17, 22)},
      {kT0 + 20'000'000, eapol_key(kAp, kSta, true, kM3, 2, 0x42, 56)},
      {kT0 + 30'000'000, eapol_key(kAp, kSta, false, kM4, 2, 0, 0)},
      {kT0 + kS, eapol_key(kAp, kSta, true, kM1, 3, 0x42, 0)},
      {kT0 + kS + 1000, eapol_key(kAp, kSta, true, kM1, 3, 0x42, 0, true)},  // link-layer retry
  };
  t.feed(t.a, hs);
  t.feed(t.b, hs);
  EXPECT_EQ(t.total(), 0u);
  // Message 1 again, same ANonce, old replay counter: a replay.
  t.feed1(t.a, kT0 + 5 * kS, eapol_key(kAp, kSta, true, kM1, 1, 0x42, 0), -40);
  t.feed1(t.b, kT0 + 5 * kS, eapol_key(kAp, kSta, true, kM1, 1, 0x42, 0), -60);
  const auto got = t.named("NONCEREUSE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].transmitter.v, kAp);
  EXPECT_EQ(got[0].other.v, kSta);
  EXPECT_NE(got[0].text.find("4242424242"), std::string::npos);
  EXPECT_EQ(got[0].seenby.size(), 2u);
  // Message 3 with the same nonce and counter more than a second later.
  t.advance(20);
  t.feed1(t.a, kT0 + 9 * kS, eapol_key(kAp, kSta, true, kM3, 2, 0x42, 56));
  EXPECT_EQ(t.named("NONCEREUSE").size(), 2u);
}

TEST(detectors, an_all_zero_nonce_in_messages_1_to_3_is_noncedegrade) {
  bench t(enable_all());
  t.feed1(t.a, kT0, eapol_key(kAp, kSta, false, kM4, 2, 0, 0));       // message 4: zero is normal
  t.feed1(t.a, kT0, eapol_key(kAp, kSta, false, 0x0302, 2, 0, 0));    // group key message 2
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0 + kS, eapol_key(kAp, kSta, true, kM1, 7, 0, 0));
  t.feed1(t.b, kT0 + kS, eapol_key(kAp, kSta, true, kM1, 7, 0, 0));
  const auto got = t.named("NONCEDEGRADE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seenby.size(), 2u);
}

TEST(detectors, more_than_five_wps_m3_from_one_ap_is_wpsbrute) {
  bench t;
  std::vector<std::pair<std::uint64_t, bytes>> m;
  for (int i = 0; i < 5; ++i) m.push_back({kT0 + i * 10 * kS, eap_wsc(kAp, kSta, 0x07)});
  m.push_back({kT0 + 60 * kS, eap_wsc(kAp, kSta, 0x05)});  // M1 is not counted
  t.feed(t.a, m);
  t.feed(t.b, m);
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0 + 70 * kS, eap_wsc(kAp, kSta, 0x07), -40);
  t.feed1(t.b, kT0 + 70 * kS, eap_wsc(kAp, kSta, 0x07), -60);
  const auto got = t.named("WPSBRUTE");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].transmitter.v, kAp);
  EXPECT_EQ(got[0].severity, 20);
  EXPECT_EQ(got[0].seenby.size(), 2u);
  // Spread beyond 300 s between guesses: no brute force.
  bench slow;
  for (int i = 0; i < 10; ++i) slow.feed1(slow.a, kT0 + i * 400 * kS, eap_wsc(kAp, kSta, 0x07));
  EXPECT_EQ(slow.total(), 0u);
}

TEST(detectors, a_signal_above_the_limit_is_overpowered_when_enabled) {
  bench off;
  off.feed1(off.a, kT0, bss_frame(kAp, {}), -5);
  EXPECT_EQ(off.total(), 0u);
  bench t(enable_all());
  t.feed1(t.a, kT0, bss_frame(kAp, {}), -30);
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0, bss_frame(kAp, {}), -5);
  const auto got = t.named("OVERPOWERED");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("-5 dBm"), std::string::npos);
}

TEST(detectors, canary_ssids_advertised_or_probed_for) {
  alerts_config c;
  c.canaries.push_back({"honeypot", "FreeAirportWiFi", false});
  c.canaries.push_back({"lab", "Lab-*", true});
  bench t(c);
  t.feed1(t.a, kT0, probe_req(kSta, "HomeNet"));
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0, probe_req(kSta, "FreeAirportWiFi"));
  t.feed1(t.b, kT0, probe_req(kSta, "FreeAirportWiFi"));
  auto got = t.named("SSIDCANARY");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].text.find("probing for canary SSID 'honeypot'"), std::string::npos);
  EXPECT_EQ(got[0].seenby.size(), 2u);
  bss_opts o;
  o.ssid = "Lab-5G";
  t.advance(2);  // SSIDCANARY's burst: 1/sec
  t.feed1(t.a, kT0, bss_frame(kAp, o));
  got = t.named("SSIDCANARY");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[1].text.find("advertising canary SSID 'lab'"), std::string::npos);
}

TEST(detectors, watched_devices_are_found_once_and_lost_after_the_timeout) {
  alerts_config c;
  std::string why;
  c.watch.push_back({*try_parse_mac_mask("66:77:88:00:00:00/FF:FF:FF:00:00:00", why), kWatchBoth});
  c.lost_timeout_ns = 5 * kS;
  bench t(c);
  t.feed1(t.a, kT0, probe_req(0x112233445566, "x"));
  EXPECT_EQ(t.total(), 0u);
  t.feed1(t.a, kT0, probe_req(kSta, "x"), -50);
  t.feed1(t.b, kT0, probe_req(kSta, "x"), -70);
  t.feed1(t.a, kT0 + 10 * kS, probe_req(kSta, "y"));  // within the found timeout: same sighting
  auto got = t.named("DEVICEFOUND");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source.v, kSta);
  EXPECT_EQ(got[0].alert_class, "SYSTEM");
  EXPECT_EQ(got[0].seenby.size(), 2u);
  EXPECT_NE(got[0].text.find("66:77:88:99:AA:BB"), std::string::npos);
  t.engine->tick();
  EXPECT_EQ(t.named("DEVICELOST").size(), 0u);
  t.advance(6);
  t.engine->tick();
  got = t.named("DEVICELOST");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source.v, kSta);
  t.advance(60);
  t.engine->tick();
  EXPECT_EQ(t.named("DEVICELOST").size(), 1u);  // once
  // Seen again after more than the found timeout: found again.
  t.feed1(t.a, kT0 + 200 * kS, probe_req(kSta, "x"));
  EXPECT_EQ(t.named("DEVICEFOUND").size(), 2u);
  // REST-added entries work the same way.
  ASSERT_TRUE(t.engine->watch().add(*try_parse_mac_mask("12:34:56:78:9A:BC", why), kWatchFound).ok);
  t.advance(2);
  t.feed1(t.a, kT0 + 300 * kS, probe_req(0x123456789abc, "x"));
  EXPECT_EQ(t.named("DEVICEFOUND").size(), 3u);
}

TEST(detectors, sources_that_fail_or_go_quiet) {
  alerts_config c;
  c.sensor_silence_ns = 30 * kS;
  bench t(c);
  t.engine->source_up(t.a.index);
  t.engine->source_down(t.a.index, true, "closed by the sensor");
  EXPECT_EQ(t.total(), 0u);
  t.engine->source_up(t.a.index);
  t.engine->source_down(t.a.index, false, "no ping for 15 s");
  auto lost = t.named("SENSORLOST");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_NE(lost[0].text.find("roof"), std::string::npos);
  EXPECT_NE(lost[0].text.find("no ping"), std::string::npos);
  ASSERT_EQ(lost[0].seenby.size(), 1u);
  EXPECT_EQ(lost[0].seenby[0].uuid, t.a.uuid);
  t.engine->source_error(t.b.index, "pcap: device went away");
  const auto err = t.named("SOURCEERROR");
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0].severity, 20);
  EXPECT_EQ(err[0].phy, kPhyAny);
  // Connected but silent.
  t.advance(60);
  t.feed1(t.b, kT0, probe_req(kSta, "x"));
  t.advance(31);
  t.engine->tick();
  lost = t.named("SENSORLOST");
  ASSERT_EQ(lost.size(), 2u);
  EXPECT_NE(lost[1].text.find("lobby"), std::string::npos);
  t.advance(31);
  t.engine->tick();
  EXPECT_EQ(t.named("SENSORLOST").size(), 2u);  // once per silence
}

// ---------------------------------------------------------------------------
// The engine's API.

TEST(engine, scripts_define_and_raise_their_own_alerts) {
  bench t;
  alert_engine::define_request d;
  d.name = "doorbell";
  d.description = "someone rang";
  d.alert_class = "other";
  d.severity = 5;
  d.throttle = "2/min";
  d.burst = "1/sec";
  ASSERT_TRUE(t.engine->define(d).ok());
  EXPECT_EQ(t.engine->define(d).status, alert_engine::define_status::exists);
  auto bad = d;
  bad.name = "other";
  bad.severity = 7;
  EXPECT_EQ(t.engine->define(bad).status, alert_engine::define_status::invalid);
  bad.severity = 5;
  bad.burst = "1/day";
  EXPECT_EQ(t.engine->define(bad).status, alert_engine::define_status::invalid);
  bad.burst = "1/sec";
  bad.phyname = "Bluetooth";
  EXPECT_EQ(t.engine->define(bad).status, alert_engine::define_status::invalid);
  d.name = "DEAUTHFLOOD";
  EXPECT_EQ(t.engine->define(d).status, alert_engine::define_status::exists);

  alert_engine::raise_request r;
  r.name = "DOORBELL";
  r.text = "ding";
  r.transmitter = mac_addr{kAp};
  r.channel = "11";
  const auto first = t.engine->raise(r);
  ASSERT_TRUE(first.ok()) << first.reason;
  EXPECT_EQ(t.engine->raise(r).status, alert_engine::raise_status::throttled);  // 1/sec
  t.advance(2);
  EXPECT_TRUE(t.engine->raise(r).ok());
  t.advance(2);
  EXPECT_EQ(t.engine->raise(r).status, alert_engine::raise_status::throttled);  // 2/min
  r.name = "NOSUCH";
  EXPECT_EQ(t.engine->raise(r).status, alert_engine::raise_status::unknown);
  const auto x = t.engine->by_id(first.id);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->header, "DOORBELL");
  EXPECT_EQ(x->alert_class, "OTHER");
  EXPECT_EQ(x->channel, "11");
  EXPECT_EQ(x->text, "ding");
  EXPECT_EQ(x->transmitter.v, kAp);
  const auto defs = t.engine->definitions();
  ASSERT_EQ(defs.size(), kBuiltinAlerts + 1);
  EXPECT_EQ(defs.back().header, "DOORBELL");
  EXPECT_EQ(defs.back().total_sent, 2u);
  EXPECT_FALSE(defs.back().builtin);
}

TEST(engine, acknowledgement_queries_since_and_by_hash) {
  bench t;
  t.engine->raise_one_shot("LOADED", "SYSTEM", 20, "first");
  const double mid = (t.clock.load() + 500'000'000ull) / 1e9;
  t.advance(1);
  const auto second = t.engine->raise_one_shot("LOADED", "SYSTEM", 20, "second");
  const auto all = t.engine->all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_LT(all[0].id, all[1].id);
  const auto since = t.engine->since(mid);
  ASSERT_EQ(since.size(), 1u);
  EXPECT_EQ(since[0].text, "second");
  EXPECT_EQ(t.engine->since(all[1].timestamp()).size(), 0u);  // strictly after
  ASSERT_TRUE(t.engine->acknowledge(second, "alice"));
  const auto acked = t.engine->by_id(second);
  EXPECT_TRUE(acked->acknowledged);
  EXPECT_EQ(acked->acknowledged_by, "alice");
  EXPECT_FALSE(t.engine->acknowledge(999, "alice"));
  EXPECT_EQ(t.engine->by_hash(all[0].hash)->id, all[0].id);
}

TEST(engine, a_reload_changes_limits_and_keeps_history_and_counters) {
  bench t;
  bss_opts o;
  o.ssid = "Cafe";
  t.feed1(t.a, kT0, bss_frame(kAp, o));
  o.channel = 11;
  t.feed1(t.a, kT0 + kS, bss_frame(kAp, o));
  ASSERT_EQ(t.named("CHANCHANGE").size(), 1u);
  alerts_config c;
  c.definitions["CHANCHANGE"].enabled = false;
  c.definitions["BEACONRATE"].severity = 20;
  t.engine->configure(c);
  EXPECT_EQ(t.named("CHANCHANGE").size(), 1u);  // history kept
  t.advance(30);
  o.channel = 1;
  t.feed1(t.a, kT0 + 2 * kS, bss_frame(kAp, o));
  EXPECT_EQ(t.named("CHANCHANGE").size(), 1u);  // disabled
  o.interval = 300;
  t.feed1(t.a, kT0 + 3 * kS, bss_frame(kAp, o));
  const auto br = t.named("BEACONRATE");
  ASSERT_EQ(br.size(), 1u);
  EXPECT_EQ(br[0].severity, 20);
  for (const auto& d : t.engine->definitions())
    if (d.header == "CHANCHANGE") {
      EXPECT_FALSE(d.enabled);
      EXPECT_EQ(d.total_sent, 1u);
    }
}

TEST(engine, merge_window_zero_raises_each_detection_as_kismet_does) {
  alerts_config c;
  c.merge_window_ns = 0;
  bench t(c);
  t.feed1(t.a, kT0, disconnect(kAp, 0xffffffffffff, kAp, 3));
  t.feed1(t.b, kT0, disconnect(kAp, 0xffffffffffff, kAp, 3));  // same second: burst 2/sec
  t.feed1(t.b, kT0, disconnect(kAp, 0xffffffffffff, kAp, 3));  // third: throttled
  EXPECT_EQ(t.named("BCASTDISCON").size(), 2u);
  EXPECT_EQ(t.engine->stats().throttled, 1u);
}

namespace {
struct memory_alerts : alert_backend {
  std::map<std::uint64_t, std::string> rows;
  bool fail = false;
  int puts = 0;
  bool put(const std::vector<std::pair<std::uint64_t, std::string>>& records) override {
    if (fail) return false;
    ++puts;
    for (const auto& [id, r] : records) rows[id] = r;
    return true;
  }
  bool erase_through(std::uint64_t id) override {
    if (fail) return false;
    rows.erase(rows.begin(), rows.upper_bound(id));
    return true;
  }
  void load(const std::function<void(std::uint64_t, std::string_view)>& fn) override {
    for (const auto& [id, r] : rows) fn(id, r);
  }
};
}  // namespace

TEST(engine, alerts_survive_a_restart_with_their_ids_and_retention_applies) {
  memory_alerts db;
  memory_watch wdb;
  alerts_config c;
  c.retention_count = 3;
  std::uint64_t last = 0;
  {
    bench t(c);
    EXPECT_TRUE(t.engine->attach(&db, &wdb).empty());
    for (int i = 0; i < 5; ++i) {
      t.advance(1);
      std::string text(1, 'n');
      text += std::to_string(i);
      last = t.engine->raise_one_shot("STARTUP", "SYSTEM", 20, text);
    }
    t.engine->acknowledge(last, "bob");
    db.fail = true;
    t.engine->flush();
    EXPECT_TRUE(db.rows.empty());
    db.fail = false;
    t.engine->flush();  // what failed is written at the next flush
    EXPECT_EQ(db.rows.size(), 3u);
    std::string why;
    ASSERT_TRUE(t.engine->watch().add(*try_parse_mac_mask("AA:BB:CC:DD:EE:FF", why), kWatchBoth).ok);
  }
  db.rows[99] = "garbage";
  bench again(c);
  const auto problems = again.engine->attach(&db, &wdb);
  EXPECT_EQ(problems.size(), 1u);
  const auto all = again.engine->all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.back().id, last);
  EXPECT_TRUE(all.back().acknowledged);
  EXPECT_EQ(all.back().acknowledged_by, "bob");
  const auto next = again.engine->raise_one_shot("STARTUP", "SYSTEM", 20, "after");
  EXPECT_GT(next, last);
  EXPECT_EQ(again.engine->watch().snapshot()->match(mac_addr{0xaabbccddeeff}), kWatchBoth);
  // Age: a day-old alert goes at the next tick.
  alerts_config aged = c;
  aged.retention_age_ns = 3600 * kS;
  again.engine->configure(aged);
  again.advance(7200);
  again.engine->tick();
  EXPECT_EQ(again.engine->all().size(), 0u);
  EXPECT_TRUE(db.rows.empty() || db.rows.begin()->first > next);
}

TEST(engine, concurrent_links_and_readers_keep_every_table_bounded) {
  alerts_config c;
  c.max_tracked_bssids = 1024;
  bench t(c);
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n)
    threads.emplace_back([&, n] {
      const auto& src = n % 2 ? t.a : t.b;
      bss_opts o;
      anomaly_counters an;
      for (int i = 0; i < 3000; ++i) {
        o.ssid = "net" + std::to_string(i % 50);
        const bytes f = bss_frame(0x020000000000ull + static_cast<std::uint64_t>(n) * 100000 + i, o);
        decoded_packet p;
        p.dlt = kDltIeee80211;
        p.ts_ns = kT0 + i * 1000;
        p.bytes = f;
        decode_packet(p, an);
        t.engine->on_packets(src, std::span<const decoded_packet>(&p, 1));
        if (i % 500 == 0) (void)t.engine->all();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.total(), 0u);
  EXPECT_GT(t.engine->stats().evicted_state, 0u);
}

// ---------------------------------------------------------------------------
// YAML.

namespace {
std::vector<std::string> parse_yaml(const std::string& text, alerts_config& out) {
  const auto path = std::filesystem::temp_directory_path() / "hopwire-alerts-test.yaml";
  {
    std::ofstream f(path);
    f << text;
  }
  std::vector<std::string> errors;
  YAML::Node root = YAML::LoadFile(path.string());
  if (root["alerts"]) parse_alerts_yaml(path, root["alerts"], out, errors);
  if (root["known_networks"]) parse_known_networks_yaml(path, root["known_networks"], out, errors);
  return errors;
}
}  // namespace

TEST(alerts_yaml, reads_every_key) {
  alerts_config c;
  const auto errors = parse_yaml(R"(
alerts:
  definitions:
    DEAUTHFLOOD: {rate: 5/min, burst: 2/sec}
    noncereuse: {enabled: true, rate: 10/min, burst: 1/sec, severity: critical}
    NOCLIENTMFP: off
    BCASTDISCON: 2/min,1/sec
  canaries: [{name: honeypot, ssid: FreeWiFi}, {ssid_match: "Lab-*"}]
  watch:
    - {mac: "AA:BB:CC:DD:EE:FF", type: found}
    - "00:13:37:00:00:00/FF:FF:FF:00:00:00"
  found_timeout: 2m
  lost_timeout: 90s
  sensor_silence: 5m
  merge_window: 5s
  overpowered_dbm: -15
  retention: {count: 500, age: 7d}
  outputs:
    syslog: [{target: local}, {target: "udp://127.0.0.1:5514", facility: daemon, min_severity: high}]
    webhooks:
      - {url: "https://hooks.example.com/x", secret: s3cret, timeout: 3s, attempts: 4, queue: 50, delay: 10s}
known_networks:
  - name: corporate
    ssid: CorpNet
    bssids: ["00:11:22:33:44:55"]
    ouis: ["00:11:22"]
    encryption: [wpa2, wpa3]
    channels: [1, 6, "36VHT80"]
)",
                                 c);
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(c.definitions.at("DEAUTHFLOOD").burst->count, 2u);
  EXPECT_EQ(*c.definitions.at("NONCEREUSE").severity, 20);
  EXPECT_FALSE(*c.definitions.at("NOCLIENTMFP").enabled);
  EXPECT_EQ(c.definitions.at("BCASTDISCON").rate->count, 2u);
  ASSERT_EQ(c.canaries.size(), 2u);
  EXPECT_TRUE(c.canaries[1].glob);
  ASSERT_EQ(c.watch.size(), 2u);
  EXPECT_EQ(c.watch[0].types, kWatchFound);
  EXPECT_EQ(c.watch[1].mac.bits, 24);
  EXPECT_EQ(c.found_timeout_ns, 120 * kS);
  EXPECT_EQ(c.merge_window_ns, 5 * kS);
  EXPECT_EQ(c.overpowered_dbm, -15);
  EXPECT_EQ(c.retention_count, 500u);
  ASSERT_EQ(c.syslog.size(), 2u);
  EXPECT_TRUE(c.syslog[1].udp);
  EXPECT_EQ(c.syslog[1].port, 5514);
  EXPECT_EQ(c.syslog[1].facility, 3);
  ASSERT_EQ(c.webhooks.size(), 1u);
  EXPECT_EQ(c.webhooks[0].attempts, 4u);
  EXPECT_EQ(c.webhooks[0].delay_ms, 10000u);
  ASSERT_EQ(c.known_networks.size(), 1u);
  EXPECT_EQ(c.known_networks[0].bssids.size(), 2u);
  EXPECT_EQ(c.known_networks[0].encryption, kNetWpa2 | kNetWpa3);
  EXPECT_EQ(c.known_networks[0].channels, (std::vector<std::uint16_t>{1, 6, 36}));
}

TEST(alerts_yaml, says_where_and_what_for_every_mistake) {
  alerts_config c;
  const auto errors = parse_yaml(R"(alerts:
  definitions:
    DEAUTHFLUD: {rate: 5/min}
    APSPOOF: {rate: 5/fortnight}
    CHANCHANGE: {rate: 1/min, burst: 1/hr}
  colour: blue
  watch: [{mac: "AA:BB:CC"}]
known_networks:
  - ssid: CorpNet
    encryption: wpa9
  - bssids: ["00:11:22:33:44:55"]
)",
                                 c);
  ASSERT_EQ(errors.size(), 6u);
  auto has = [&](const std::string& s) {
    for (const auto& e : errors)
      if (e.find(s) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(":3:5: definitions: unknown alert 'DEAUTHFLUD'"));
  EXPECT_TRUE(has(":4:21: rate: rate '5/fortnight': unknown unit"));
  EXPECT_TRUE(has(":5:17: CHANCHANGE: the burst's time unit"));
  EXPECT_TRUE(has(":6:3: alerts: unknown key 'colour'"));
  EXPECT_TRUE(has(":10:17: encryption: expected open, wep, wpa, wpa2, wpa3 or owe, got 'wpa9'"));
  EXPECT_TRUE(has(":11:5: known network: give ssid"));
  EXPECT_EQ(c.definitions.count("CHANCHANGE"), 0u);
  EXPECT_EQ(c.definitions.count("DEAUTHFLUD"), 0u);
  EXPECT_EQ(c.watch.size(), 1u);  // AA:BB:CC is an OUI: /24
}

TEST(alerts_yaml, off_turns_the_engine_off_and_nothing_else_is_a_switch) {
  alerts_config on, off, bad;
  EXPECT_TRUE(parse_yaml("alerts:\n  merge_window: 5s\n", on).empty());
  EXPECT_TRUE(on.engine);
  EXPECT_TRUE(parse_yaml("alerts: off\n", off).empty());
  EXPECT_FALSE(off.engine);
  const auto errors = parse_yaml("alerts: sometimes\n", bad);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("alerts: expected true or false, got 'sometimes'"), std::string::npos) << errors[0];
}

TEST(alerts_yaml, the_commented_example_in_the_deploy_file_parses) {
  std::ifstream f(std::string(HOPWIRE_TEST_DATA) + "/../../deploy/examples/collector.yaml");
  ASSERT_TRUE(f);
  std::string line, block;
  bool in = false;
  while (std::getline(f, line)) {
    if (line.find("# --- alerts example begins") != std::string::npos) {
      in = true;
      continue;
    }
    if (line.find("# --- alerts example ends") != std::string::npos) in = false;
    if (in) block += (line.rfind("# ", 0) == 0 ? line.substr(2) : line == "#" ? "" : line) + "\n";
  }
  ASSERT_FALSE(block.empty());
  // The example's secret file, here.
  const auto secret = std::filesystem::temp_directory_path() / "hopwire-webhook.secret";
  std::ofstream(secret) << "example-secret\n";
  const std::string wanted = "/etc/hopwire/webhook.secret";
  if (const auto at = block.find(wanted); at != std::string::npos) block.replace(at, wanted.size(), secret.string());
  alerts_config c;
  const auto errors = parse_yaml(block, c);
  EXPECT_TRUE(errors.empty()) << errors.front() << "\n" << block;
  EXPECT_FALSE(c.known_networks.empty());
}

// ---------------------------------------------------------------------------
// False alerts: every capture in tests/data, heard by two sensors, raises
// exactly the alerts tests/data/expected_alerts.json lists and justifies.
// (tests/integration/test_alerts.py checks the same list through the real
// sensor and collector.)

namespace {

// Every built-in alert on, with limits no replay reaches, so what is raised
// does not depend on timing: the configuration expected_alerts.json names.
alerts_config false_alert_config() {
  alerts_config c;
  for (const char* n : kBuiltinAlertNames) {
    auto& d = c.definitions[n];
    d.enabled = true;
    d.rate = alert_rate{1000, alert_time_unit::minute};
    d.burst = alert_rate{1000, alert_time_unit::second};
  }
  return c;
}

using alert_key = std::pair<std::string, std::string>;  // header, transmitter MAC

std::map<std::string, std::set<alert_key>> replay_captures() {
  bench t(false_alert_config());
  std::map<std::string, std::set<alert_key>> raised;
  std::vector<std::string> stems;
  for (const auto& e : std::filesystem::directory_iterator(HOPWIRE_TEST_DATA)) {
    const auto ext = e.path().extension();
    if (ext == ".pcap" || ext == ".cap" || ext == ".pcapng") stems.push_back(e.path().filename().string());
  }
  std::sort(stems.begin(), stems.end());
  for (const auto& file : stems) {
    ingest_source srcs[2];
    for (int i = 0; i < 2; ++i) {
      srcs[i].name = file + (i ? "-b" : "-a");
      srcs[i].uuid = "00000000-0000-4000-8000-" + std::to_string(100000000000ull + stems.size() * 2 + i);
      srcs[i].index = t.sources.index_of(srcs[i].uuid, srcs[i].name);
    }
    for (const auto& src : srcs) {
      sensor::capture_file cap;
      cap.open(std::string(HOPWIRE_TEST_DATA) + "/" + file);
      sensor::file_packet fp;
      std::vector<bytes> store;
      std::vector<decoded_packet> ps;
      anomaly_counters an;
      while (cap.next(fp) == sensor::capture_file::result::packet) {
        store.emplace_back(fp.data.begin(), fp.data.end());
        decoded_packet p;
        p.ts_ns = fp.ts_ns;
        p.dlt = fp.dlt;
        p.orig_len = fp.orig_len;
        ps.push_back(p);
      }
      for (std::size_t i = 0; i < ps.size(); ++i) {
        ps[i].bytes = store[i];
        decode_packet(ps[i], an);
      }
      for (std::size_t i = 0; i < ps.size(); i += 128)
        t.engine->on_packets(src, std::span<const decoded_packet>(ps.data() + i, std::min<std::size_t>(128, ps.size() - i)));
    }
    t.advance(1);
  }
  for (const auto& a : t.engine->all()) {
    std::set<std::string> files;
    for (const auto& s : a.seenby) files.insert(s.name.substr(0, s.name.size() - 2));
    for (const auto& f : files) {
      raised[f].insert({a.header, mac_text(a.transmitter)});
      if (std::getenv("HOPWIRE_PRINT_ALERTS"))
        std::printf("%s\t%s\t%s\t%s\n", f.c_str(), a.header.c_str(), mac_text(a.transmitter).c_str(), a.text.c_str());
    }
  }
  return raised;
}

}  // namespace

TEST(false_alerts, every_capture_raises_only_the_justified_alerts) {
  std::ifstream in(std::string(HOPWIRE_TEST_DATA) + "/expected_alerts.json");
  ASSERT_TRUE(in) << "tests/data/expected_alerts.json is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  rapidjson::Document d;
  d.Parse(ss.str().c_str());
  ASSERT_FALSE(d.HasParseError());
  std::map<std::string, std::set<alert_key>> expected;
  for (const auto& cap : d["captures"].GetObject()) {
    auto& set = expected[cap.name.GetString()];
    for (const auto& e : cap.value.GetArray()) {
      ASSERT_TRUE(e.HasMember("why") && e["why"].GetStringLength() > 20) << cap.name.GetString() << ": justify it";
      set.insert({e["header"].GetString(), e["transmitter"].GetString()});
    }
  }
  const auto raised = replay_captures();
  for (const auto& [file, got] : raised) {
    const auto want = expected.count(file) ? expected.at(file) : std::set<alert_key>{};
    for (const auto& k : got) EXPECT_TRUE(want.count(k)) << file << ": unexpected " << k.first << " " << k.second;
  }
  for (const auto& [file, want] : expected) {
    const auto got = raised.count(file) ? raised.at(file) : std::set<alert_key>{};
    for (const auto& k : want) EXPECT_TRUE(got.count(k)) << file << ": expected " << k.first << " " << k.second;
  }
}

// ---------------------------------------------------------------------------
// Outputs.

TEST(outputs, syslog_messages_are_rfc5424) {
  alert a = sample_alert();
  a.text = "text with \"quotes\"";
  a.channel = "6]";
  const auto m = rfc5424_message(a, 16, "hopwire", "sensor host", 4242);
  // <16*8+3>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG
  EXPECT_EQ(m.rfind("<131>1 2024-06-20T16:13:20.123456Z sensorhost hopwire 4242 APSPOOF [hopwire@32473 id=\"42\" ", 0), 0u)
      << m;
  EXPECT_NE(m.find("channel=\"6\\]\""), std::string::npos) << m;
  EXPECT_NE(m.find("sensors=\"roof,lobby\"] APSPOOF text with \"quotes\""), std::string::npos) << m;
  EXPECT_EQ(syslog_severity(20), 2);
  EXPECT_EQ(syslog_severity(0), 6);
}

TEST(outputs, hmac_sha256_matches_rfc_4231) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(outputs, webhook_urls) {
  std::string why;
  auto u = parse_http_url("https://hooks.example.com/a/b?c=1", why);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/a/b?c=1");
  u = parse_http_url("http://127.0.0.1:8080", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(parse_http_url("http://[::1]:81/x", why)->host, "::1");
  EXPECT_FALSE(parse_http_url("ftp://x", why));
  EXPECT_FALSE(parse_http_url("http://user:pw@x/", why));
  EXPECT_FALSE(parse_http_url("http://x:99999/", why));
}

namespace {

// A tiny HTTP server on 127.0.0.1: answers each request with the next
// status of `statuses` (the last one repeats) and keeps what it got.
struct http_stub {
  int fd = -1;
  std::uint16_t port = 0;
  std::vector<unsigned> statuses;
  std::mutex mu;
  std::vector<std::string> requests;
  std::thread th;
  std::atomic<bool> stop{false};

  explicit http_stub(std::vector<unsigned> s) : statuses(std::move(s)) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
    ::listen(fd, 16);
    th = std::thread([this] { serve(); });
  }
  ~http_stub() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    th.join();
  }
  void serve() {
    while (!stop) {
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      std::size_t want = std::string::npos;
      while (true) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
        const auto end = req.find("\r\n\r\n");
        if (end != std::string::npos && want == std::string::npos) {
          const auto cl = req.find("Content-Length: ");
          want = end + 4 + (cl != std::string::npos ? std::stoul(req.substr(cl + 16)) : 0);
        }
        if (want != std::string::npos && req.size() >= want) break;
      }
      unsigned status;
      {
        std::lock_guard lock(mu);
        requests.push_back(req);
        status = statuses[std::min(requests.size(), statuses.size()) - 1];
      }
      const std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)::write(c, resp.data(), resp.size());
      ::close(c);
    }
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return requests.size();
  }
};

template <typename Fn>
bool eventually(Fn&& fn, double seconds = 10) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < until) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

}  // namespace

TEST(outputs, a_webhook_posts_signed_json_and_retries_a_500) {
  http_stub server({500, 500, 200});
  alerts_config c;
  webhook_output_config w;
  w.url = "http://127.0.0.1:" + std::to_string(server.port) + "/hook";
  w.secret = "s3cret";
  w.backoff_ms = 50;
  c.webhooks.push_back(w);
  alert_outputs out(c, nullptr);
  ASSERT_TRUE(out.problems().empty());
  out.start();
  const alert a = sample_alert();
  out.on_alert(a);
  ASSERT_TRUE(eventually([&] { return server.count() == 3; }));
  ASSERT_TRUE(eventually([&] { return out.stats()[0].sent == 1; }));
  const auto st = out.stats()[0];
  EXPECT_EQ(st.retried, 2u);
  EXPECT_EQ(st.failed, 0u);
  std::string req;
  {
    std::lock_guard lock(server.mu);
    req = server.requests.back();
  }
  EXPECT_EQ(req.rfind("POST /hook HTTP/1.1\r\n", 0), 0u);
  const auto body = req.substr(req.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, alert_json(a));
  EXPECT_NE(req.find("X-Hopwire-Signature: sha256=" + hmac_sha256_hex("s3cret", body)), std::string::npos) << req;
  out.stop();
}

TEST(outputs, a_dead_receiver_never_blocks_alerting) {
  // A port nobody listens on.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&sa), &len);
  const auto port = ntohs(sa.sin_port);
  ::close(probe);
  alerts_config c;
  webhook_output_config w;
  w.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  w.attempts = 2;
  w.backoff_ms = 10;
  w.queue = 5;
  c.webhooks.push_back(w);
  alert_outputs out(c, nullptr);
  out.start();
  const auto t0 = std::chrono::steady_clock::now();
  alert a = sample_alert();
  for (int i = 0; i < 1000; ++i) {
    a.id = static_cast<std::uint64_t>(i + 1);
    out.on_alert(a);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  ASSERT_TRUE(eventually([&] {
    const auto s = out.stats()[0];
    return s.waiting == 0 && s.failed + s.dropped == 1000;
  }));
  EXPECT_GE(out.stats()[0].dropped, 990u);
  EXPECT_FALSE(out.stats()[0].last_error.empty());
  out.stop();
}

TEST(outputs, syslog_over_udp) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  alerts_config c;
  syslog_output_config s;
  s.udp = true;
  s.host = "127.0.0.1";
  s.port = ntohs(sa.sin_port);
  s.min_severity = 10;
  c.syslog.push_back(s);
  alert_outputs out(c, nullptr);
  out.start();
  alert low = sample_alert();
  low.severity = 5;
  out.on_alert(low);  // below min_severity
  out.on_alert(sample_alert());
  char buf[2048];
  const auto n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  const std::string msg(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(msg.rfind("<131>1 ", 0), 0u) << msg;
  EXPECT_NE(msg.find(" APSPOOF [hopwire@32473 id=\"42\""), std::string::npos) << msg;
  out.stop();
  ::close(fd);
  EXPECT_EQ(out.stats()[0].sent, 1u);
}

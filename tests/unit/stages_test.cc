// What the stages restructure made testable on its own: the decode stage
// (one decode, addresses for filters even of truncated frames), the
// tracker's events, 6 GHz channels from the frame, and admission without a
// socket.

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "collector/auth/auth.h"
#include "collector/auth/login_limiter.h"
#include "collector/core/events.h"
#include "collector/core/source_table.h"
#include "collector/decode/decoded_packet.h"
#include "collector/net/admission.h"
#include "collector/net/routes.h"
#include "collector/track/device_tracker.h"

using namespace hopwire;
using namespace hopwire::collector;

namespace {

using bytes = std::vector<std::uint8_t>;

bytes mac_bytes(std::uint64_t m) {
  bytes b;
  for (int i = 5; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(m >> (8 * i)));
  return b;
}

// A beacon from `bssid` with the given elements (no radio header: DLT 105).
bytes beacon(std::uint64_t bssid, const bytes& elements) {
  bytes f = {0x80, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  auto a = mac_bytes(bssid);
  f.insert(f.end(), a.begin(), a.end());
  f.insert(f.end(), a.begin(), a.end());
  f.push_back(0x10), f.push_back(0);
  f.resize(f.size() + 8, 0);             // timestamp
  f.push_back(100), f.push_back(0);      // interval
  f.push_back(0x01), f.push_back(0x00);  // ESS
  f.insert(f.end(), elements.begin(), elements.end());
  return f;
}

// A data frame station -> AP (to DS), optionally carrying EAPOL-Key message 2.
bytes data_to_ap(std::uint64_t sta, std::uint64_t ap, bool eapol2) {
  bytes f = {0x08, 0x01, 0, 0};
  for (auto m : {ap, sta, ap}) {
    auto b = mac_bytes(m);
    f.insert(f.end(), b.begin(), b.end());
  }
  f.push_back(0x20), f.push_back(0);
  if (eapol2) {
    f.insert(f.end(), {0xaa, 0xaa, 0x03, 0, 0, 0, 0x88, 0x8e});
    // EAPOL v2, type 3 (key); descriptor 2, key info pairwise + MIC, key length 16.
    f.insert(f.end(), {0x02, 0x03, 0x00, 0x75, 0x02, 0x01, 0x0a, 0x00, 0x10});
    f.resize(f.size() + 8, 0);   // replay counter
    f.resize(f.size() + 32, 7);  // the supplicant's nonce
    f.resize(f.size() + 16 + 8 + 8 + 16, 0);  // IV, RSC, id, MIC
    f.insert(f.end(), {0x00, 0x16});          // key data: the supplicant's RSN element
    f.resize(f.size() + 22, 0x30);
  } else {
    f.insert(f.end(), {0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45, 0});
  }
  return f;
}

decoded_packet decoded(const bytes& f, std::uint64_t ts, anomaly_counters& an) {
  decoded_packet p;
  p.dlt = kDltIeee80211;
  p.ts_ns = ts;
  p.bytes = f;
  decode_packet(p, an);
  return p;
}

struct recorder : event_listener {
  std::vector<tracker_event> events;
  std::vector<std::string> ssids;
  void on_event(const tracker_event& e) override {
    events.push_back(e);
    ssids.emplace_back(e.ssid);
  }
  std::size_t count(event_kind k) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == k;
    return n;
  }
};

}  // namespace

TEST(decode_stage, a_truncated_frame_keeps_the_addresses_it_holds_for_filters) {
  anomaly_counters an;
  auto f = beacon(0x001122334455, {});
  f.resize(18);  // frame control, duration, a1, a2, a third of a3
  const auto p = decoded(f, 1, an);
  EXPECT_TRUE(p.error());
  ASSERT_EQ(p.addresses.count, 2);  // a1 and a2; a3 is cut off
  EXPECT_EQ(p.addresses.addr[0].v, 0xffffffffffffull);
}

TEST(decode_stage, a_6ghz_beacon_is_placed_on_its_6ghz_channel) {
  // HE operation with 6 GHz operation information: params bit 17, primary 37.
  const bytes he_op = {255, 12, 36, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 37, 0x00, 39, 0, 6};
  bytes elements = {0, 4, 's', 'i', 'x', 'g'};
  elements.insert(elements.end(), he_op.begin(), he_op.end());
  anomaly_counters an;
  const auto f = beacon(0x001122334466, elements);
  const auto p = decoded(f, 1'000'000'000, an);
  ASSERT_FALSE(p.error());
  EXPECT_EQ(p.dot11.ie.he6_primary, 37);
  EXPECT_EQ(p.dot11.ie.ds_channel, 0);

  oui_table ouis;
  source_table sources;
  device_tracker t({}, ouis, sources);
  t.track(sources.index_of("u", "n"), p, 1'000'000'000);
  bool seen = false;
  t.visit(mac_addr{0x001122334466}, [&](const device& d) {
    seen = true;
    EXPECT_EQ(d.channel, 37);
    EXPECT_EQ(d.freq_mhz, 6135u);  // not 5185, where 5 GHz numbering would put 37
  });
  EXPECT_TRUE(seen);
}

TEST(tracker_events, each_kind_is_raised_once_per_first_sighting) {
  oui_table ouis;
  source_table sources;
  event_hub hub;
  recorder rec;
  hub.subscribe(&rec, event_bit(event_kind::new_device) | event_bit(event_kind::advertised_ssid) |
                          event_bit(event_kind::new_client) | event_bit(event_kind::handshake));
  device_tracker t({}, ouis, sources, &hub);
  const auto src = sources.index_of("u", "n");
  anomaly_counters an;
  const std::uint64_t ap = 0x00aabbccdd01, sta = 0x00aabbccdd02;
  const auto b = beacon(ap, {0, 3, 'n', 'e', 't'});
  for (int i = 0; i < 3; ++i) t.track(src, decoded(b, 1'000'000'000ull * (i + 1), an), 1'000'000'000ull * (i + 1));
  const auto d = data_to_ap(sta, ap, false);
  t.track(src, decoded(d, 5'000'000'000ull, an), 5'000'000'000ull);
  const auto e = data_to_ap(sta, ap, true);
  t.track(src, decoded(e, 6'000'000'000ull, an), 6'000'000'000ull);

  EXPECT_EQ(rec.count(event_kind::new_device), 2u);
  EXPECT_EQ(rec.count(event_kind::advertised_ssid), 1u);
  EXPECT_EQ(rec.count(event_kind::new_client), 1u);
  EXPECT_EQ(rec.count(event_kind::handshake), 1u);
  for (std::size_t i = 0; i < rec.events.size(); ++i) {
    const auto& ev = rec.events[i];
    if (ev.kind == event_kind::advertised_ssid) {
      EXPECT_EQ(ev.device.v, ap);
      EXPECT_EQ(rec.ssids[i], "net");
    }
    if (ev.kind == event_kind::handshake) {
      EXPECT_EQ(ev.device.v, ap);
      EXPECT_EQ(ev.peer.v, sta);
      EXPECT_EQ(ev.eapol_message, 2);
    }
  }
}

TEST(tracker_events, a_kind_nobody_wants_is_never_built) {
  event_hub hub;
  recorder rec;
  hub.subscribe(&rec, event_bit(event_kind::handshake));
  EXPECT_FALSE(hub.wants(event_kind::new_device));
  EXPECT_TRUE(hub.wants(event_kind::handshake));
  oui_table ouis;
  source_table sources;
  device_tracker t({}, ouis, sources, &hub);
  anomaly_counters an;
  const auto b = beacon(0x00aabbccdd09, {0, 1, 'x'});
  t.track(0, decoded(b, 1, an), 1);
  EXPECT_TRUE(rec.events.empty());
}

namespace {

struct admission_fixture : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<credential_store> auth;
  login_limiter limiter;
  route_table routes;
  std::string token;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("hopwire-admission-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auth = std::make_unique<credential_store>(dir);
    auth->ensure_admin("correct horse battery staple");
    token = auth->create_token("ro", role::readonly, std::chrono::seconds(0));
    route r;
    r.method = "GET";
    r.pattern = "/devices/by-key/{key}/device.json";
    r.roles = mask(role::readonly);
    routes.add(r);
    route w;
    w.method = "POST";
    w.pattern = "/admin/reload.cmd";
    w.roles = 0;
    w.body_limit = 1024;
    routes.add(w);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  admission run(std::string_view method, std::string_view target, std::string_view authorization = {},
                std::optional<std::uint64_t> length = std::nullopt) {
    request_head h;
    h.method = method;
    h.target = target;
    h.authorization = authorization;
    h.content_length = length;
    h.remote_ip = "127.0.0.1";
    return admit(h, admission_env{routes, *auth, limiter, "/hopwire", false});
  }
};

}  // namespace

TEST_F(admission_fixture, a_good_token_reaches_its_route_with_params_and_the_prefix_stripped) {
  const auto a = run("GET", "/hopwire/devices/by-key/K1/device.json?x=1", "Bearer " + token);
  ASSERT_EQ(a.what, admission::verdict::read_body) << a.reply.body;
  EXPECT_EQ(a.path, "/devices/by-key/K1/device.json");
  ASSERT_EQ(a.params.size(), 1u);
  EXPECT_EQ(a.params[0], "K1");
  EXPECT_EQ(a.auth.granted, role::readonly);
}

TEST_F(admission_fixture, every_refusal_says_why) {
  EXPECT_EQ(run("GET", "/devices/by-key/K1/device.json").reply.status, 401u);
  EXPECT_EQ(run("GET", "/devices/by-key/K1/device.json", "Bearer nope").reply.status, 401u);
  EXPECT_TRUE(run("GET", "/devices/by-key/K1/device.json", "Bearer nope").auth_failed);
  EXPECT_EQ(run("GET", "/devices/by-key/K1/device.json?token=abc").reply.status, 400u);
  EXPECT_EQ(run("GET", "/nowhere", "Bearer " + token).reply.status, 404u);
  EXPECT_EQ(run("POST", "/devices/by-key/K1/device.json", "Bearer " + token).reply.status, 405u);
  const auto forbidden = run("POST", "/admin/reload.cmd", "Bearer " + token);
  EXPECT_EQ(forbidden.reply.status, 403u);
  EXPECT_NE(forbidden.reply.body.find("role 'readonly' may not use POST /admin/reload.cmd"), std::string::npos);
}

TEST_F(admission_fixture, a_password_login_gets_a_session_cookie_and_a_big_body_is_refused_unread) {
  const std::string basic = "Basic YWRtaW46Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==";  // admin:correct horse...
  const auto a = run("POST", "/admin/reload.cmd", basic, 10);
  ASSERT_EQ(a.what, admission::verdict::read_body) << a.reply.body;
  EXPECT_EQ(a.set_cookie.rfind("KISMET=", 0), 0u);
  const auto big = run("POST", "/admin/reload.cmd", basic, 4096);
  EXPECT_EQ(big.reply.status, 413u);
}

TEST_F(admission_fixture, repeated_failures_lock_the_address_out) {
  unsigned last = 0;
  for (int i = 0; i < 20; ++i) last = run("GET", "/devices/by-key/K1/device.json", "Bearer wrong").reply.status;
  EXPECT_EQ(last, 429u);
  const auto a = run("GET", "/devices/by-key/K1/device.json", "Bearer " + token);
  EXPECT_EQ(a.reply.status, 429u);
  bool has_retry = false;
  for (const auto& [k, v] : a.reply.headers) has_retry |= k == "Retry-After";
  EXPECT_TRUE(has_retry);
}

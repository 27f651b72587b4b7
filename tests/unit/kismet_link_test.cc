// The Kismet v3 session (collector/link/kismet_link.cc) driven through a
// fake message_io with real frames from Kismet's own tool
// (tests/data/kismet/) and frames built here, against a real source
// registry, pipeline (with a recording sink), message bus and planner.

#include "collector/link/kismet_link.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "collector/link/kismet_frame.h"

namespace hopwire::collector {
namespace {

using bytes = std::vector<std::uint8_t>;
namespace ks = kismet_session;

std::filesystem::path data_dir() { return std::filesystem::path(HOPWIRE_TEST_DATA) / "kismet"; }

bytes real(const char* name) {
  std::ifstream in(data_dir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- A little msgpack, written by hand so the tests do not lean on the
// codec's encoders. -------------------------------------------------------

bytes mp_uint(std::uint64_t v) {
  if (v < 128) return {static_cast<std::uint8_t>(v)};
  if (v < 65536) return {0xcd, std::uint8_t(v >> 8), std::uint8_t(v)};
  return {0xce, std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)};
}
bytes mp_str(std::string_view s) {
  bytes out;
  if (s.size() < 32) out.push_back(static_cast<std::uint8_t>(0xa0 | s.size()));
  else out = {0xd9, static_cast<std::uint8_t>(s.size())};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}
bytes mp_bin(const bytes& b) {
  bytes out = {0xc5, std::uint8_t(b.size() >> 8), std::uint8_t(b.size())};
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
bytes mp_f64(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, 8);
  bytes out = {0xcb};
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(u >> (8 * i)));
  return out;
}
bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
bytes mp_map(std::initializer_list<std::pair<std::uint64_t, bytes>> kv) {
  bytes out = {static_cast<std::uint8_t>(0x80 | kv.size())};
  for (const auto& [k, v] : kv) {
    auto key = mp_uint(k);
    out.insert(out.end(), key.begin(), key.end());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}
bytes mp_strings(const std::vector<std::string>& v) {
  bytes out = {static_cast<std::uint8_t>(0x90 | v.size())};
  for (const auto& s : v) {
    auto e = mp_str(s);
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

bytes frame(std::uint16_t type, std::uint16_t code, std::uint32_t seq, const bytes& payload) {
  bytes out(kismet::kHeaderBytes);
  kismet::write_header(std::span<std::uint8_t, kismet::kHeaderBytes>(out.data(), kismet::kHeaderBytes),
                       {static_cast<std::uint32_t>(payload.size()), type, code, seq});
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

bytes newsource(const std::string& def, const std::string& type, const std::string& uuid) {
  return frame(kismet::kTypeNewSource, 0, 2, mp_map({{1, mp_str(def)}, {2, mp_str(type)}, {3, mp_str(uuid)}}));
}

bytes openreport(std::uint32_t seq, const std::vector<std::string>& channels, std::uint16_t code = 1,
                 const std::string& msg = "") {
  return frame(kismet::kTypeOpenReport, code, seq,
               mp_map({{1, mp_uint(seq)}, {2, mp_uint(127)}, {4, mp_strings(channels)}, {7, mp_str("mac80211_hwsim")},
                       {9, mp_str(msg)}, {10, mp_str("2025.09.0-test")}}));
}

bytes configreport_channel(std::uint32_t seq, std::uint16_t code, const std::string& channel,
                           const std::string& msg = "") {
  return frame(kismet::kTypeConfigReport, code, seq, mp_map({{1, mp_uint(seq)}, {2, mp_str(channel)}, {4, mp_str(msg)}}));
}

// An 802.11 beacon (DLT 105).
bytes beacon(std::uint8_t last) {
  return {0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, last, 2, 0, 0, 0, 0, last, 0x10, 0,
          0,    0, 0, 0, 0,    0,    0,    0,    100,  0,    1, 0, 0, 2, 'h', 'w'};
}

bytes packet(std::uint32_t seq, const bytes& content, std::uint64_t ts_sec = 1700000000,
             std::optional<bytes> signal = std::nullopt, std::optional<bytes> gps = std::nullopt) {
  bytes pb = mp_map({{1, mp_uint(105)}, {2, mp_uint(ts_sec)}, {3, mp_uint(seq % 1000000)}, {4, mp_uint(content.size())},
                     {6, mp_bin(content)}});
  bytes m;
  const std::size_t n = 1 + (signal ? 1 : 0) + (gps ? 1 : 0);
  m.push_back(static_cast<std::uint8_t>(0x80 | n));
  if (gps) m = cat({m, mp_uint(1), *gps});
  if (signal) m = cat({m, mp_uint(2), *signal});
  m = cat({m, mp_uint(4), pb});
  return frame(kismet::kTypePacket, 0, seq, m);
}

// The real OPENREPORT answered a stand-in server's OPENREQ of seqno 1000;
// here it answers ours (the same bytes, the seqno in header and body set).
bytes real_openreport_for(std::uint32_t seq) {
  bytes b = real("openreport.bin");
  const bytes old = {0x01, 0xcd, 0x03, 0xe8};
  auto it = std::search(b.begin(), b.end(), old.begin(), old.end());
  EXPECT_NE(it, b.end());
  it[2] = static_cast<std::uint8_t>(seq >> 8);
  it[3] = static_cast<std::uint8_t>(seq);
  b[16] = static_cast<std::uint8_t>(seq >> 24), b[17] = static_cast<std::uint8_t>(seq >> 16);
  b[18] = static_cast<std::uint8_t>(seq >> 8), b[19] = static_cast<std::uint8_t>(seq);
  return b;
}

// ---- The fakes ---------------------------------------------------------------

struct fake_store : source_store {
  std::vector<stored_source> puts;
  bool put_source(const stored_source& s) override {
    puts.push_back(s);
    return true;
  }
};

struct seen_packet {
  bytes data;
  std::uint64_t ts_ns;
  std::uint32_t dlt, orig_len, freq_khz;
  bool has_signal, has_gps;
  std::int16_t signal;
  double lat, lon, alt;
};

struct recording_sink : packet_sink {
  std::vector<std::size_t> batches;
  std::size_t current = 0;
  std::vector<seen_packet> packets;
  void on_packets(const ingest_source&, std::span<const decoded_packet> ps) override {
    current += ps.size();
    for (const auto& p : ps)
      packets.push_back({bytes(p.bytes.begin(), p.bytes.end()), p.ts_ns, p.dlt, p.orig_len, p.sensor_freq_khz,
                         p.sensor_has_signal, p.has_gps, p.sensor_signal_dbm, p.lat, p.lon, p.alt});
  }
  void on_batch_end(const ingest_source&) override {
    batches.push_back(current);
    current = 0;
  }
};

struct source_events : event_listener {
  std::vector<tracker_event> events;
  void on_event(const tracker_event& e) override { events.push_back(e); }
};

// What the tool would receive: the frames the link sent, and what it posted.
struct tool_end {
  std::vector<bytes> sent;
  std::vector<std::function<void()>> posted;
  message_io io() {
    message_io m;
    m.send = [this](std::span<const std::uint8_t> msg, bool binary) {
      EXPECT_TRUE(binary);
      sent.emplace_back(msg.begin(), msg.end());
    };
    m.post = [this](std::function<void()> f) { posted.push_back(std::move(f)); };
    m.queued_bytes = [] { return std::size_t{0}; };
    return m;
  }
  void run_posted() {
    auto fs = std::move(posted);
    posted.clear();
    for (auto& f : fs) f();
  }
  // The frames sent since `from`, of one type.
  std::vector<kismet::frame> of_type(std::uint16_t type, std::size_t from = 0) const {
    std::vector<kismet::frame> out;
    for (std::size_t i = from; i < sent.size(); ++i) {
      kismet::frame f;
      EXPECT_EQ(kismet::parse_frame(sent[i], kismet::kKismetMaxPayload, f), kismet::header_status::ok);
      EXPECT_EQ(f.size(), sent[i].size());
      if (f.header.type == type) out.push_back(f);
    }
    return out;
  }
};

constexpr const char* kUuidA = "4E1D07C3-0000-0000-0000-0000B1EF122F";
constexpr const char* kUuidB = "5A1D07C3-0000-0000-0000-0000B1EF1230";

class kismet_link_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hopwire-kismet-link-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auth_ = std::make_unique<credential_store>(dir_);
    pipeline_.add_sink(&sink_);
    events_.subscribe(&recorder_, event_bit(event_kind::source_up) | event_bit(event_kind::source_down));
    env_ = std::make_unique<link_env>(link_env{*auth_, sources_, db_, planner_, pipeline_, stats_, messages_, &events_});
  }
  void TearDown() override {
    links_.clear();
    std::filesystem::remove_all(dir_);
  }

  // A new link; index into links_/tools_.
  std::size_t connect(transport_kind k = transport_kind::tcp, std::optional<role> r = std::nullopt) {
    connection_info who;
    who.transport = k;
    who.remote_ip = "192.0.2.7";
    who.upgrade_role = r;
    who.principal = r ? "kismet-token" : "";
    who.protocol = link_protocol::kismet_v3;
    tools_.push_back(std::make_unique<tool_end>());
    if (k == transport_kind::tcp) links_.push_back(kismet_link_factory(*env_)(who, tools_.back()->io()));
    else links_.push_back(make_kismet_link(*env_, who, tools_.back()->io()));
    return links_.size() - 1;
  }
  bool feed(std::size_t i, const bytes& f, bool binary = true) { return links_[i]->on_message(f, binary); }
  void end(std::size_t i) { links_[i].reset(); }
  tool_end& tool(std::size_t i) { return *tools_[i]; }

  // NEWSOURCE, then the OPENREPORT answering the OPENREQ it got.
  std::size_t open(const std::string& def, const std::string& type, const std::string& uuid,
                   const std::vector<std::string>& channels, transport_kind k = transport_kind::tcp) {
    const auto i = connect(k, k == transport_kind::websocket ? std::optional<role>(role::datasource) : std::nullopt);
    EXPECT_TRUE(feed(i, newsource(def, type, uuid)));
    const auto req = tool(i).of_type(kismet::kTypeOpenReq);
    EXPECT_EQ(req.size(), 1u);
    if (req.empty()) return i;
    EXPECT_TRUE(feed(i, openreport(req[0].header.seqno, channels)));
    return i;
  }

  bool any_message(std::string_view part, std::uint32_t flags = 0) const {
    for (const auto& m : messages_.all())
      if (m.text.find(part) != std::string::npos && (!flags || (m.flags & flags))) return true;
    return false;
  }

  std::vector<kismet::configreq> configreqs(std::size_t i, std::vector<std::uint32_t>* seqs = nullptr) {
    std::vector<kismet::configreq> out;
    for (const auto& f : tool(i).of_type(kismet::kTypeConfigReq)) {
      kismet::configreq c;
      EXPECT_TRUE(kismet::decode_configreq(f.payload, {}, c).ok());
      EXPECT_EQ(f.header.code, kismet::kCodeOk);
      out.push_back(c);
      if (seqs) seqs->push_back(f.header.seqno);
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<credential_store> auth_;
  source_table table_;
  source_registry sources_{table_};
  fake_store db_;
  channel_planner planner_;
  meta_gps gps_;
  ingest_pipeline pipeline_{gps_};
  collector_stats stats_;
  message_bus messages_;
  event_hub events_;
  source_events recorder_;
  recording_sink sink_;
  std::unique_ptr<link_env> env_;
  std::vector<std::unique_ptr<tool_end>> tools_;
  std::vector<std::unique_ptr<message_handler>> links_;
};

// ---- The session, in Kismet's order -------------------------------------------

TEST_F(kismet_link_test, the_session_runs_in_kismets_order_with_real_frames) {
  const auto i = connect();
  const bytes ns = real("newsource.bin");
  ASSERT_TRUE(feed(i, ns));
  // OPENREQ, carrying the definition the tool announced.
  const auto req = tool(i).of_type(kismet::kTypeOpenReq);
  ASSERT_EQ(req.size(), 1u);
  kismet::openreq o;
  ASSERT_TRUE(kismet::decode_openreq(req[0].payload, {}, o).ok());
  EXPECT_EQ(o.definition, "aircrack_wep.shared.key.authentication.cap:name=k1");
  EXPECT_EQ(req[0].header.code, kismet::kCodeOk);

  auto src = sources_.find("4e1d07c3-0000-0000-0000-0000632c1077");
  ASSERT_TRUE(src);
  {
    std::lock_guard lock(src->mu);
    EXPECT_TRUE(src->running);
    EXPECT_EQ(src->transport, "kismet-tcp");
    EXPECT_EQ(src->rec.type, "pcapfile");
    EXPECT_EQ(src->rec.name, "k1");
    EXPECT_EQ(src->rec.interface, "aircrack_wep.shared.key.authentication.cap");
  }
  EXPECT_TRUE(recorder_.events.empty());  // not up until it has opened

  ASSERT_TRUE(feed(i, real_openreport_for(req[0].header.seqno)));
  EXPECT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(recorder_.events[0].kind, event_kind::source_up);
  EXPECT_TRUE(any_message("source 'k1'", kMsgInfo));
  EXPECT_TRUE(any_message("accepted only because kismet_sensors is on"));
  EXPECT_TRUE(any_message("2025.09.0-b5d5a2d04"));
  EXPECT_EQ(stats_.links_accepted, 1u);
  {
    std::lock_guard lock(src->mu);
    EXPECT_EQ(src->rec.dlt, 105u);
    EXPECT_TRUE(src->channels.empty());
  }
  // A pcapfile tunes nothing: no CONFIGREQ (Kismet's pcapfile tool drops
  // the link on one).
  EXPECT_TRUE(tool(i).of_type(kismet::kTypeConfigReq).empty());

  const bytes pk = real("packet_dot11.bin");
  ASSERT_TRUE(feed(i, pk));
  EXPECT_TRUE(sink_.packets.empty());  // gathered into a batch
  ASSERT_TRUE(links_[i]->on_tick());
  ASSERT_EQ(sink_.packets.size(), 1u);
  kismet::frame f;
  ASSERT_EQ(kismet::parse_frame(pk, kismet::kKismetMaxPayload, f), kismet::header_status::ok);
  kismet::packet_report rep;
  ASSERT_TRUE(kismet::decode_packet(f.payload, {}, rep).ok());
  const auto& got = sink_.packets[0];
  EXPECT_EQ(got.data, bytes(rep.packet->content.begin(), rep.packet->content.end()));
  EXPECT_EQ(got.dlt, 105u);
  EXPECT_EQ(got.ts_ns, *rep.packet->ts_sec * 1000000000ull + *rep.packet->ts_usec * 1000ull);
  EXPECT_EQ(got.orig_len, *rep.packet->original_length);
  {
    std::lock_guard lock(src->mu);
    EXPECT_EQ(src->rec.num_packets, 1u);
  }

  ASSERT_TRUE(feed(i, real("message_eof.bin")));
  EXPECT_TRUE(any_message("end of pcapfile reached"));
  ASSERT_TRUE(feed(i, real("pong.bin")));
  ASSERT_TRUE(feed(i, real("probereport_unsupported.bin")));

  end(i);
  ASSERT_EQ(recorder_.events.size(), 2u);
  EXPECT_EQ(recorder_.events[1].kind, event_kind::source_down);
  EXPECT_FALSE(recorder_.events[1].source_lost);
  EXPECT_TRUE(any_message("disconnected", kMsgInfo));
  EXPECT_FALSE(src->running);
  ASSERT_FALSE(db_.puts.empty());
  EXPECT_EQ(db_.puts.back().num_packets, 1u);
}

TEST_F(kismet_link_test, the_recorded_tcp_stream_delivers_every_packet_it_holds) {
  const bytes stream = real("session_tcp.bin");
  std::vector<bytes> frames;
  for (std::size_t off = 0; off < stream.size();) {
    kismet::frame f;
    ASSERT_EQ(kismet::parse_frame(std::span(stream).subspan(off), kismet::kKismetMaxPayload, f),
              kismet::header_status::ok);
    frames.emplace_back(stream.begin() + off, stream.begin() + off + f.size());
    off += f.size();
  }
  ASSERT_EQ(frames.size(), 18u);
  const auto i = connect();
  std::size_t packets = 0;
  for (auto& fr : frames) {
    kismet::frame f;
    kismet::parse_frame(fr, kismet::kKismetMaxPayload, f);
    if (f.header.type == kismet::kTypeOpenReport) {
      const auto req = tool(i).of_type(kismet::kTypeOpenReq);
      ASSERT_EQ(req.size(), 1u);
      const bytes old = {0x01, 0xcd, 0x03, 0xe8};
      auto it = std::search(fr.begin(), fr.end(), old.begin(), old.end());
      ASSERT_NE(it, fr.end());
      it[2] = 0, it[3] = static_cast<std::uint8_t>(req[0].header.seqno);
    }
    packets += f.header.type == kismet::kTypePacket;
    ASSERT_TRUE(feed(i, fr)) << kismet::type_name(f.header.type);
  }
  EXPECT_EQ(packets, 13u);
  end(i);  // what is gathered reaches the pipeline when the link goes
  EXPECT_EQ(sink_.packets.size(), 13u);
  EXPECT_EQ(stats_.packets_received, 13u);
  EXPECT_EQ(db_.puts.back().num_packets, 13u);
}

TEST_F(kismet_link_test, packets_reach_the_pipeline_in_batches_of_256_and_at_each_tick) {
  const auto i = open("cap.pcap:name=k1", "pcapfile", kUuidA, {});
  for (std::uint32_t n = 0; n < 600; ++n) ASSERT_TRUE(feed(i, packet(3 + n, beacon(static_cast<std::uint8_t>(n)))));
  EXPECT_EQ(sink_.batches, (std::vector<std::size_t>{256, 256}));
  ASSERT_TRUE(links_[i]->on_tick());
  EXPECT_EQ(sink_.batches, (std::vector<std::size_t>{256, 256, 88}));
  ASSERT_EQ(sink_.packets.size(), 600u);
  for (std::uint32_t n = 0; n < 600; ++n) EXPECT_EQ(sink_.packets[n].data, beacon(static_cast<std::uint8_t>(n)));
  EXPECT_EQ(sources_.find(uuid::parse(kUuidA)->str())->rec.num_packets, 600u);
}

TEST_F(kismet_link_test, a_frame_other_than_packet_closes_the_batch_first) {
  const auto i = open("cap.pcap:name=k1", "pcapfile", kUuidA, {});
  for (std::uint32_t n = 0; n < 5; ++n) ASSERT_TRUE(feed(i, packet(3 + n, beacon(1))));
  EXPECT_TRUE(sink_.batches.empty());
  ASSERT_TRUE(feed(i, frame(kismet::kTypeMessage, 0, 9, mp_map({{1, mp_uint(2)}, {2, mp_str("end of pcapfile")}}))));
  EXPECT_EQ(sink_.batches, (std::vector<std::size_t>{5}));
}

TEST_F(kismet_link_test, a_report_keeps_its_signal_frequency_and_position) {
  const auto i = open("wlan0:name=roof", "linuxwifi", kUuidA, {"1", "6"});
  // Signal -50 dBm as the tool writes it (uint32, two's complement).
  const bytes signal = mp_map({{1, mp_uint(4294967246u)}, {5, mp_uint(2437000)}});
  const bytes gps = mp_map({{1, mp_f64(52.52)}, {2, mp_f64(13.405)}, {3, mp_f64(34)}, {4, mp_uint(3)},
                            {8, mp_uint(1700000000)}, {9, mp_uint(5)}, {11, mp_str("roofgps")}});
  ASSERT_TRUE(feed(i, packet(3, beacon(1), 1700000000, signal, gps)));
  ASSERT_TRUE(feed(i, real("packet_radiotap_gps.bin")));
  ASSERT_TRUE(links_[i]->on_tick());
  ASSERT_EQ(sink_.packets.size(), 2u);
  const auto& a = sink_.packets[0];
  EXPECT_TRUE(a.has_signal);
  EXPECT_EQ(a.signal, -50);
  EXPECT_EQ(a.freq_khz, 2437000u);
  EXPECT_TRUE(a.has_gps);
  EXPECT_DOUBLE_EQ(a.lat, 52.52);
  EXPECT_DOUBLE_EQ(a.lon, 13.405);
  EXPECT_DOUBLE_EQ(a.alt, 34);
  // The real one: --fixed-gps 52.52,13.405,34 --gps-name roof, DLT 127.
  const auto& b = sink_.packets[1];
  EXPECT_TRUE(b.has_gps);
  EXPECT_NEAR(b.lat, 52.52, 1e-9);
  EXPECT_NEAR(b.lon, 13.405, 1e-9);
  EXPECT_EQ(b.dlt, 127u);
  auto src = sources_.find(uuid::parse(kUuidA)->str());
  std::lock_guard lock(src->mu);
  EXPECT_EQ(src->gps_name, "roof");
  ASSERT_TRUE(src->last_position);
}

// ---- Refusals --------------------------------------------------------------------

TEST_F(kismet_link_test, a_tool_must_announce_its_source_within_5_seconds) {
  const auto i = connect();
  for (int t = 1; t < ks::kAnnounceTicks; ++t) ASSERT_TRUE(links_[i]->on_tick());
  EXPECT_FALSE(links_[i]->on_tick());
  EXPECT_EQ(stats_.links_refused_other, 1u);
  EXPECT_TRUE(tool(i).sent.empty());
}

TEST_F(kismet_link_test, ping_before_newsource_is_answered_as_kismets_server_does) {
  const auto i = connect();
  ASSERT_TRUE(feed(i, frame(kismet::kTypePing, 0, 77, {})));
  const auto pong = tool(i).of_type(kismet::kTypePong);
  ASSERT_EQ(pong.size(), 1u);
  EXPECT_EQ(pong[0].header.seqno, 77u);
}

TEST_F(kismet_link_test, newsource_with_a_missing_key_closes_the_link_and_is_counted) {
  const auto i = connect();
  EXPECT_FALSE(feed(i, frame(kismet::kTypeNewSource, 0, 2, mp_map({{1, mp_str("x.pcap")}, {2, mp_str("pcapfile")}}))));
  EXPECT_EQ(stats_.frames_malformed, 1u);
  EXPECT_TRUE(sources_.all().empty());
  EXPECT_TRUE(tool(i).sent.empty());
  // A closed link takes nothing more.
  EXPECT_FALSE(feed(i, newsource("x.pcap", "pcapfile", kUuidA)));
}

TEST_F(kismet_link_test, bad_frames_close_the_link_and_are_counted) {
  const bytes good = real("newsource.bin");
  struct bad_case {
    const char* what;
    bytes b;
    bool binary;
    collector_stats::counter* counter;
  };
  bytes sentinel = good;
  sentinel[4] = 0xa8;
  bytes past = good;  // length past Kismet's limit
  past[8] = 0, past[9] = 0, past[10] = 0x40, past[11] = 0x00;
  bytes v2 = good;
  v2[4] = 0xab, v2[5] = 0xcd, v2[6] = 0, v2[7] = 2;
  bytes trailing = good;
  trailing.push_back(0);
  bytes huge = frame(kismet::kTypeMessage, 0, 1, mp_map({{1, mp_uint(2)}, {2, mp_str("x")}}));
  huge.resize(kismet::kKismetMaxFrameBytes, 0);  // exactly 16384: Kismet refuses it
  const std::vector<bad_case> cases = {
      {"truncated header", bytes(good.begin(), good.begin() + 11), true, &stats_.frames_malformed},
      {"truncated payload", bytes(good.begin(), good.end() - 1), true, &stats_.frames_malformed},
      {"wrong signature", cat({{0xde, 0xad, 0xbe, 0xef}, bytes(good.begin() + 4, good.end())}), true,
       &stats_.frames_malformed},
      {"wrong sentinel", sentinel, true, &stats_.frames_malformed},
      {"length past the limit", past, true, &stats_.frames_oversize},
      {"a 16384-byte message", huge, true, &stats_.frames_oversize},
      {"a v2 frame", v2, true, &stats_.links_refused_other},
      {"text message", good, false, &stats_.frames_malformed},
      {"bytes after the frame", trailing, true, &stats_.frames_malformed},
      {"payload not a map", frame(kismet::kTypeNewSource, 0, 2, mp_str("x")), true, &stats_.frames_malformed},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto before = c.counter->load();
    const auto i = connect();
    EXPECT_FALSE(feed(i, c.b, c.binary));
    EXPECT_EQ(c.counter->load(), before + 1);
    EXPECT_TRUE(sources_.all().empty());
  }
}

TEST_F(kismet_link_test, the_transport_refusing_an_oversize_frame_is_counted) {
  const auto i = connect();
  EXPECT_EQ(links_[i]->max_message_bytes(), kismet::kKismetMaxFrameBytes - 1);
  links_[i]->refuse(refusal::too_large, 70000);
  EXPECT_EQ(stats_.frames_oversize, 1u);
  EXPECT_FALSE(links_[i]->on_tick());
}

TEST_F(kismet_link_test, frames_out_of_order_are_protocol_errors) {
  {
    const auto i = connect();
    EXPECT_FALSE(feed(i, packet(3, beacon(1))));  // before NEWSOURCE
  }
  {
    const auto i = connect();
    ASSERT_TRUE(feed(i, newsource("a.pcap:name=a", "pcapfile", kUuidA)));
    EXPECT_FALSE(feed(i, packet(3, beacon(1))));  // before OPENREPORT
  }
  {
    const auto i = connect();
    ASSERT_TRUE(feed(i, newsource("b.pcap:name=b", "pcapfile", kUuidB)));
    EXPECT_FALSE(feed(i, newsource("b.pcap:name=b", "pcapfile", kUuidB)));  // twice
  }
  {
    const auto i = connect();
    EXPECT_FALSE(feed(i, frame(kismet::kTypeOpenReq, 1, 5, mp_map({{1, mp_str("x")}}))));  // the server's frame
  }
  EXPECT_EQ(stats_.frames_malformed, 4u);
}

TEST_F(kismet_link_test, a_websocket_link_needs_the_datasource_role_from_its_upgrade) {
  const auto ro = connect(transport_kind::websocket, role::readonly);
  EXPECT_FALSE(feed(ro, newsource("a.pcap:name=a", "pcapfile", kUuidA)));
  EXPECT_EQ(stats_.links_refused_auth, 1u);
  const auto none = connect(transport_kind::websocket, std::nullopt);
  EXPECT_FALSE(feed(none, newsource("a.pcap:name=a", "pcapfile", kUuidA)));
  EXPECT_EQ(stats_.links_refused_auth, 2u);
  const auto ok = open("a.pcap:name=a", "pcapfile", kUuidA, {}, transport_kind::websocket);
  auto src = sources_.find(uuid::parse(kUuidA)->str());
  ASSERT_TRUE(src);
  EXPECT_EQ(src->transport, "kismet-websocket");
  EXPECT_TRUE(any_message("authenticated on the WebSocket upgrade as 'kismet-token' (datasource)"));
  (void)ok;
}

TEST_F(kismet_link_test, a_live_uuid_and_a_uuid_of_another_type_are_refused) {
  open("a.pcap:name=a", "pcapfile", kUuidA, {});
  const auto again = connect();
  EXPECT_FALSE(feed(again, newsource("a.pcap:name=a", "pcapfile", kUuidA)));
  EXPECT_EQ(stats_.links_refused_other, 1u);
  const auto other = connect();
  EXPECT_FALSE(feed(other, newsource("wlan0:name=a", "linuxwifi", kUuidA)));
  EXPECT_EQ(stats_.links_refused_other, 2u);
  const auto bad = connect();
  EXPECT_FALSE(feed(bad, newsource("a.pcap", "pcapfile", "not-a-uuid")));
  EXPECT_EQ(stats_.links_refused_other, 3u);
}

TEST_F(kismet_link_test, a_failed_openreport_is_told_to_the_message_bus_and_closes) {
  const auto i = connect();
  ASSERT_TRUE(feed(i, newsource("missing.pcap:name=m", "pcapfile", kUuidA)));
  const auto req = tool(i).of_type(kismet::kTypeOpenReq);
  ASSERT_EQ(req.size(), 1u);
  EXPECT_FALSE(feed(i, openreport(req[0].header.seqno, {}, kismet::kCodeFail, "no such file 'missing.pcap'")));
  EXPECT_TRUE(any_message("could not open its source: no such file 'missing.pcap'", kMsgError));
  EXPECT_TRUE(recorder_.events.empty());
  end(i);
  EXPECT_FALSE(sources_.find(uuid::parse(kUuidA)->str())->running);
}

TEST_F(kismet_link_test, openreport_must_echo_the_openreq_seqno) {
  const auto i = connect();
  ASSERT_TRUE(feed(i, newsource("a.pcap:name=a", "pcapfile", kUuidA)));
  const auto seq = tool(i).of_type(kismet::kTypeOpenReq).at(0).header.seqno;
  EXPECT_FALSE(feed(i, openreport(seq + 5, {})));
  EXPECT_EQ(stats_.frames_malformed, 1u);
}

TEST_F(kismet_link_test, a_packet_block_with_missing_keys_closes_the_link) {
  const auto i = open("a.pcap:name=a", "pcapfile", kUuidA, {});
  ASSERT_TRUE(feed(i, packet(3, beacon(1))));
  // A GPS block without its required time (fields 8 and 9).
  const bytes gps = mp_map({{1, mp_f64(1)}, {2, mp_f64(2)}});
  EXPECT_FALSE(feed(i, packet(4, beacon(2), 1700000000, std::nullopt, gps)));
  EXPECT_EQ(stats_.frames_malformed, 1u);
  // What came before it is kept.
  EXPECT_EQ(sink_.packets.size(), 1u);
  end(i);
  EXPECT_TRUE(any_message("disconnected", kMsgError));
  ASSERT_EQ(recorder_.events.size(), 2u);
  EXPECT_TRUE(recorder_.events[1].source_lost);
}

// ---- PING and silence -------------------------------------------------------------

TEST_F(kismet_link_test, pings_every_5_seconds_and_drops_a_tool_silent_for_15) {
  const auto i = open("a.pcap:name=a", "pcapfile", kUuidA, {});
  const auto base = tool(i).sent.size();
  for (int t = 1; t < ks::kPingTicks; ++t) ASSERT_TRUE(links_[i]->on_tick());
  EXPECT_TRUE(tool(i).of_type(kismet::kTypePing, base).empty());
  ASSERT_TRUE(links_[i]->on_tick());
  auto pings = tool(i).of_type(kismet::kTypePing, base);
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].header.code, kismet::kCodeOk);
  EXPECT_TRUE(pings[0].payload.empty());
  // The PONG keeps it alive.
  ASSERT_TRUE(feed(i, frame(kismet::kTypePong, 0, pings[0].header.seqno, {})));
  for (int t = 0; t < ks::kSilentTicks; ++t) ASSERT_TRUE(links_[i]->on_tick()) << t;
  EXPECT_FALSE(links_[i]->on_tick());
  EXPECT_EQ(stats_.links_timed_out, 1u);
  EXPECT_EQ(tool(i).of_type(kismet::kTypePing, base).size(), 4u);  // at 5, 10, 15 and 20 s
  end(i);
  EXPECT_TRUE(any_message("no frame for 15 s", kMsgError));
  ASSERT_EQ(recorder_.events.size(), 2u);
  EXPECT_TRUE(recorder_.events[1].source_lost);
}

TEST_F(kismet_link_test, a_websocket_tool_is_pinged_after_each_batch_and_each_second_and_its_pong_ends_a_batch) {
  const auto i = open("a.pcap:name=a", "pcapfile", kUuidA, {}, transport_kind::websocket);
  const auto base = tool(i).sent.size();
  for (std::uint32_t n = 0; n < 2 * ks::kBatchPackets; ++n) ASSERT_TRUE(feed(i, packet(3 + n, beacon(1))));
  EXPECT_EQ(tool(i).of_type(kismet::kTypePing, base).size(), 2u);
  // A PONG ends the burst the PING woke (the tool writes what it had
  // queued, then the answer): it closes the batch. PONGs do not count
  // against the rate limit.
  ASSERT_TRUE(feed(i, packet(900, beacon(1))));
  EXPECT_EQ(sink_.batches.size(), 2u);
  for (int n = 0; n < 200; ++n) ASSERT_TRUE(feed(i, frame(kismet::kTypePong, 0, 1, {})));
  EXPECT_EQ(sink_.batches, (std::vector<std::size_t>{256, 256, 1}));
  ASSERT_TRUE(feed(i, packet(901, beacon(1))));
  ASSERT_TRUE(links_[i]->on_tick());
  EXPECT_EQ(sink_.batches.size(), 4u);
  ASSERT_TRUE(links_[i]->on_tick());
  EXPECT_EQ(tool(i).of_type(kismet::kTypePing, base).size(), 4u);
}

// ---- Channels ---------------------------------------------------------------------

TEST_F(kismet_link_test, a_tool_that_can_tune_gets_its_own_hop_plan_once_it_opens) {
  const auto i = open("wlan0:name=roof", "linuxwifi", kUuidA, {"1", "6", "11", "36"});
  const auto reqs = configreqs(i);
  ASSERT_EQ(reqs.size(), 1u);
  ASSERT_TRUE(reqs[0].hop);
  EXPECT_EQ(reqs[0].hop->channels, (std::vector<std::string>{"1", "6", "11", "36"}));
  EXPECT_FLOAT_EQ(reqs[0].hop->rate.value_or(0), static_cast<float>(kDefaultHopRatePerSec));
  EXPECT_TRUE(reqs[0].hop->shuffle.value_or(false));
  EXPECT_EQ(reqs[0].hop->offset.value_or(99), 0u);
  // Ticks do not resend it.
  for (int t = 0; t < 3; ++t) links_[i]->on_tick();
  std::vector<std::uint32_t> seqs;
  EXPECT_EQ(configreqs(i, &seqs).size(), 1u);
  // It is numbered as a plan, so the source tells whether the tool took it.
  auto src = sources_.find(uuid::parse(kUuidA)->str());
  {
    std::lock_guard lock(src->mu);
    EXPECT_EQ(src->plan.request_id, 1u);
    EXPECT_EQ(src->plan.mode, "own");
    EXPECT_NE(src->plan.result_id, 1u);
  }
  const bytes report = frame(kismet::kTypeConfigReport, 1, seqs[0],
                             mp_map({{1, mp_uint(seqs[0])},
                                     {3, mp_map({{5, mp_strings({"36", "1", "11", "6"})}, {6, mp_uint(1)}})}}));
  ASSERT_TRUE(feed(i, report));
  std::lock_guard lock(src->mu);
  EXPECT_EQ(src->plan.result_id, 1u);
  EXPECT_TRUE(src->plan.result_ok);
  EXPECT_EQ(src->plan.in_force, (std::vector<std::string>{"36", "1", "11", "6"}));
}

TEST_F(kismet_link_test, channel_options_shape_the_hop_list_as_kismets_server_does) {
  const auto a = open("wlan0:name=a,channels=\"1,6\"", "linuxwifi", kUuidA, {"1", "6", "11", "36"});
  EXPECT_EQ(configreqs(a).at(0).hop->channels, (std::vector<std::string>{"1", "6"}));
  const auto b = open("wlan1:name=b,block_channels=\"6,11\",add_channels=14", "linuxwifi", kUuidB, {"1", "6", "11", "36"});
  EXPECT_EQ(configreqs(b).at(0).hop->channels, (std::vector<std::string>{"1", "36", "14"}));
  const auto c = open("wlan2:name=c,channel_hop=false", "linuxwifi", "6A1D07C3-0000-0000-0000-0000B1EF1231", {"1", "6"});
  EXPECT_TRUE(configreqs(c).empty());
  const auto d = open("wlan3:name=d,channel=11", "linuxwifi", "7A1D07C3-0000-0000-0000-0000B1EF1232", {"1", "6", "11"});
  EXPECT_EQ(configreqs(d).at(0).channel.value_or(""), "11");
}

TEST_F(kismet_link_test, configreq_follows_the_plan_whenever_it_changes_and_configreport_is_checked) {
  const auto i = open("wlan0:name=roof", "linuxwifi", kUuidA, {"1", "6", "11"});
  auto src = sources_.find(uuid::parse(kUuidA)->str());
  ASSERT_EQ(configreqs(i).size(), 1u);

  hop_plan lock6;
  lock6.channels = {"6"};
  lock6.hop = false;
  planner_.set_manual(src, lock6, 0);
  EXPECT_EQ(configreqs(i).size(), 1u);  // posted to the link's strand
  tool(i).run_posted();
  std::vector<std::uint32_t> seqs;
  auto reqs = configreqs(i, &seqs);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].channel.value_or(""), "6");
  std::uint32_t request_id;
  {
    std::lock_guard lock(src->mu);
    request_id = src->plan.request_id;
    EXPECT_EQ(src->plan.sent_id, request_id);
    EXPECT_NE(src->plan.result_id, request_id);
  }
  // A report for something never asked is ignored.
  ASSERT_TRUE(feed(i, configreport_channel(seqs[1] + 100, 1, "1")));
  ASSERT_TRUE(feed(i, configreport_channel(seqs[1], 1, "6")));
  {
    std::lock_guard lock(src->mu);
    EXPECT_EQ(src->plan.result_id, request_id);
    EXPECT_TRUE(src->plan.result_ok);
    EXPECT_EQ(src->plan.in_force, (std::vector<std::string>{"6"}));
    EXPECT_EQ(src->channel, "6");
  }

  // Back to its own plan: the hop list again.
  planner_.set_manual(src, std::nullopt, 2.5);
  tool(i).run_posted();
  reqs = configreqs(i, &seqs);
  ASSERT_EQ(reqs.size(), 3u);
  ASSERT_TRUE(reqs[2].hop);
  EXPECT_EQ(reqs[2].hop->channels, (std::vector<std::string>{"1", "6", "11"}));
  EXPECT_FLOAT_EQ(reqs[2].hop->rate.value_or(0), 2.5f);
  const bytes hop_report = frame(kismet::kTypeConfigReport, 1, seqs.back(),
                                 mp_map({{1, mp_uint(seqs.back())},
                                         {3, mp_map({{5, mp_strings({"6", "1", "11"})}, {6, mp_uint(1)}})}}));
  ASSERT_TRUE(feed(i, hop_report));
  {
    std::lock_guard lock(src->mu);
    EXPECT_EQ(src->plan.result_id, src->plan.request_id);
    EXPECT_TRUE(src->plan.result_ok);
    EXPECT_EQ(src->plan.in_force, (std::vector<std::string>{"6", "1", "11"}));
  }
}

TEST_F(kismet_link_test, a_refused_configreport_is_recorded_with_its_reason) {
  const auto i = open("wlan0:name=roof", "linuxwifi", kUuidA, {"1", "6", "11"});
  auto src = sources_.find(uuid::parse(kUuidA)->str());
  hop_plan lock;
  lock.channels = {"165"};
  lock.hop = false;
  planner_.set_manual(src, lock, 0);
  tool(i).run_posted();
  std::vector<std::uint32_t> seqs;
  ASSERT_EQ(configreqs(i, &seqs).size(), 2u);
  ASSERT_TRUE(feed(i, configreport_channel(seqs[1], kismet::kCodeFail, "", "channel 165 not supported")));
  std::lock_guard l(src->mu);
  EXPECT_EQ(src->plan.result_id, src->plan.request_id);
  EXPECT_FALSE(src->plan.result_ok);
  EXPECT_EQ(src->plan.result_message, "channel 165 not supported");
  EXPECT_EQ(src->plan.in_force, (std::vector<std::string>{"1", "6", "11"}));
}

TEST_F(kismet_link_test, an_error_answering_a_configreq_marks_the_plan_refused) {
  const auto i = open("wlan0:name=roof", "linuxwifi", kUuidA, {"1", "6", "11"});
  std::vector<std::uint32_t> seqs;
  ASSERT_EQ(configreqs(i, &seqs).size(), 1u);
  ASSERT_TRUE(feed(i, frame(kismet::kTypeError, 1, seqs[0], mp_map({{1, mp_str("could not set hop list")}}))));
  auto src = sources_.find(uuid::parse(kUuidA)->str());
  std::lock_guard l(src->mu);
  EXPECT_EQ(src->plan.result_id, src->plan.request_id);
  EXPECT_FALSE(src->plan.result_ok);
  EXPECT_EQ(src->plan.result_message, "could not set hop list");
}

TEST_F(kismet_link_test, a_source_that_cannot_tune_never_gets_a_configreq) {
  const auto i = open("a.pcap:name=a", "pcapfile", kUuidA, {});
  auto src = sources_.find(uuid::parse(kUuidA)->str());
  hop_plan lock;
  lock.channels = {"6"};
  lock.hop = false;
  planner_.set_manual(src, lock, 0);
  tool(i).run_posted();
  links_[i]->on_tick();
  EXPECT_TRUE(configreqs(i).empty());
  std::lock_guard l(src->mu);
  EXPECT_EQ(src->plan.result_id, src->plan.request_id);
  EXPECT_FALSE(src->plan.result_ok);
  EXPECT_NE(src->plan.result_message.find("no channels"), std::string::npos);
}

TEST_F(kismet_link_test, two_kismet_tools_in_one_group_split_the_channels) {
  const std::vector<std::string> all = {"1", "6", "11", "36", "40", "44"};
  const auto a = open("wlan0:name=a,group=roof", "linuxwifi", kUuidA, all);
  const auto b = open("wlan1:name=b,group=roof", "linuxwifi", kUuidB, all);
  for (auto& t : tools_) t->run_posted();
  const auto ra = configreqs(a), rb = configreqs(b);
  ASSERT_FALSE(ra.empty());
  ASSERT_FALSE(rb.empty());
  ASSERT_TRUE(ra.back().hop && rb.back().hop);
  std::set<std::string> sa(ra.back().hop->channels.begin(), ra.back().hop->channels.end());
  std::set<std::string> sb(rb.back().hop->channels.begin(), rb.back().hop->channels.end());
  for (const auto& c : sa) EXPECT_FALSE(sb.count(c)) << c;
  std::set<std::string> both = sa;
  both.insert(sb.begin(), sb.end());
  EXPECT_EQ(both, std::set<std::string>(all.begin(), all.end()));
  // One leaves: the other takes the whole list.
  end(b);
  tool(a).run_posted();
  const auto after = configreqs(a);
  ASSERT_TRUE(after.back().hop);
  EXPECT_EQ(after.back().hop->channels.size(), all.size());
}

// ---- Messages ---------------------------------------------------------------------

TEST_F(kismet_link_test, message_and_error_reach_the_message_bus) {
  const auto i = open("a.pcap:name=a", "pcapfile", kUuidA, {});
  ASSERT_TRUE(feed(i, frame(kismet::kTypeMessage, 0, 7, mp_map({{1, mp_uint(4)}, {2, mp_str("radio went away")}}))));
  ASSERT_TRUE(feed(i, frame(kismet::kTypeError, 1, 8, mp_map({{1, mp_str("could not tune")}}))));
  EXPECT_TRUE(any_message("source 'a': radio went away", kMsgError));
  EXPECT_TRUE(any_message("source 'a' reported an error: could not tune", kMsgError));
  EXPECT_FALSE(feed(i, frame(kismet::kTypeMessage, 0, 9, mp_map({{2, mp_str("no severity")}}))));
  EXPECT_EQ(stats_.frames_malformed, 1u);
}

TEST_F(kismet_link_test, control_frames_over_the_rate_limit_are_dropped_and_counted) {
  const auto i = open("a.pcap:name=a", "pcapfile", kUuidA, {});
  const auto before = messages_.all().size();
  for (int n = 0; n < 500; ++n)
    ASSERT_TRUE(feed(i, frame(kismet::kTypeMessage, 0, 10 + n, mp_map({{1, mp_uint(2)}, {2, mp_str("flood")}}))));
  const auto posted = messages_.all().size() - before;
  EXPECT_GE(posted, static_cast<std::size_t>(ks::kControlBurst) - 2);
  EXPECT_LT(posted, 100u);
  // Packets are not limited.
  for (std::uint32_t n = 0; n < 300; ++n) ASSERT_TRUE(feed(i, packet(600 + n, beacon(1))));
  end(i);
  EXPECT_EQ(sink_.packets.size(), 300u);
  EXPECT_TRUE(any_message("control frames over the rate limit dropped"));
}

}  // namespace
}  // namespace hopwire::collector

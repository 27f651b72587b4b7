// Kismet's v3 frames: real frames recorded from kismet_cap_pcapfile
// (tests/data/kismet/README.md), hand-built payloads for every decoder and
// every way a payload can be wrong, and our encoders read back by our
// decoders.

#include "collector/link/kismet_frame.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace hopwire::collector::kismet {
namespace {

using bytes = std::vector<std::uint8_t>;

std::filesystem::path data_dir() {
#ifdef HOPWIRE_TEST_DATA
  return std::filesystem::path(HOPWIRE_TEST_DATA) / "kismet";
#else
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "kismet";
#endif
}

bytes load(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << p;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bytes real(const char* name) { return load(data_dir() / name); }

// "81 01 a1 36" -> bytes.
bytes hex(std::string_view s) {
  bytes out;
  int hi = -1;
  for (const char ch : s) {
    int v;
    if (ch >= '0' && ch <= '9') v = ch - '0';
    else if (ch >= 'a' && ch <= 'f') v = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') v = ch - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

// msgpack str of a short text, written by hand here so that the tests do
// not lean on the encoder they check.
bytes str(std::string_view s) {
  bytes out;
  if (s.size() < 32) {
    out.push_back(static_cast<std::uint8_t>(0xa0 | s.size()));
  } else {
    out.push_back(0xd9);
    out.push_back(static_cast<std::uint8_t>(s.size()));
  }
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

frame parse(const bytes& b) {
  frame f;
  EXPECT_EQ(parse_frame(b, kKismetMaxPayload, f), header_status::ok);
  return f;
}

bytes with_header(std::uint16_t type, std::uint16_t code, std::uint32_t seq, const bytes& payload) {
  bytes out(kHeaderBytes);
  write_header(std::span<std::uint8_t, kHeaderBytes>(out.data(), kHeaderBytes),
               {static_cast<std::uint32_t>(payload.size()), type, code, seq});
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// A payload copied to a heap block of exactly its size, so that AddressSanitizer
// would see a read past its end.
struct exact {
  explicit exact(const bytes& b) : p(new std::uint8_t[b.size() + 1]), n(b.size()) {
    if (n) std::memcpy(p.get(), b.data(), n);
  }
  std::span<const std::uint8_t> span() const { return {p.get(), n}; }
  std::unique_ptr<std::uint8_t[]> p;
  std::size_t n;
};

const limits kLim;

// The first packet of a classic pcap file (little- or big-endian).
bytes first_pcap_packet(const bytes& file) {
  if (file.size() < 40) return {};
  const bool le = file[0] == 0xd4;
  const std::size_t at = 24 + 8;
  const std::uint32_t caplen = le ? (file[at] | file[at + 1] << 8 | file[at + 2] << 16 | std::uint32_t{file[at + 3]} << 24)
                                  : (std::uint32_t{file[at]} << 24 | file[at + 1] << 16 | file[at + 2] << 8 | file[at + 3]);
  return bytes(file.begin() + 40, file.begin() + 40 + caplen);
}

// ---- The header ----------------------------------------------------------------

TEST(kismet_header, a_real_newsource_header_reads_field_by_field) {
  const bytes b = real("newsource.bin");
  frame f;
  ASSERT_EQ(parse_frame(b, kKismetMaxPayload, f), header_status::ok);
  EXPECT_EQ(f.header.length, 103u);
  EXPECT_EQ(f.header.type, kTypeNewSource);
  EXPECT_EQ(f.header.code, 0u);
  EXPECT_EQ(f.header.seqno, 2u);
  EXPECT_EQ(f.payload.data(), b.data() + kHeaderBytes);
  EXPECT_EQ(f.size(), b.size());
}

TEST(kismet_header, every_prefix_shorter_than_twenty_bytes_needs_more) {
  const bytes b = real("newsource.bin");
  for (std::size_t n = 0; n < kHeaderBytes; ++n) {
    frame f;
    EXPECT_EQ(parse_frame(std::span(b.data(), n), kKismetMaxPayload, f), header_status::need_more) << n;
  }
}

TEST(kismet_header, a_payload_not_all_there_needs_more_and_says_how_long_it_is) {
  const bytes b = real("openreport.bin");
  frame f;
  EXPECT_EQ(parse_frame(std::span(b.data(), b.size() - 1), kKismetMaxPayload, f), header_status::need_more);
  EXPECT_EQ(f.header.length, 143u);
  EXPECT_EQ(f.header.type, kTypeOpenReport);
  EXPECT_TRUE(f.payload.empty());
}

TEST(kismet_header, a_wrong_signature_is_refused_after_four_bytes) {
  const bytes b = hex("DECAFBAE");
  frame f;
  EXPECT_EQ(parse_frame(b, kKismetMaxPayload, f), header_status::bad_signature);
  // An HTTP request or our own link's frames on the same port are not Kismet's.
  const std::string get = "GET /datasource/remote/remotesource.ws HTTP/1.1\r\n";
  EXPECT_EQ(parse_frame(std::span(reinterpret_cast<const std::uint8_t*>(get.data()), get.size()), kKismetMaxPayload, f),
            header_status::bad_signature);
}

TEST(kismet_header, a_wrong_sentinel_is_refused) {
  frame f;
  EXPECT_EQ(parse_frame(hex("DECAFBAD A9A8 0003"), kKismetMaxPayload, f), header_status::bad_sentinel);
  EXPECT_EQ(parse_frame(hex("DECAFBAD 0000 0003 00000000 0002 0000 00000001"), kKismetMaxPayload, f),
            header_status::bad_sentinel);
  // v2's sentinel with another version is not a v2 frame either.
  EXPECT_EQ(parse_frame(hex("DECAFBAD ABCD 0003"), kKismetMaxPayload, f), header_status::bad_sentinel);
}

TEST(kismet_header, a_v2_frame_is_reported_as_v2) {
  // Kismet's v2 probe: signature, sentinel ABCD, version 2, length 0, then a
  // 32-byte command name "PING" and a seqno.
  bytes v2 = hex("DECAFBAD ABCD 0002 00000000");
  bytes name(32, 0);
  std::memcpy(name.data(), "PING", 4);
  v2.insert(v2.end(), name.begin(), name.end());
  for (const auto x : hex("00000001")) v2.push_back(x);
  frame f;
  EXPECT_EQ(parse_frame(v2, kKismetMaxPayload, f), header_status::v2_frame);
  EXPECT_EQ(parse_frame(std::span(v2.data(), 8), kKismetMaxPayload, f), header_status::v2_frame);
}

TEST(kismet_header, a_version_other_than_three_is_refused) {
  frame f;
  EXPECT_EQ(parse_frame(hex("DECAFBAD A9A9 0004 00000000 0002 0001 00000001"), kKismetMaxPayload, f),
            header_status::bad_version);
  EXPECT_EQ(parse_frame(hex("DECAFBAD A9A9 0002"), kKismetMaxPayload, f), header_status::bad_version);
}

TEST(kismet_header, a_length_past_the_limit_is_refused_before_the_payload_arrives) {
  frame f;
  // Twelve bytes are enough to know.
  EXPECT_EQ(parse_frame(hex("DECAFBAD A9A9 0003 00004000"), kKismetMaxPayload, f), header_status::too_large);
  EXPECT_EQ(f.header.length, 0x4000u);
  EXPECT_EQ(parse_frame(hex("DECAFBAD A9A9 0003 FFFFFFFF 0010 0000 00000003"), kKismetMaxPayload, f),
            header_status::too_large);
  EXPECT_EQ(f.header.type, kTypePacket);
  // The caller's limit, at and one past it.
  EXPECT_EQ(parse_frame(hex("DECAFBAD A9A9 0003 00000064 0010 0000 00000003"), 100, f), header_status::need_more);
  EXPECT_EQ(parse_frame(hex("DECAFBAD A9A9 0003 00000065 0010 0000 00000003"), 100, f), header_status::too_large);
}

TEST(kismet_header, kismets_limit_takes_frames_up_to_16383_bytes) {
  bytes big = with_header(kTypePacket, 0, 9, bytes(kKismetMaxPayload, 0));
  EXPECT_EQ(big.size(), 16383u);
  frame f;
  EXPECT_EQ(parse_frame(big, kKismetMaxPayload, f), header_status::ok);
  big = with_header(kTypePacket, 0, 9, bytes(kKismetMaxPayload + 1, 0));
  EXPECT_EQ(parse_frame(big, kKismetMaxPayload, f), header_status::too_large);
}

TEST(kismet_header, a_written_header_reads_back_the_same) {
  const frame_header h{7, kTypeConfigReport, kCodeOk, 0xfedcba98};
  bytes b(kHeaderBytes + 7, 0x80);
  write_header(std::span<std::uint8_t, kHeaderBytes>(b.data(), kHeaderBytes), h);
  EXPECT_EQ(bytes(b.begin(), b.begin() + 8), hex("DECAFBAD A9A9 0003"));
  frame f;
  ASSERT_EQ(parse_frame(b, kKismetMaxPayload, f), header_status::ok);
  EXPECT_EQ(f.header, h);
}

TEST(kismet_header, a_real_tcp_stream_splits_into_its_eighteen_frames) {
  const bytes s = real("session_tcp.bin");
  std::vector<std::uint16_t> types;
  std::span<const std::uint8_t> rest(s);
  while (!rest.empty()) {
    frame f;
    ASSERT_EQ(parse_frame(rest, kKismetMaxPayload, f), header_status::ok) << types.size();
    types.push_back(f.header.type);
    rest = rest.subspan(f.size());
  }
  std::vector<std::uint16_t> want = {kTypeNewSource, kTypeOpenReport};
  want.insert(want.end(), 13, kTypePacket);
  want.insert(want.end(), {kTypeMessage, kTypePong, kTypeProbeReport});
  EXPECT_EQ(types, want);
}

// ---- Real frames through the decoders ------------------------------------------

TEST(kismet_real, newsource_gives_definition_type_and_uuid) {
  const bytes b = real("newsource.bin");
  newsource n;
  ASSERT_TRUE(decode_newsource(parse(b).payload, kLim, n));
  EXPECT_EQ(n.definition, "aircrack_wep.shared.key.authentication.cap:name=k1");
  EXPECT_EQ(n.source_type, "pcapfile");
  EXPECT_EQ(n.uuid, "4E1D07C3-0000-0000-0000-0000632C1077");
}

TEST(kismet_real, openreport_gives_seqno_dlt_version_and_message) {
  const bytes b = real("openreport.bin");
  const frame f = parse(b);
  EXPECT_EQ(f.header.code, kCodeOk);
  EXPECT_EQ(f.header.seqno, 1000u);
  openreport o;
  ASSERT_TRUE(decode_openreport(f.payload, kLim, o));
  EXPECT_EQ(o.seqno, 1000u);  // sent as uint16
  EXPECT_EQ(o.dlt, 105u);     // sent as a fixint
  EXPECT_EQ(o.version, "2025.09.0-b5d5a2d04");
  EXPECT_EQ(o.uuid, "4E1D07C3-0000-0000-0000-0000632C1077");
  EXPECT_EQ(o.message, "Opened pcapfile 'aircrack_wep.shared.key.authentication.cap' for playback");
  EXPECT_TRUE(o.channels.empty());
  EXPECT_FALSE(o.hop);
}

TEST(kismet_real, packet_content_is_the_captured_frame_in_place) {
  const bytes b = real("packet_dot11.bin");
  const frame f = parse(b);
  packet_report p;
  ASSERT_TRUE(decode_packet(f.payload, kLim, p));
  ASSERT_TRUE(p.packet);
  EXPECT_FALSE(p.gps);
  EXPECT_FALSE(p.signal);
  EXPECT_EQ(p.packet->dlt, 105u);
  EXPECT_EQ(p.packet->ts_sec, 1173463846u);
  EXPECT_EQ(p.packet->ts_usec, 495316u);
  EXPECT_EQ(p.packet->original_length, 85u);
  // A view into the frame, not a copy...
  EXPECT_GE(p.packet->content.data(), f.payload.data());
  EXPECT_LE(p.packet->content.data() + p.packet->content.size(), f.payload.data() + f.payload.size());
  // ...holding exactly the capture's first frame.
  const bytes want = first_pcap_packet(load(data_dir().parent_path() / "aircrack_wep.shared.key.authentication.cap"));
  EXPECT_EQ(bytes(p.packet->content.begin(), p.packet->content.end()), want);
}

TEST(kismet_real, packet_with_fixed_gps_has_the_gps_block) {
  const bytes b = real("packet_radiotap_gps.bin");
  packet_report p;
  ASSERT_TRUE(decode_packet(parse(b).payload, kLim, p));
  ASSERT_TRUE(p.gps);
  EXPECT_DOUBLE_EQ(*p.gps->lat, 52.52);
  EXPECT_DOUBLE_EQ(*p.gps->lon, 13.405);
  EXPECT_DOUBLE_EQ(*p.gps->alt, 34.0);  // sent as float32
  EXPECT_EQ(p.gps->fix, 3u);
  EXPECT_GT(p.gps->ts_sec, 1700000000u);
  EXPECT_LT(p.gps->ts_usec, 1000000u);
  EXPECT_EQ(p.gps->type, "remote-fixed");
  EXPECT_EQ(p.gps->name, "roof");
  ASSERT_TRUE(p.packet);
  EXPECT_EQ(p.packet->dlt, 127u);
  EXPECT_EQ(p.packet->content.size(), 239u);
  const bytes want = first_pcap_packet(load(data_dir().parent_path() / "tcpdump_ieee802.11_meshid.pcap"));
  EXPECT_EQ(bytes(p.packet->content.begin(), p.packet->content.end()), want);
}

TEST(kismet_real, end_of_file_message_is_info) {
  message m;
  ASSERT_TRUE(decode_message(parse(real("message_eof.bin")).payload, kLim, m));
  EXPECT_EQ(m.severity, kMsgInfo);
  EXPECT_EQ(m.text, "Pcapfile 'aircrack_wep.shared.key.authentication.cap' closed: end of pcapfile reached");
}

TEST(kismet_real, pong_echoes_our_ping_and_is_empty) {
  const bytes b = real("pong.bin");
  const frame f = parse(b);
  EXPECT_EQ(f.header.type, kTypePong);
  EXPECT_EQ(f.header.seqno, 4242u);
  EXPECT_EQ(f.size(), kHeaderBytes);
  EXPECT_TRUE(decode_empty(f.payload, kLim));
}

TEST(kismet_real, unknown_request_is_answered_by_an_unsupported_probereport) {
  const bytes b = real("probereport_unsupported.bin");
  const frame f = parse(b);
  EXPECT_EQ(f.header.code, kCodeFail);
  probereport r;
  ASSERT_TRUE(decode_probereport(f.payload, kLim, r));
  EXPECT_EQ(r.seqno, 1002u);
  EXPECT_EQ(r.message, "Unsupported request");
  EXPECT_FALSE(r.interface);
}

TEST(kismet_real, probereport_has_an_empty_interface_block) {
  const bytes b = real("probereport_probe.bin");
  const frame f = parse(b);
  EXPECT_EQ(f.header.code, kCodeOk);
  probereport r;
  ASSERT_TRUE(decode_probereport(f.payload, kLim, r));
  EXPECT_EQ(r.seqno, 1004u);
  ASSERT_TRUE(r.interface);
  EXPECT_TRUE(r.interface->capture_interface.empty());
  EXPECT_TRUE(r.interface->channels.empty());
}

TEST(kismet_real, listreport_from_pcapfile_lists_no_interfaces) {
  listreport l;
  ASSERT_TRUE(decode_listreport(parse(real("listreport_empty.bin")).payload, kLim, l));
  EXPECT_EQ(l.seqno, 1003u);
  EXPECT_EQ(l.version, "2025.09.0-b5d5a2d04");
  EXPECT_TRUE(l.interfaces.empty());
}

TEST(kismet_real, every_frame_of_a_session_decodes_with_its_decoder) {
  const bytes s = real("session_tcp.bin");
  std::span<const std::uint8_t> rest(s);
  int packets = 0;
  while (!rest.empty()) {
    frame f;
    ASSERT_EQ(parse_frame(rest, kKismetMaxPayload, f), header_status::ok);
    decode_result r;
    switch (f.header.type) {
      case kTypeNewSource: { newsource x; r = decode_newsource(f.payload, kLim, x); break; }
      case kTypeOpenReport: { openreport x; r = decode_openreport(f.payload, kLim, x); break; }
      case kTypePacket: {
        packet_report x;
        r = decode_packet(f.payload, kLim, x);
        packets += x.packet && !x.packet->content.empty();
        break;
      }
      case kTypeMessage: { message x; r = decode_message(f.payload, kLim, x); break; }
      case kTypePong: r = decode_empty(f.payload, kLim); break;
      case kTypeProbeReport: { probereport x; r = decode_probereport(f.payload, kLim, x); break; }
      default: FAIL() << "type " << f.header.type;
    }
    EXPECT_TRUE(r) << describe(f.header.type, r);
    rest = rest.subspan(f.size());
  }
  EXPECT_EQ(packets, 13);
}

// ---- Hand-built payloads ----------------------------------------------------------

TEST(kismet_decode, signal_block_reads_negative_dbm_sent_as_uint32) {
  // {2: {1: 4294967246 (-50), 2: -96 as a negative int, 3: 200, 5: 2437000 kHz,
  //      6: 540, 7: "6"}, 4: {6: bin "ab"}}
  const bytes p = cat({hex("82 02 86 01 ce ffffffce 02 d0 a0 03 cc c8 05 ce 00252f88 06 cd 021c 07"), str("6"),
                       hex("04 81 06 c4 02 61 62")});
  packet_report r;
  ASSERT_TRUE(decode_packet(p, kLim, r)) << describe(kTypePacket, decode_packet(p, kLim, r));
  ASSERT_TRUE(r.signal);
  EXPECT_EQ(r.signal->signal_dbm, -50);
  EXPECT_EQ(r.signal->noise_dbm, -96);
  EXPECT_EQ(r.signal->signal_rssi, 200);
  EXPECT_FALSE(r.signal->noise_rssi);
  EXPECT_EQ(r.signal->freq_khz, 2437000u);
  EXPECT_EQ(r.signal->datarate, 540u);
  EXPECT_EQ(r.signal->channel, "6");
  ASSERT_TRUE(r.packet);
  EXPECT_EQ(r.packet->content.size(), 2u);
  EXPECT_FALSE(r.packet->dlt);
  EXPECT_FALSE(r.packet->ts_sec);
}

TEST(kismet_decode, integers_of_every_width_are_accepted) {
  // DLT 127 as fixint, uint8, uint16, uint32, uint64, int8, int16, int32, int64.
  for (const char* enc : {"7f", "cc 7f", "cd 007f", "ce 0000007f", "cf 000000000000007f", "d0 7f", "d1 007f",
                          "d2 0000007f", "d3 000000000000007f"}) {
    const bytes p = cat({hex("81 04 82 01"), hex(enc), hex("06 c4 00")});
    packet_report r;
    ASSERT_TRUE(decode_packet(p, kLim, r)) << enc;
    EXPECT_EQ(r.packet->dlt, 127u) << enc;
  }
}

TEST(kismet_decode, an_integer_too_wide_for_its_field_is_a_bad_value) {
  // DLT (uint32) = 2^32.
  const bytes p = hex("81 04 82 01 cf 0000000100000000 06 c4 00");
  packet_report r;
  const auto res = decode_packet(p, kLim, r);
  EXPECT_EQ(res.status, decode_status::bad_value);
  EXPECT_EQ(res.block, 4u);
  EXPECT_EQ(res.field, 1u);
  EXPECT_EQ(describe(kTypePacket, res), "PACKET block 4 field 1: bad_value");
}

TEST(kismet_decode, a_negative_integer_where_an_unsigned_one_belongs_is_a_bad_type) {
  message m;
  const auto res = decode_message(cat({hex("82 01 ff 02"), str("x")}), kLim, m);
  EXPECT_EQ(res.status, decode_status::bad_type);
  EXPECT_EQ(res.field, 1u);
  // And a severity that does not fit its byte.
  EXPECT_EQ(decode_message(cat({hex("82 01 cd 0100 02"), str("x")}), kLim, m).status, decode_status::bad_value);
}

TEST(kismet_decode, gps_block_without_its_time_is_missing_a_field) {
  // {1: {1: 1.0, 2: 2.0, 8: 1}}: no field 9.
  const bytes p = hex("81 01 83 01 cb 3ff0000000000000 02 cb 4000000000000000 08 01");
  packet_report r;
  const auto res = decode_packet(p, kLim, r);
  EXPECT_EQ(res.status, decode_status::missing_field);
  EXPECT_EQ(res.block, 1u);
  EXPECT_EQ(res.field, 9u);
}

TEST(kismet_decode, packet_block_without_content_is_missing_a_field) {
  packet_report r;
  const auto res = decode_packet(hex("81 04 82 01 69 04 0a"), kLim, r);
  EXPECT_EQ(res.status, decode_status::missing_field);
  EXPECT_EQ(res.block, 4u);
  EXPECT_EQ(res.field, 6u);
}

TEST(kismet_decode, newsource_without_a_uuid_is_refused) {
  newsource n;
  const auto res = decode_newsource(cat({hex("82 01"), str("wlan0"), hex("02"), str("linuxwifi")}), kLim, n);
  EXPECT_EQ(res.status, decode_status::missing_field);
  EXPECT_EQ(res.block, 0u);
  EXPECT_EQ(res.field, 3u);
  EXPECT_EQ(describe(kTypeNewSource, res), "NEWSOURCE field 3: missing_field");
}

TEST(kismet_decode, openreport_without_the_seqno_field_is_refused) {
  openreport o;
  EXPECT_EQ(decode_openreport(cat({hex("81 09"), str("opened")}), kLim, o).status, decode_status::missing_field);
}

TEST(kismet_decode, openreport_of_a_hopping_radio_has_channels_and_hop_block) {
  // {1: 7, 2: 127, 3: "wlan0mon", 4: ["1","6","11"], 5: "6", 7: "mt76",
  //  6: {5: ["1","6"], 1: 5.0f, 2: true, 4: 1, 3: 1, 6: true}}
  const bytes p = cat({hex("87 01 07 02 7f 03"), str("wlan0mon"), hex("04 93"), str("1"), str("6"), str("11"),
                       hex("05"), str("6"), hex("07"), str("mt76"),
                       hex("06 86 05 92"), str("1"), str("6"), hex("01 ca 40a00000 02 c3 04 01 03 01 06 c3")});
  openreport o;
  ASSERT_TRUE(decode_openreport(p, kLim, o));
  EXPECT_EQ(o.seqno, 7u);
  EXPECT_EQ(o.capture_interface, "wlan0mon");
  EXPECT_EQ(o.channels, (std::vector<std::string>{"1", "6", "11"}));
  EXPECT_EQ(o.channel, "6");
  EXPECT_EQ(o.hardware, "mt76");
  ASSERT_TRUE(o.hop);
  EXPECT_EQ(o.hop->channels, (std::vector<std::string>{"1", "6"}));
  EXPECT_EQ(o.hop->rate, 5.0f);
  EXPECT_EQ(o.hop->shuffle, true);
  EXPECT_EQ(o.hop->offset, 1u);
  EXPECT_EQ(o.hop->skip, 1u);
  EXPECT_EQ(o.hop->enabled, true);
}

TEST(kismet_decode, configreport_reads_a_hop_block_with_enabled_as_uint) {
  // Code 1, {1: 1001, 3: {5: ["1","6","11"], 1: 5.0f, 2: false, 4: 0, 3: 1, 6: 1}}
  const bytes p = cat({hex("82 01 cd 03e9 03 86 05 93"), str("1"), str("6"), str("11"),
                       hex("01 ca 40a00000 02 c2 04 00 03 01 06 01")});
  configreport r;
  ASSERT_TRUE(decode_configreport(p, kLim, r));
  EXPECT_EQ(r.seqno, 1001u);
  EXPECT_TRUE(r.channel.empty());
  ASSERT_TRUE(r.hop);
  EXPECT_EQ(r.hop->enabled, true);
  EXPECT_EQ(r.hop->shuffle, false);
  EXPECT_EQ(r.hop->channels.size(), 3u);
  // enabled = 2 is neither.
  const bytes bad = cat({hex("82 01 01 03 81 06 02")});
  const auto res = decode_configreport(bad, kLim, r);
  EXPECT_EQ(res.status, decode_status::bad_value);
  EXPECT_EQ(res.block, 3u);
  EXPECT_EQ(res.field, 6u);
}

TEST(kismet_decode, configreport_of_a_locked_radio_has_its_channel) {
  configreport r;
  ASSERT_TRUE(decode_configreport(cat({hex("83 01 02 02"), str("36VHT80"), hex("04"), str("")}), kLim, r));
  EXPECT_EQ(r.seqno, 2u);
  EXPECT_EQ(r.channel, "36VHT80");
  EXPECT_FALSE(r.hop);
  EXPECT_EQ(decode_configreport(cat({hex("81 02"), str("6")}), kLim, r).status, decode_status::missing_field);
}

TEST(kismet_decode, error_report_gives_its_text) {
  error_report e;
  ASSERT_TRUE(decode_error(cat({hex("81 01"), str("interface wlan9 not found")}), kLim, e));
  EXPECT_EQ(e.text, "interface wlan9 not found");
  EXPECT_EQ(decode_error(hex("80"), kLim, e).status, decode_status::missing_field);
}

TEST(kismet_decode, listreport_reads_interface_names_and_channels_four_deep) {
  // {1: 3, 4: "v", 2: [{1: "wlan0", 3: "mt7921e", 6: ["1","36"]}, {1: "wlan1", 2: "monitor"}]}
  const bytes p = cat({hex("83 01 03 04"), str("v"), hex("02 92 83 01"), str("wlan0"), hex("03"), str("mt7921e"),
                       hex("06 92"), str("1"), str("36"), hex("82 01"), str("wlan1"), hex("02"), str("monitor")});
  listreport l;
  ASSERT_TRUE(decode_listreport(p, kLim, l));
  ASSERT_EQ(l.interfaces.size(), 2u);
  EXPECT_EQ(l.interfaces[0].interface, "wlan0");
  EXPECT_EQ(l.interfaces[0].hardware, "mt7921e");
  EXPECT_EQ(l.interfaces[0].channels, (std::vector<std::string>{"1", "36"}));
  EXPECT_EQ(l.interfaces[1].interface, "wlan1");
  EXPECT_EQ(l.interfaces[1].flags, "monitor");
  // With a depth limit of 3 the channel list is one level too deep.
  EXPECT_EQ(decode_listreport(p, limits{.max_depth = 3}, l).status, decode_status::too_deep);
}

TEST(kismet_decode, probereport_reads_the_interface_it_probed) {
  const bytes p = cat({hex("83 03"), str(""), hex("01 cd 03ec 02 84 04"), str("wlan0mon"), hex("03"), str("ath9k"),
                       hex("05"), str("11"), hex("06 92"), str("1"), str("11")});
  probereport r;
  ASSERT_TRUE(decode_probereport(p, kLim, r));
  ASSERT_TRUE(r.interface);
  EXPECT_EQ(r.interface->capture_interface, "wlan0mon");
  EXPECT_EQ(r.interface->hardware, "ath9k");
  EXPECT_EQ(r.interface->channel, "11");
  EXPECT_EQ(r.interface->channels.size(), 2u);
}

TEST(kismet_decode, json_block_of_a_non_packet_source_is_read) {
  const bytes p = cat({hex("81 05 83 01"), str("RTL433"), hex("02 ce 65000000 04"), str("{\"a\":1}")});
  packet_report r;
  ASSERT_TRUE(decode_packet(p, kLim, r));
  ASSERT_TRUE(r.json);
  EXPECT_EQ(r.json->type, "RTL433");
  EXPECT_EQ(r.json->ts_sec, 0x65000000u);
  EXPECT_EQ(r.json->json, "{\"a\":1}");
  EXPECT_FALSE(r.packet);
}

TEST(kismet_decode, a_field_of_the_wrong_type_is_refused_with_its_place) {
  newsource n;
  // Definition as bin instead of str.
  auto res = decode_newsource(cat({hex("83 01 c4 01 41 02"), str("t"), hex("03"), str("u")}), kLim, n);
  EXPECT_EQ(res.status, decode_status::bad_type);
  EXPECT_EQ(res.field, 1u);
  // A packet block that is an array.
  packet_report r;
  res = decode_packet(hex("81 04 91 01"), kLim, r);
  EXPECT_EQ(res.status, decode_status::bad_type);
  EXPECT_EQ(res.block, 0u);
  EXPECT_EQ(res.field, 4u);
  // Content that is a number.
  res = decode_packet(hex("81 04 81 06 05"), kLim, r);
  EXPECT_EQ(res.status, decode_status::bad_type);
  EXPECT_EQ(res.block, 4u);
  EXPECT_EQ(res.field, 6u);
  // A channel list with a number in it.
  openreport o;
  res = decode_openreport(cat({hex("82 01 01 04 92"), str("1"), hex("06")}), kLim, o);
  EXPECT_EQ(res.status, decode_status::bad_type);
  EXPECT_EQ(res.field, 4u);
  // nil is no value.
  res = decode_openreport(hex("82 01 01 02 c0"), kLim, o);
  EXPECT_EQ(res.status, decode_status::bad_type);
  EXPECT_EQ(res.field, 2u);
}

TEST(kismet_decode, signal_beyond_int32_is_a_bad_value) {
  packet_report r;
  EXPECT_EQ(decode_packet(hex("81 02 81 01 cf 0000000100000000"), kLim, r).status, decode_status::bad_value);
  EXPECT_EQ(decode_packet(hex("81 02 81 01 d3 ffffffff7fffffff"), kLim, r).status, decode_status::bad_value);
  ASSERT_TRUE(decode_packet(hex("81 02 81 01 d2 80000000"), kLim, r));
  EXPECT_EQ(r.signal->signal_dbm, INT32_MIN);
}

TEST(kismet_decode, a_hop_rate_beyond_float_is_a_bad_value) {
  configreq c;
  const bytes p = cat({hex("81 02 82 01 cb 7fefffffffffffff 05 91"), str("1")});
  EXPECT_EQ(decode_configreq(p, kLim, c).status, decode_status::bad_value);
}

TEST(kismet_decode, a_known_field_twice_is_refused) {
  message m;
  const auto res = decode_message(cat({hex("83 01 02 02"), str("a"), hex("01 04")}), kLim, m);
  EXPECT_EQ(res.status, decode_status::duplicate_field);
  EXPECT_EQ(res.field, 1u);
}

TEST(kismet_decode, unknown_fields_and_non_integer_keys_are_skipped) {
  // {"x": {1: [1, 2, {3: 4}]}, 99: [nil, true, 1.5], 1: 4, 70000: "a",
  //  -1: ext, 2: "hi"}
  const bytes p = cat({hex("86"), str("x"), hex("81 01 93 01 02 81 03 04"), hex("63 93 c0 c3 cb 3ff8000000000000"),
                       hex("01 04"), hex("ce 00011170"), str("a"), hex("ff d4 01 00"), hex("02"), str("hi")});
  message m;
  ASSERT_TRUE(decode_message(p, kLim, m)) << describe(kTypeMessage, decode_message(p, kLim, m));
  EXPECT_EQ(m.severity, kMsgError);
  EXPECT_EQ(m.text, "hi");
}

TEST(kismet_decode, bytes_after_the_map_are_refused) {
  message m;
  EXPECT_EQ(decode_message(cat({hex("82 01 02 02"), str("a"), hex("00")}), kLim, m).status,
            decode_status::trailing_bytes);
}

TEST(kismet_decode, a_payload_that_is_not_a_map_is_refused) {
  newsource n;
  EXPECT_EQ(decode_newsource(hex("93 01 02 03"), kLim, n).status, decode_status::not_a_map);
  EXPECT_EQ(decode_newsource(str("NEWSOURCE"), kLim, n).status, decode_status::not_a_map);
  EXPECT_EQ(decode_newsource({}, kLim, n).status, decode_status::truncated);
}

TEST(kismet_decode, nesting_past_the_depth_limit_is_refused_without_recursion) {
  // An unknown field 9 holding arrays nested `n` deep (the map is depth 1).
  auto nested = [](std::size_t n) {
    bytes p = hex("81 09");
    p.insert(p.end(), n, 0x91);
    p.push_back(0x01);
    return p;
  };
  message m;
  packet_report r;
  EXPECT_EQ(decode_packet(nested(7), kLim, r).status, decode_status::ok);  // depths 2..8
  EXPECT_EQ(decode_packet(nested(8), kLim, r).status, decode_status::too_deep);
  // A million levels: refused at the limit, the stack never deepens.
  const auto res = decode_packet(nested(1'000'000), limits{.max_depth = 8, .max_elements = 2'000'000}, r);
  EXPECT_EQ(res.status, decode_status::too_deep);
  EXPECT_EQ(res.field, 9u);
  // A limit above what the reader supports is held at 32.
  EXPECT_EQ(decode_packet(nested(40), limits{.max_depth = 1000, .max_elements = 1000}, r).status,
            decode_status::too_deep);
}

TEST(kismet_decode, more_elements_than_the_limit_are_refused) {
  bytes p = hex("81 09 dc 1388");  // field 9: an array of 5000 fixints
  p.insert(p.end(), 5000, 0x01);
  packet_report r;
  EXPECT_EQ(decode_packet(p, kLim, r).status, decode_status::too_many_elements);
  EXPECT_TRUE(decode_packet(p, limits{.max_elements = 6000}, r));
}

TEST(kismet_decode, a_count_the_payload_cannot_hold_is_refused_at_once) {
  packet_report r;
  EXPECT_EQ(decode_packet(hex("df ffffffff 01"), kLim, r).status, decode_status::truncated);
  EXPECT_EQ(decode_packet(hex("81 09 dd ffffffff 01 02"), kLim, r).status, decode_status::truncated);
  EXPECT_EQ(decode_packet(hex("81 04 81 06 c6 ffffffff 00"), kLim, r).status, decode_status::truncated);
}

TEST(kismet_decode, the_reserved_byte_is_refused) {
  packet_report r;
  EXPECT_EQ(decode_packet(hex("81 09 c1"), kLim, r).status, decode_status::reserved_byte);
}

TEST(kismet_decode, every_truncation_of_a_real_payload_fails_inside_its_bounds) {
  for (const char* name : {"newsource.bin", "openreport.bin", "packet_radiotap_gps.bin", "message_eof.bin",
                           "probereport_probe.bin", "listreport_empty.bin"}) {
    const bytes b = real(name);
    const frame f = parse(b);
    const bytes payload(f.payload.begin(), f.payload.end());
    for (std::size_t n = 0; n < payload.size(); ++n) {
      const exact e(bytes(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n)));
      decode_result r;
      switch (f.header.type) {
        case kTypeNewSource: { newsource x; r = decode_newsource(e.span(), kLim, x); break; }
        case kTypeOpenReport: { openreport x; r = decode_openreport(e.span(), kLim, x); break; }
        case kTypePacket: { packet_report x; r = decode_packet(e.span(), kLim, x); break; }
        case kTypeMessage: { message x; r = decode_message(e.span(), kLim, x); break; }
        case kTypeProbeReport: { probereport x; r = decode_probereport(e.span(), kLim, x); break; }
        case kTypeListReport: { listreport x; r = decode_listreport(e.span(), kLim, x); break; }
      }
      EXPECT_EQ(r.status, decode_status::truncated) << name << " at " << n;
    }
  }
}

TEST(kismet_decode, ping_payload_is_nothing_or_one_map) {
  EXPECT_TRUE(decode_empty({}, kLim));
  EXPECT_TRUE(decode_empty(hex("80"), kLim));
  EXPECT_TRUE(decode_empty(hex("81 01 02"), kLim));
  EXPECT_EQ(decode_empty(hex("01"), kLim).status, decode_status::not_a_map);
  EXPECT_EQ(decode_empty(hex("80 80"), kLim).status, decode_status::trailing_bytes);
}

TEST(kismet_decode, a_decoder_starts_from_an_empty_result) {
  const bytes gps = real("packet_radiotap_gps.bin"), plain = real("packet_dot11.bin");
  packet_report r;
  ASSERT_TRUE(decode_packet(parse(gps).payload, kLim, r));
  ASSERT_TRUE(r.gps);
  ASSERT_TRUE(decode_packet(parse(plain).payload, kLim, r));
  EXPECT_FALSE(r.gps);
  listreport l;
  l.interfaces.resize(3);
  l.message = "old";
  ASSERT_TRUE(decode_listreport(parse(real("listreport_empty.bin")).payload, kLim, l));
  EXPECT_TRUE(l.interfaces.empty());
  EXPECT_TRUE(l.message.empty());
}

// ---- Encoders, and back -----------------------------------------------------------

TEST(kismet_encode, openreq_is_what_kismets_server_sends_and_reads_back) {
  std::vector<std::uint8_t> out;
  const std::string def = "aircrack_wep.shared.key.authentication.cap:name=k1";
  ASSERT_EQ(encode_openreq(out, 1000, def), encode_status::ok);
  const frame f = parse(out);
  EXPECT_EQ(f.header.type, kTypeOpenReq);
  EXPECT_EQ(f.header.code, kCodeOk);
  EXPECT_EQ(f.header.seqno, 1000u);
  EXPECT_EQ(f.size(), out.size());
  // {1: definition}: the bytes the tool accepted when the research server sent them.
  EXPECT_EQ(bytes(f.payload.begin(), f.payload.end()), cat({hex("81 01"), str(def)}));
  openreq r;
  ASSERT_TRUE(decode_openreq(f.payload, kLim, r));
  EXPECT_EQ(r.definition, def);
}

TEST(kismet_encode, ping_pong_and_listreq_are_bare_headers_with_code_1) {
  std::vector<std::uint8_t> out;
  encode_ping(out, 4242);
  EXPECT_EQ(out, hex("DECAFBAD A9A9 0003 00000000 0002 0001 00001092"));
  encode_pong(out, 7);
  EXPECT_EQ(out, hex("DECAFBAD A9A9 0003 00000000 0003 0001 00000007"));
  encode_listreq(out, 0xffffffff);
  const frame f = parse(out);
  EXPECT_EQ(f.header.type, kTypeListReq);
  EXPECT_EQ(f.header.seqno, 0xffffffffu);
  EXPECT_TRUE(decode_empty(f.payload, kLim));
}

TEST(kismet_encode, configreq_lock_to_one_channel_round_trips) {
  std::vector<std::uint8_t> out;
  ASSERT_EQ(encode_configreq_channel(out, 1001, "6"), encode_status::ok);
  const frame f = parse(out);
  EXPECT_EQ(f.header.type, kTypeConfigReq);
  EXPECT_EQ(bytes(f.payload.begin(), f.payload.end()), hex("81 01 a1 36"));
  configreq c;
  ASSERT_TRUE(decode_configreq(f.payload, kLim, c));
  EXPECT_EQ(c.channel, "6");
  EXPECT_FALSE(c.hop);
}

TEST(kismet_encode, configreq_hop_block_is_written_as_kismets_server_writes_it) {
  hop_config hop;
  hop.rate = 5.0f;
  hop.shuffle = false;
  hop.offset = 0;
  hop.channels = {"1", "6", "11"};
  std::vector<std::uint8_t> out;
  ASSERT_EQ(encode_configreq_hop(out, 1005, hop), encode_status::ok);
  const frame f = parse(out);
  EXPECT_EQ(bytes(f.payload.begin(), f.payload.end()),
            cat({hex("81 02 84 01 ca 40a00000 02 c2 04 00 05 93"), str("1"), str("6"), str("11")}));
  configreq c;
  ASSERT_TRUE(decode_configreq(f.payload, kLim, c));
  ASSERT_TRUE(c.hop);
  EXPECT_EQ(*c.hop, hop);
  EXPECT_FALSE(c.channel);
}

TEST(kismet_encode, configreq_hop_block_with_every_field_round_trips) {
  hop_config hop;
  hop.rate = 0.25f;
  hop.shuffle = true;
  hop.skip = 3;
  hop.offset = 40000;
  for (int i = 0; i < 40; ++i) hop.channels.push_back(std::to_string(i + 1) + (i % 2 ? "HT40+" : ""));
  std::vector<std::uint8_t> out;
  ASSERT_EQ(encode_configreq_hop(out, 1, hop), encode_status::ok);
  configreq c;
  ASSERT_TRUE(decode_configreq(parse(out).payload, kLim, c));
  ASSERT_TRUE(c.hop);
  EXPECT_EQ(*c.hop, hop);
  // Only the channels: every other field is "keep what you have".
  hop_config bare;
  bare.channels = {"36VHT80"};
  ASSERT_EQ(encode_configreq_hop(out, 2, bare), encode_status::ok);
  ASSERT_TRUE(decode_configreq(parse(out).payload, kLim, c));
  EXPECT_EQ(*c.hop, bare);
}

TEST(kismet_encode, what_the_tool_would_refuse_is_not_encoded) {
  std::vector<std::uint8_t> out = {1, 2, 3};
  EXPECT_EQ(encode_openreq(out, 1, ""), encode_status::empty);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(encode_openreq(out, 1, std::string(kToolMaxDefinition, 'a')), encode_status::string_too_long);
  EXPECT_EQ(encode_openreq(out, 1, std::string(kToolMaxDefinition - 1, 'a')), encode_status::ok);
  EXPECT_EQ(encode_openreq(out, 1, std::string("wlan0\0x", 7)), encode_status::string_has_nul);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(encode_configreq_channel(out, 1, std::string(kToolMaxChannel, '1')), encode_status::string_too_long);
  hop_config hop;
  EXPECT_EQ(encode_configreq_hop(out, 1, hop), encode_status::empty);
  hop.channels = {"1", ""};
  EXPECT_EQ(encode_configreq_hop(out, 1, hop), encode_status::empty);
  hop.channels = {"1", std::string(kToolMaxHopChannel, '6')};
  EXPECT_EQ(encode_configreq_hop(out, 1, hop), encode_status::string_too_long);
  hop.channels = {"1"};
  for (const float bad : {0.0f, -1.0f, NAN, INFINITY}) {
    hop.rate = bad;
    EXPECT_EQ(encode_configreq_hop(out, 1, hop), encode_status::bad_rate) << bad;
  }
  // A plan of 1500 channels does not fit one of Kismet's frames.
  hop.rate = 5;
  hop.channels.assign(1500, "36VHT80-5210");
  EXPECT_EQ(encode_configreq_hop(out, 1, hop), encode_status::too_large);
  EXPECT_TRUE(out.empty());
}

TEST(kismet_encode, an_encoder_replaces_what_the_buffer_held_and_keeps_its_capacity) {
  std::vector<std::uint8_t> out;
  out.reserve(4096);
  const auto* before = out.data();
  ASSERT_EQ(encode_openreq(out, 1, "wlan1:name=roof"), encode_status::ok);
  encode_ping(out, 2);
  EXPECT_EQ(out.size(), kHeaderBytes);
  EXPECT_EQ(out.data(), before);
}

TEST(kismet_decode, configreq_without_channel_or_hop_list_is_refused) {
  configreq c;
  EXPECT_EQ(decode_configreq(hex("80"), kLim, c).status, decode_status::missing_field);
  auto res = decode_configreq(hex("81 02 81 01 ca 40a00000"), kLim, c);
  EXPECT_EQ(res.status, decode_status::missing_field);
  EXPECT_EQ(res.block, 2u);
  EXPECT_EQ(res.field, 5u);
  res = decode_configreq(hex("81 02 81 05 90"), kLim, c);
  EXPECT_EQ(res.status, decode_status::bad_value);
  EXPECT_EQ(res.block, 2u);
}

TEST(kismet_names, every_status_and_type_has_a_name) {
  EXPECT_STREQ(type_name(kTypeConfigReport), "CONFIGREPORT");
  EXPECT_STREQ(type_name(999), "unknown");
  EXPECT_STREQ(status_name(header_status::v2_frame), "v2_frame");
  EXPECT_STREQ(status_name(decode_status::too_deep), "too_deep");
  EXPECT_STREQ(status_name(encode_status::bad_rate), "bad_rate");
  EXPECT_EQ(describe(999, {decode_status::truncated, 0, 0}), "type 999: truncated");
}

}  // namespace
}  // namespace hopwire::collector::kismet

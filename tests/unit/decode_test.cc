// Capture-header and 802.11 decoding: the cases real captures do not cover
// (vendor namespaces, bad FCS, truncation) and the ones that must be exact
// (RSN suites, EAPOL message numbers).

#include <gtest/gtest.h>
#include <zlib.h>

#include <vector>

#include "collector/api/device_json.h"
#include "collector/decode/dot11_frame.h"
#include "collector/decode/radio_header.h"

using namespace hopwire;
using namespace hopwire::collector;

namespace {

using bytes = std::vector<std::uint8_t>;

bytes beacon_body(const bytes& elements) {
  bytes f = {0x80, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0x10, 0};
  f.resize(f.size() + 8, 0);               // timestamp
  f.push_back(100), f.push_back(0);        // interval
  f.push_back(0x11), f.push_back(0x00);    // ESS, privacy
  f.insert(f.end(), elements.begin(), elements.end());
  return f;
}

void append_fcs(bytes& f) {
  const auto crc = static_cast<std::uint32_t>(crc32(0L, f.data(), static_cast<uInt>(f.size())));
  for (int i = 0; i < 4; ++i) f.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
}

}  // namespace

TEST(radiotap, vendor_namespace_is_skipped_and_fields_after_it_are_read) {
  // Word 0: flags(1) + vendor ns(30) + ext(31); word 1 (vendor): ext + radiotap ns(29);
  // word 2 (radiotap again): channel(3) + dbm signal(5).
  bytes h = {0, 0, 0, 0};
  auto word = [&](std::uint32_t w) {
    for (int i = 0; i < 4; ++i) h.push_back(static_cast<std::uint8_t>(w >> (8 * i)));
  };
  word((1u << 1) | (1u << 30) | (1u << 31));
  word((1u << 29) | (1u << 31) | 0x1);  // vendor bits: content unknown to us
  word((1u << 3) | (1u << 5));
  h.push_back(0x00);                      // flags at 16
  h.push_back(0);                         // align 2
  h.insert(h.end(), {0x00, 0x11, 0x22, 0x01, 0x03, 0x00});  // vendor ns: OUI, sub ns, skip 3
  h.insert(h.end(), {0xaa, 0xbb, 0xcc});  // vendor data
  while (h.size() % 2) h.push_back(0);
  h.insert(h.end(), {0x6c, 0x09, 0xa0, 0x00});  // channel 2412
  h.push_back(static_cast<std::uint8_t>(-42));
  h[2] = static_cast<std::uint8_t>(h.size());
  const bytes frame = beacon_body({0, 3, 'a', 'b', 'c'});
  h.insert(h.end(), frame.begin(), frame.end());
  anomaly_counters an;
  radio_info r;
  std::span<const std::uint8_t> out;
  ASSERT_EQ(decode_radio_header(kDltRadiotap, h, r, out, an), header_status::ok);
  EXPECT_EQ(r.freq_mhz, 2412u);
  ASSERT_TRUE(r.has_signal);
  EXPECT_EQ(r.signal_dbm, -42);
  EXPECT_EQ(out.size(), frame.size());
}

TEST(radiotap, header_longer_than_packet_is_truncated_and_counted) {
  const bytes h = {0, 0, 40, 0, 0x02, 0, 0, 0, 0x10};
  anomaly_counters an;
  radio_info r;
  std::span<const std::uint8_t> out;
  EXPECT_EQ(decode_radio_header(kDltRadiotap, h, r, out, an), header_status::truncated);
  EXPECT_EQ(an.radiotap_truncated.load(), 1u);
}

TEST(radiotap, wrong_fcs_marks_the_frame_bad) {
  bytes frame = beacon_body({0, 1, 'x'});
  append_fcs(frame);
  bytes good = {0, 0, 9, 0, 0x02, 0, 0, 0, 0x10};  // flags: FCS at end
  good.insert(good.end(), frame.begin(), frame.end());
  bytes bad = good;
  bad.back() ^= 0xff;
  anomaly_counters an;
  radio_info r1, r2;
  std::span<const std::uint8_t> out;
  ASSERT_EQ(decode_radio_header(kDltRadiotap, good, r1, out, an), header_status::ok);
  EXPECT_FALSE(r1.fcs_bad);
  EXPECT_EQ(out.size(), frame.size() - 4);
  ASSERT_EQ(decode_radio_header(kDltRadiotap, bad, r2, out, an), header_status::ok);
  EXPECT_TRUE(r2.fcs_bad);
  EXPECT_EQ(an.fcs_bad.load(), 1u);
}

TEST(radio_header, unknown_link_type_is_counted) {
  const bytes p = {1, 2, 3};
  anomaly_counters an;
  radio_info r;
  std::span<const std::uint8_t> out;
  EXPECT_EQ(decode_radio_header(1, p, r, out, an), header_status::unknown_linktype);
  EXPECT_EQ(an.unknown_linktype.load(), 1u);
}

TEST(elements, rsn_with_sae_and_psk_and_mfp_is_read) {
  const bytes rsn = {48, 24, 1, 0, 0x00, 0x0f, 0xac, 4, 1, 0, 0x00, 0x0f, 0xac, 4,
                     2, 0, 0x00, 0x0f, 0xac, 2, 0x00, 0x0f, 0xac, 8, 0xc0, 0x00};
  element_info ie;
  anomaly_counters an;
  parse_elements(rsn, ie, an);
  ASSERT_TRUE(ie.rsn.present);
  EXPECT_EQ(ie.rsn.akms, kAkmPsk | kAkmSae);
  EXPECT_EQ(ie.rsn.pairwise, kCipherCcmp128);
  EXPECT_TRUE(ie.rsn.mfpc);
  EXPECT_TRUE(ie.rsn.mfpr);
  EXPECT_FALSE(ie.malformed);
  EXPECT_EQ(crypt_summary(kSecRsn | kSecPrivacy, ie.rsn.akms), "WPA2/WPA3");
}

TEST(elements, truncated_element_keeps_what_came_before) {
  const bytes e = {0, 4, 'h', 'o', 'm', 'e', 3, 1, 11, 48, 20, 1, 0};
  element_info ie;
  anomaly_counters an;
  parse_elements(e, ie, an);
  ASSERT_TRUE(ie.has_ssid);
  EXPECT_EQ(std::string(ie.ssid.begin(), ie.ssid.end()), "home");
  EXPECT_EQ(ie.ds_channel, 11);
  EXPECT_TRUE(ie.malformed);
  EXPECT_EQ(an.ie_truncated.load(), 1u);
}

TEST(dot11, four_address_data_has_no_bssid) {
  bytes f = {0x08, 0x03, 0, 0};
  for (int a = 1; a <= 3; ++a) f.insert(f.end(), {0, 0, 0, 0, 0, static_cast<std::uint8_t>(a)});
  f.insert(f.end(), {0, 0});
  f.insert(f.end(), {0, 0, 0, 0, 0, 4});
  dot11_frame d;
  anomaly_counters an;
  ASSERT_TRUE(decode_dot11(f, false, d, an));
  EXPECT_EQ(d.naddr, 4);
  EXPECT_FALSE(d.has_bssid);
  EXPECT_EQ(d.ta.v, 2u);
  EXPECT_EQ(d.sa.v, 4u);
}

TEST(dot11, frame_shorter_than_its_header_is_refused) {
  const bytes f = {0x88, 0x01, 0, 0, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 0, 0};  // QoS: needs 26
  dot11_frame d;
  anomaly_counters an;
  EXPECT_FALSE(decode_dot11(f, false, d, an));
  EXPECT_EQ(an.dot11_truncated.load(), 1u);
}

namespace {

// A ToDS data frame carrying EAPOL-Key with the given key information and key data length.
bytes eapol_frame(std::uint16_t key_info, std::uint16_t key_data_len, bool zero_nonce) {
  bytes f = {0x08, 0x01, 0, 0};
  for (int a = 1; a <= 3; ++a) f.insert(f.end(), {0, 0, 0, 0, 0, static_cast<std::uint8_t>(a)});
  f.insert(f.end(), {0, 0});
  f.insert(f.end(), {0xaa, 0xaa, 0x03, 0, 0, 0, 0x88, 0x8e, 2, 3, 0, 95});
  f.push_back(2);
  f.push_back(static_cast<std::uint8_t>(key_info >> 8));
  f.push_back(static_cast<std::uint8_t>(key_info));
  f.insert(f.end(), {0, 16});
  f.resize(f.size() + 8, 0);                // replay counter
  f.resize(f.size() + 32, zero_nonce ? 0 : 0x5a);
  f.resize(f.size() + 16 + 8 + 8 + 16, 0);  // iv, rsc, id, mic
  f.push_back(static_cast<std::uint8_t>(key_data_len >> 8));
  f.push_back(static_cast<std::uint8_t>(key_data_len));
  f.resize(f.size() + key_data_len, 0x30);
  return f;
}

int message_of(const bytes& f) {
  dot11_frame d;
  anomaly_counters an;
  EXPECT_TRUE(decode_dot11(f, false, d, an));
  EXPECT_TRUE(d.eapol.is_key);
  return d.eapol.message;
}

}  // namespace

TEST(eapol, four_way_handshake_messages_are_numbered) {
  EXPECT_EQ(message_of(eapol_frame(0x008a, 0, false)), 1);   // pairwise, ack
  EXPECT_EQ(message_of(eapol_frame(0x010a, 22, false)), 2);  // pairwise, mic, key data
  EXPECT_EQ(message_of(eapol_frame(0x13ca, 56, false)), 3);  // pairwise, install, ack, mic, secure
  EXPECT_EQ(message_of(eapol_frame(0x030a, 0, true)), 4);    // pairwise, mic, secure
  EXPECT_EQ(message_of(eapol_frame(0x0382, 0, true)), 0);    // group key message: not 4-way
}

TEST(ssid_text, invalid_utf8_is_escaped_and_valid_kept) {
  EXPECT_EQ(ssid_text(std::string("caf\xc3\xa9")), "caf\xc3\xa9");
  EXPECT_EQ(ssid_text(std::string("\xc6net")), "\\xc6net");
  EXPECT_EQ(ssid_text(std::string("\xe2\x82")), "\\xe2\\x82");  // cut-off sequence
}

TEST(device_key, round_trips_and_rejects_junk) {
  const mac_addr m{0xaabbccddeeffULL};
  const auto k = device_key(m);
  EXPECT_EQ(k, "4202770D00000000_0000AABBCCDDEEFF");
  ASSERT_TRUE(parse_device_key(k));
  EXPECT_EQ(parse_device_key(k)->v, m.v);
  EXPECT_FALSE(parse_device_key("4202770D00000000_0001AABBCCDDEEFF"));
  EXPECT_FALSE(parse_device_key("nonsense"));
}

// libFuzzer target over Kismet's v3 codec (collector/link/kismet_frame.h):
// the frame header, the msgpack reader and every typed decoder, and the
// encoders on what the decoders return.
//
// Input: if it starts with Kismet's signature (DE CA FB AD), a byte stream as
// the legacy TCP link carries it — frames back to back — and each frame's
// payload goes to every decoder, whatever its type says. Otherwise the
// whole input is one payload, given to every decoder (so the fuzzer reaches
// the msgpack reader without having to build headers first). Seeds:
// tests/fuzz/corpus/kismet_frame/ (make_kismet_seeds.py writes them).
//
// Oracles, besides the sanitizers:
//  - the header parser agrees with itself: a prefix of the input that is
//    refused is refused for the same reason whole, and a frame that is ok
//    whole needs more on every shorter prefix;
//  - what a decoder hands out as a view (packet content, strings) lies
//    inside the payload;
//  - what an encoder accepts, our decoder reads back equal (OPENREQ from a
//    NEWSOURCE's definition, CONFIGREQ from any hop block or channel, a
//    PONG for every frame's seqno);
//  - every refusal can be described for the log.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "collector/link/kismet_frame.h"

using namespace hopwire::collector::kismet;

namespace {

constexpr limits kDefault{};
constexpr limits kTight{.max_depth = 3, .max_elements = 64};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "kismet_frame_fuzz: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

bool inside(std::span<const std::uint8_t> in, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return n == 0 || (b >= in.data() && b + n <= in.data() + in.size());
}
bool inside(std::span<const std::uint8_t> in, std::string_view s) { return inside(in, s.data(), s.size()); }

std::vector<std::uint8_t> g_out;  // the encoders' buffer, reused as a link would

void round_trip_openreq(const std::string& definition) {
  if (encode_openreq(g_out, 1, definition) != encode_status::ok) {
    check(g_out.empty(), "refused OPENREQ left bytes");
    return;
  }
  frame f;
  check(parse_frame(g_out, kKismetMaxPayload, f) == header_status::ok, "our OPENREQ does not parse");
  check(f.header.type == kTypeOpenReq && f.size() == g_out.size(), "our OPENREQ header");
  openreq r;
  check(decode_openreq(f.payload, kDefault, r).ok(), "our OPENREQ does not decode");
  check(r.definition == definition, "OPENREQ definition changed");
}

void round_trip_hop(hop_config hop) {
  hop.enabled.reset();  // reports only; never sent
  if (encode_configreq_hop(g_out, 2, hop) != encode_status::ok) {
    check(g_out.empty(), "refused CONFIGREQ left bytes");
    return;
  }
  frame f;
  check(parse_frame(g_out, kKismetMaxPayload, f) == header_status::ok, "our CONFIGREQ does not parse");
  configreq r;
  check(decode_configreq(f.payload, kDefault, r).ok(), "our CONFIGREQ does not decode");
  check(r.hop && !r.channel, "CONFIGREQ hop block lost");
  check(*r.hop == hop, "CONFIGREQ hop block changed");
}

void round_trip_channel(const std::string& channel) {
  if (encode_configreq_channel(g_out, 3, channel) != encode_status::ok) {
    check(g_out.empty(), "refused CONFIGREQ left bytes");
    return;
  }
  frame f;
  check(parse_frame(g_out, kKismetMaxPayload, f) == header_status::ok, "our CONFIGREQ does not parse");
  configreq r;
  check(decode_configreq(f.payload, kDefault, r).ok(), "our CONFIGREQ does not decode");
  check(r.channel == channel && !r.hop, "CONFIGREQ channel changed");
}

// A refusal must be describable (it goes to the log and the message bus).
void describe_refusal(std::uint16_t type, const decode_result& r) {
  if (!r.ok()) check(!describe(type, r).empty(), "empty description");
}

// Every decoder on one payload. `type` is the header's (0: no header); a
// NEWSOURCE's definition goes back out as an OPENREQ, as the link does.
void decode_all(std::span<const std::uint8_t> p, std::uint16_t type) {
  {
    newsource x;
    const auto r = decode_newsource(p, kDefault, x);
    describe_refusal(type, r);
    if (r.ok() && (type == kTypeNewSource || type == 0)) round_trip_openreq(x.definition);
  }
  {
    openreport x;
    if (decode_openreport(p, kDefault, x).ok() && x.hop) round_trip_hop(*x.hop);
  }
  {
    configreport x;
    if (decode_configreport(p, kDefault, x).ok()) {
      if (x.hop) round_trip_hop(*x.hop);
      if (!x.channel.empty()) round_trip_channel(x.channel);
    }
  }
  {
    message x;
    describe_refusal(type, decode_message(p, kDefault, x));
    error_report e;
    describe_refusal(type, decode_error(p, kDefault, e));
  }
  {
    probereport x;
    describe_refusal(type, decode_probereport(p, kDefault, x));
    listreport l;
    describe_refusal(type, decode_listreport(p, kDefault, l));
    describe_refusal(type, decode_listreport(p, kTight, l));
  }
  for (const limits* lim : {&kDefault, &kTight}) {
    packet_report x;
    if (!decode_packet(p, *lim, x).ok()) continue;
    if (x.packet) check(inside(p, x.packet->content.data(), x.packet->content.size()), "content outside payload");
    if (x.signal) check(inside(p, x.signal->channel), "signal channel outside payload");
    if (x.gps)
      check(inside(p, x.gps->type) && inside(p, x.gps->name) && inside(p, x.gps->uuid), "gps text outside payload");
    if (x.json) check(inside(p, x.json->type) && inside(p, x.json->json), "json outside payload");
  }
  describe_refusal(type, decode_empty(p, kDefault));
  {
    openreq x;
    if (decode_openreq(p, kDefault, x).ok()) round_trip_openreq(x.definition);
  }
  {
    configreq x;
    if (decode_configreq(p, kDefault, x).ok()) {
      if (x.hop) round_trip_hop(*x.hop);
      if (x.channel) round_trip_channel(*x.channel);
    }
  }
}

// The header parser on every prefix up to a little past the header.
void check_prefixes(std::span<const std::uint8_t> in) {
  frame whole;
  const header_status all = parse_frame(in, kKismetMaxPayload, whole);
  const std::size_t upto = std::min<std::size_t>(in.size(), kHeaderBytes + 4);
  for (std::size_t n = 0; n < upto; ++n) {
    frame f;
    const header_status s = parse_frame(in.first(n), kKismetMaxPayload, f);
    if (s != header_status::need_more) check(s == all, "a prefix is refused for another reason than the whole");
    if (all == header_status::ok && n < whole.size()) check(s == header_status::need_more, "a short frame is ok");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  check_prefixes(in);
  const bool stream = size >= 4 && data[0] == 0xde && data[1] == 0xca && data[2] == 0xfb && data[3] == 0xad;
  if (!stream) {
    decode_all(in, 0);
    return 0;
  }
  std::span<const std::uint8_t> rest = in;
  while (!rest.empty()) {
    frame f;
    if (parse_frame(rest, kKismetMaxPayload, f) != header_status::ok) break;
    check(f.size() <= rest.size() && f.payload.data() == rest.data() + kHeaderBytes, "frame outside input");
    decode_all(f.payload, f.header.type);
    // Answered as the link answers a PING: the seqno comes back.
    encode_pong(g_out, f.header.seqno);
    frame pong;
    check(parse_frame(g_out, 0, pong) == header_status::ok && pong.header.seqno == f.header.seqno &&
              pong.header.type == kTypePong && pong.payload.empty(),
          "our PONG");
    rest = rest.subspan(f.size());
  }
  return 0;
}

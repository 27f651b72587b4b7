#pragma once
// Kismet's v3 external protocol, the codec only: the 20-byte frame header,
// typed decoders for what Kismet's capture tools (kismet_cap_*) send, and
// encoders for what a Kismet server sends them. No sockets, no sessions.
// Facts from Kismet 2025-09-R1 (kis_external_packet.h, capture_framework.c,
// kis_datasource.cc) and from frames its tools sent (tests/data/kismet/);
// the code is ours (Kismet is GPL; nothing of it is copied here).
//
// A frame is the header (all fields big-endian) and then `length` bytes of
// payload: one msgpack map whose keys are small unsigned field ids, values
// scalars or nested maps ("blocks"). PING, PONG and LISTREQ have no payload.
//
// The msgpack reader is our own, not libmsgpackc's unpacker, because:
//  - msgpack-c builds an object tree in a zone it mallocs per message, with
//    each container's array sized from the count the sender declares before
//    any element is seen (the five bytes `dd 0f ff ff ff` make it ask for
//    some 6 GB; tried, under a memory limit); ours allocates nothing but the
//    strings and vectors of the result;
//  - its nesting limit is a compile-time constant (32) and every failure is
//    one "parse error"; ours takes depth and element limits per call and says
//    which block and field were wrong, and how;
//  - we read only a small subset (maps with integer keys), in one pass, and a
//    reader this small is cheap to fuzz whole.
// Lenient where Kismet's server is (any integer width for any integer field,
// unknown fields and non-integer keys skipped), strict where it is (a field
// of the wrong type, a duplicated field, a missing required field), and
// stricter in one place: bytes after the map are an error, not ignored.
//
// Every decoder takes the payload (the bytes after the header), never
// throws, never reads past its end, and resets `out` first. Strings in the
// PACKET result are views into the payload (the hot path allocates nothing);
// every other result owns its strings.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hopwire::collector::kismet {

// ---- Frame header ----------------------------------------------------------

inline constexpr std::size_t kHeaderBytes = 20;
inline constexpr std::uint32_t kSignature = 0xDECAFBAD;
inline constexpr std::uint16_t kSentinelV3 = 0xA9A9;
inline constexpr std::uint16_t kVersion3 = 3;
// A v2 frame shares the first 12 bytes' layout but has this sentinel and
// version 2; Kismet's tools answer only a v2 PING with it.
inline constexpr std::uint16_t kSentinelV2 = 0xABCD;
inline constexpr std::uint16_t kVersion2 = 2;
// Kismet's server refuses a frame (header and payload) of 16384 bytes or
// more, and never sends one; the largest payload it accepts is therefore:
inline constexpr std::uint32_t kKismetMaxFrameBytes = 16384;
inline constexpr std::uint32_t kKismetMaxPayload = kKismetMaxFrameBytes - kHeaderBytes - 1;

// Packet types (the header's `type`).
inline constexpr std::uint16_t kTypeRegister = 1;
inline constexpr std::uint16_t kTypePing = 2;
inline constexpr std::uint16_t kTypePong = 3;
inline constexpr std::uint16_t kTypeShutdown = 4;
inline constexpr std::uint16_t kTypeMessage = 5;
inline constexpr std::uint16_t kTypeError = 6;
inline constexpr std::uint16_t kTypeProbeReq = 10;
inline constexpr std::uint16_t kTypeProbeReport = 11;
inline constexpr std::uint16_t kTypeOpenReq = 12;
inline constexpr std::uint16_t kTypeOpenReport = 13;
inline constexpr std::uint16_t kTypeListReq = 14;
inline constexpr std::uint16_t kTypeListReport = 15;
inline constexpr std::uint16_t kTypePacket = 16;
inline constexpr std::uint16_t kTypeConfigReq = 17;
inline constexpr std::uint16_t kTypeConfigReport = 18;
inline constexpr std::uint16_t kTypeNewSource = 19;

// "NEWSOURCE", ..., or "unknown".
const char* type_name(std::uint16_t type);

// Header `code`: a report's success flag (1 ok, 0 failed); Kismet's server
// puts 1 on everything it sends.
inline constexpr std::uint16_t kCodeFail = 0;
inline constexpr std::uint16_t kCodeOk = 1;

// MESSAGE severities (field 1), as Kismet's message bus has them.
inline constexpr std::uint8_t kMsgDebug = 1;
inline constexpr std::uint8_t kMsgInfo = 2;
inline constexpr std::uint8_t kMsgError = 4;
inline constexpr std::uint8_t kMsgAlert = 8;
inline constexpr std::uint8_t kMsgFatal = 16;

struct frame_header {
  std::uint32_t length = 0;  // payload bytes, header not included
  std::uint16_t type = 0;
  std::uint16_t code = 0;
  std::uint32_t seqno = 0;
  bool operator==(const frame_header&) const = default;
};

struct frame {
  frame_header header;
  std::span<const std::uint8_t> payload;  // into the parsed input
  std::size_t size() const { return kHeaderBytes + payload.size(); }
};

enum class header_status : std::uint8_t {
  ok,
  need_more,      // fewer than 20 bytes, or the payload is not all there yet
  bad_signature,  // bytes 0-3 are not DECAFBAD
  bad_sentinel,   // bytes 4-5 are neither A9A9 nor a v2 frame's
  v2_frame,       // sentinel ABCD, version 2: Kismet's older protocol
  bad_version,    // sentinel A9A9, version not 3
  too_large,      // length > max_payload
};
const char* status_name(header_status s);

// Reads the frame at the start of `in`. Each field is checked as soon as its
// bytes are there, so garbage is refused after four bytes, not twenty. On ok
// `out.payload` is the payload; on need_more with 20 bytes or more, and on
// too_large, `out.header` is filled (the caller knows what to wait for or
// what to log). Bytes after the frame are the caller's (the next frame).
header_status parse_frame(std::span<const std::uint8_t> in, std::uint32_t max_payload, frame& out);

// Writes the 20 header bytes.
void write_header(std::span<std::uint8_t, kHeaderBytes> out, const frame_header& h);

// ---- Decoding results -------------------------------------------------------

struct limits {
  // Containers may nest this deep, the payload's map being depth 1. The
  // deepest legitimate payload (LISTREPORT's per-interface channel lists)
  // is 4.
  unsigned max_depth = 8;
  // Values of any kind (keys, scalars, containers) in one payload.
  std::uint32_t max_elements = 4096;
};

enum class decode_status : std::uint8_t {
  ok,
  truncated,          // a value runs past the end, or the payload is empty
  not_a_map,          // the payload is something else than one map
  bad_type,           // a known field (or a map key's place) has the wrong msgpack type
  bad_value,          // right type, impossible value (out of range, empty list)
  missing_field,      // a field the receiver needs is absent
  duplicate_field,    // a known field twice in one map
  too_deep,           // nesting past limits::max_depth
  too_many_elements,  // more values than limits::max_elements
  trailing_bytes,     // bytes after the map
  reserved_byte,      // 0xc1, which msgpack never uses
};
const char* status_name(decode_status s);

struct decode_result {
  decode_status status = decode_status::ok;
  // Where: `block` is the top-level field id of the block the problem is in
  // (0: the top-level map itself), `field` the field id within it (0: the
  // map as a whole).
  std::uint16_t block = 0;
  std::uint16_t field = 0;

  bool ok() const { return status == decode_status::ok; }
  explicit operator bool() const { return ok(); }
};

// For logs and error messages: "NEWSOURCE field 3: missing_field",
// "PACKET block 2 field 1: bad_type", "PING: trailing_bytes".
std::string describe(std::uint16_t type, const decode_result& r);

// ---- Tool -> server messages ------------------------------------------------

// NEWSOURCE: the first frame a tool sends. All three fields are required.
struct newsource {
  std::string definition;   // 1: the tool's --source text, verbatim
  std::string source_type;  // 2: "pcapfile", "linuxwifi", ...
  std::string uuid;         // 3
};
decode_result decode_newsource(std::span<const std::uint8_t> payload, const limits& lim, newsource& out);

// Channel-hop block: CONFIGREQ field 2, OPENREPORT field 6, CONFIGREPORT
// field 3. Absent fields stay empty; in a CONFIGREQ they mean "keep what you
// have" to the tool.
struct hop_config {
  std::optional<float> rate;             // 1: hops per second
  std::optional<bool> shuffle;           // 2
  std::optional<std::uint16_t> skip;     // 3: shuffle spacing
  std::optional<std::uint16_t> offset;   // 4: start this far into the list
  std::vector<std::string> channels;     // 5: Kismet channel syntax ("6", "36VHT80")
  std::optional<bool> enabled;           // 6: reports only; bool or uint 0/1
  bool operator==(const hop_config&) const = default;
};

// OPENREPORT: the answer to OPENREQ. Header code 1 = opened, 0 = failed
// (then `message` says why); header seqno = the request's. Field 1 (the
// request's seqno again) is required, as Kismet's server requires it.
struct openreport {
  std::uint32_t seqno = 0;                // 1
  std::optional<std::uint32_t> dlt;       // 2
  std::string capture_interface;          // 3
  std::vector<std::string> channels;      // 4: what the source can tune to
  std::string channel;                    // 5: where it is now
  std::optional<hop_config> hop;          // 6: only if already hopping
  std::string hardware;                   // 7
  std::string uuid;                       // 8
  std::string message;                    // 9
  std::string version;                    // 10: the tool's version
};
decode_result decode_openreport(std::span<const std::uint8_t> payload, const limits& lim, openreport& out);

// CONFIGREPORT: the answer to CONFIGREQ, code 1/0, seqno echoed in field 1
// (required). Either a fixed channel or a hop block, as the tool now runs.
struct configreport {
  std::uint32_t seqno = 0;          // 1
  std::string channel;              // 2
  std::optional<hop_config> hop;    // 3
  std::string message;              // 4
};
decode_result decode_configreport(std::span<const std::uint8_t> payload, const limits& lim, configreport& out);

// MESSAGE: a line for the message bus. Both fields required.
struct message {
  std::uint8_t severity = 0;  // 1: kMsg*
  std::string text;           // 2
};
decode_result decode_message(std::span<const std::uint8_t> payload, const limits& lim, message& out);

// ERROR: code 1, seqno of the failed request; text required. (Kismet's
// server ignores these; we pass them to the message bus.)
struct error_report {
  std::string text;  // 1
};
decode_result decode_error(std::span<const std::uint8_t> payload, const limits& lim, error_report& out);

// Interface block, in PROBEREPORT (one) and LISTREPORT (a list).
struct interface_info {
  std::string interface;          // 1
  std::string flags;              // 2
  std::string hardware;           // 3
  std::string capture_interface;  // 4
  std::string channel;            // 5
  std::vector<std::string> channels;  // 6
};

// PROBEREPORT: code 1/0, seqno echoed in field 1 (required). Also what a
// tool answers to a type it does not know (code 0, "Unsupported request").
struct probereport {
  std::uint32_t seqno = 0;                 // 1
  std::optional<interface_info> interface; // 2
  std::string message;                     // 3
};
decode_result decode_probereport(std::span<const std::uint8_t> payload, const limits& lim, probereport& out);

// LISTREPORT: the interfaces a tool could capture from; the request's seqno
// in field 1 (required).
struct listreport {
  std::uint32_t seqno = 0;                  // 1
  std::vector<interface_info> interfaces;   // 2
  std::string message;                      // 3
  std::string version;                      // 4
};
decode_result decode_listreport(std::span<const std::uint8_t> payload, const limits& lim, listreport& out);

// PACKET (Kismet's "data report"): what the tool captured. Views into the
// payload throughout; keep the payload alive as long as the result.
struct packet_block {                      // PACKET field 4
  std::optional<std::uint32_t> dlt;        // 1
  std::optional<std::uint64_t> ts_sec;     // 2
  std::optional<std::uint32_t> ts_usec;    // 3
  std::optional<std::uint32_t> original_length;  // 4: may exceed content.size()
  std::span<const std::uint8_t> content;   // 6: required; bin (or str)
};
struct signal_block {                      // PACKET field 2; the tool omits zeros
  // dBm and RSSI go over the wire as uint32 two's complement (-50 as
  // 4294967246); a msgpack negative integer is accepted too.
  std::optional<std::int32_t> signal_dbm;   // 1
  std::optional<std::int32_t> noise_dbm;    // 2
  std::optional<std::int32_t> signal_rssi;  // 3
  std::optional<std::int32_t> noise_rssi;   // 4
  std::optional<std::uint64_t> freq_khz;    // 5
  std::optional<std::uint64_t> datarate;    // 6
  std::string_view channel;                 // 7
};
struct gps_block {                         // PACKET field 1
  std::optional<double> lat, lon;          // 1, 2
  std::optional<double> alt;               // 3
  std::optional<std::uint8_t> fix;         // 4: 2 = 2D, 3 = 3D
  std::optional<double> speed;             // 5
  std::optional<double> heading;           // 6
  std::optional<double> precision;         // 7
  std::uint64_t ts_sec = 0;                // 8: required, as Kismet's server requires it
  std::uint64_t ts_usec = 0;               // 9: required
  std::string_view type;                   // 10 (the tool puts a GPS's name here too)
  std::string_view name;                   // 11
  std::string_view uuid;                   // 12
};
struct json_block {                        // PACKET field 5: non-packet sources
  std::string_view type;                   // 1
  std::optional<std::uint64_t> ts_sec;     // 2
  std::optional<std::uint32_t> ts_usec;    // 3
  std::string_view json;                   // 4
};
struct packet_report {
  std::optional<gps_block> gps;        // 1
  std::optional<signal_block> signal;  // 2
  bool has_spectrum = false;           // 3: no format defined; skipped
  std::optional<packet_block> packet;  // 4
  std::optional<json_block> json;      // 5
};
decode_result decode_packet(std::span<const std::uint8_t> payload, const limits& lim, packet_report& out);

// PING and PONG carry nothing. An empty payload is ok, and so is one
// well-formed map (ignored); anything else is not.
decode_result decode_empty(std::span<const std::uint8_t> payload, const limits& lim);

// ---- Server -> tool messages ------------------------------------------------
//
// Each encoder replaces the contents of `out` with one whole frame (header
// and payload), so a caller can keep one buffer per link. Kismet's server
// puts code 1 on all of them. Those that take text refuse (and leave `out`
// empty) what the tool would refuse: strings longer than its buffers, with
// a NUL byte in them, or a frame of 16384 bytes or more.

enum class encode_status : std::uint8_t {
  ok,
  string_too_long,  // definition >= 8192, channel >= 1024, hop channel >= 64 bytes
  string_has_nul,
  empty,            // empty definition, channel, channel list or hop channel
  bad_rate,         // hop rate not finite and positive
  too_large,        // the frame would reach kKismetMaxFrameBytes
};
const char* status_name(encode_status s);

// The tool's own limits on what it copies out of a request, NUL included.
inline constexpr std::size_t kToolMaxDefinition = 8192;
inline constexpr std::size_t kToolMaxChannel = 1024;
inline constexpr std::size_t kToolMaxHopChannel = 64;

// OPENREQ {1: definition}. The tool opens what this definition says, not
// what it announced.
encode_status encode_openreq(std::vector<std::uint8_t>& out, std::uint32_t seqno, std::string_view definition);

// PING every 5 s; the tool answers PONG with the same seqno. PONG answers a
// tool's PING with its seqno. Both empty.
void encode_ping(std::vector<std::uint8_t>& out, std::uint32_t seqno);
void encode_pong(std::vector<std::uint8_t>& out, std::uint32_t seqno);

// CONFIGREQ {1: channel}: lock to one channel.
encode_status encode_configreq_channel(std::vector<std::uint8_t>& out, std::uint32_t seqno,
                                       std::string_view channel);
// CONFIGREQ {2: hop block}: rate, shuffle, skip and offset when set, then
// the channel list (required, non-empty). `hop.enabled` is not sent.
encode_status encode_configreq_hop(std::vector<std::uint8_t>& out, std::uint32_t seqno, const hop_config& hop);

// LISTREQ, empty. Note: a tool that can list answers LISTREPORT and then
// spins down, and kismet_cap_pcapfile (which cannot) fails and exits — so
// never send it to a tool that is capturing for us.
void encode_listreq(std::vector<std::uint8_t>& out, std::uint32_t seqno);

// No SHUTDOWN encoder: the v3 tools do not handle it (they answer an unknown
// type with PROBEREPORT "Unsupported request"), and Kismet's server closes
// the connection instead.

// ---- Server -> tool, decoded ------------------------------------------------
// For tests and for a fake tool: what the tool would read from our frames.

struct openreq {
  std::string definition;  // 1: required
};
decode_result decode_openreq(std::span<const std::uint8_t> payload, const limits& lim, openreq& out);

struct configreq {
  std::optional<std::string> channel;  // 1
  std::optional<hop_config> hop;       // 2: channels required and non-empty
};
// One of the two is required; the tool takes the channel when both are set.
decode_result decode_configreq(std::span<const std::uint8_t> payload, const limits& lim, configreq& out);

}  // namespace hopwire::collector::kismet

#pragma once
// Wire-protocol constants and frame helpers shared by sensor and collector.
// The schema is proto/hopwire.fbs; docs/protocol.md explains the rules.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <flatbuffers/flatbuffers.h>

#include "hopwire/hopwire_generated.h"

namespace hopwire::protocol {

inline constexpr std::uint16_t kMajor = 1;
inline constexpr std::uint16_t kMinor = 0;

// Default WebSocket path, as in Kismet's remote capture.
inline constexpr std::string_view kWebSocketPath = "/datasource/remote/remotesource.ws";
inline constexpr std::uint16_t kDefaultHttpPort = 2501;
inline constexpr std::uint16_t kDefaultTcpPort = 3501;

// Limits. A frame over kMaxFrameBytes is refused before it is parsed.
inline constexpr std::size_t kMaxPacketBytes = 65535;
inline constexpr std::size_t kMaxBatchDataBytes = 1024 * 1024;
inline constexpr std::size_t kMaxBatchPackets = 8192;
inline constexpr std::size_t kMaxFrameBytes = kMaxBatchDataBytes + kMaxBatchPackets * 48 + 64 * 1024;
inline constexpr std::size_t kMaxStringBytes = 4096;

// Seconds: how often each side pings, and how long silence is tolerated.
inline constexpr int kPingIntervalSeconds = 5;
inline constexpr int kIdleTimeoutSeconds = 15;

// PacketRecord.flags bits.
inline constexpr std::uint16_t kFlagSignal = 1;
inline constexpr std::uint16_t kFlagGps = 2;

// Verifies a received message and returns its Frame, or nullptr with a
// human-readable reason in `why`. Nothing may read a frame that has not
// passed through here.
const wire::Frame* verify_frame(std::span<const std::uint8_t> bytes, std::string& why);

// Semantic checks a Verifier cannot do: every record's bytes lie inside the
// batch's data, gps indexes are in range, lengths are plausible. Returns
// false with `why` set on the first problem.
bool check_batch(const wire::PacketBatch& batch, std::string& why);

// Builders for the small control frames. Each finishes `fbb` with the file
// identifier; the caller sends fbb.GetBufferSpan().
void build_error(flatbuffers::FlatBufferBuilder& fbb, wire::ErrorCode code, std::string_view message);
void build_ack(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t seq);
void build_ping(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t nonce);
void build_pong(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t nonce);
void build_welcome(flatbuffers::FlatBufferBuilder& fbb, std::string_view collector_version,
                   std::uint64_t acked_seq);

// Safe view of an optional flatbuffers string.
inline std::string_view str(const flatbuffers::String* s) {
  return s ? std::string_view(s->c_str(), s->size()) : std::string_view();
}

const char* body_name(wire::Body body);

}  // namespace hopwire::protocol

#include "protocol.h"

#include <cmath>

namespace hopwire::protocol {

const wire::Frame* verify_frame(std::span<const std::uint8_t> bytes, std::string& why) {
  if (bytes.size() > kMaxFrameBytes) {
    why = "frame of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
          std::to_string(kMaxFrameBytes);
    return nullptr;
  }
  if (bytes.size() < 8) {
    why = "frame of " + std::to_string(bytes.size()) + " bytes is too short";
    return nullptr;
  }
  if (!flatbuffers::BufferHasIdentifier(bytes.data(), wire::FrameIdentifier())) {
    why = "frame lacks the HPW1 file identifier";
    return nullptr;
  }
  // Tight limits: our schema nests at most 4 deep and a batch holds at most
  // a handful of tables; vectors of structs do not count as tables.
  flatbuffers::Verifier::Options opts;
  opts.max_depth = 8;
  opts.max_tables = 256;
  opts.check_alignment = true;
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), opts);
  if (!wire::VerifyFrameBuffer(verifier)) {
    why = "frame failed FlatBuffers verification";
    return nullptr;
  }
  const wire::Frame* frame = wire::GetFrame(bytes.data());
  if (frame->body_type() == wire::Body::NONE || frame->body() == nullptr) {
    why = "frame has no body";
    return nullptr;
  }
  return frame;
}

bool check_batch(const wire::PacketBatch& batch, std::string& why) {
  const auto* packets = batch.packets();
  const std::size_t data_size = batch.data() ? batch.data()->size() : 0;
  const std::size_t gps_count = batch.gps() ? batch.gps()->size() : 0;
  if (batch.seq() == 0) {
    why = "batch sequence 0 is not valid (sequences start at 1)";
    return false;
  }
  // The Verifier checks a vector's length field, not that its 8-byte
  // structs are aligned (flatbuffers 2.0.8); reading a misaligned
  // PacketRecord is undefined behaviour.
  auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 8 == 0; };
  if ((packets && packets->size() && !aligned(packets->Data())) ||
      (batch.gps() && batch.gps()->size() && !aligned(batch.gps()->Data()))) {
    why = "batch records are not 8-byte aligned";
    return false;
  }
  if (!packets) return true;
  if (packets->size() > kMaxBatchPackets) {
    why = "batch holds " + std::to_string(packets->size()) + " packets, limit " +
          std::to_string(kMaxBatchPackets);
    return false;
  }
  for (flatbuffers::uoffset_t i = 0; i < packets->size(); ++i) {
    const wire::PacketRecord* r = packets->Get(i);
    const std::uint64_t end = std::uint64_t(r->data_offset()) + r->cap_len();
    if (end > data_size) {
      why = "packet " + std::to_string(i) + " points past the batch data";
      return false;
    }
    if (r->cap_len() > kMaxPacketBytes) {
      why = "packet " + std::to_string(i) + " is longer than " + std::to_string(kMaxPacketBytes);
      return false;
    }
    if ((r->flags() & kFlagGps) && r->gps_index() >= gps_count) {
      why = "packet " + std::to_string(i) + " names a GPS fix the batch does not have";
      return false;
    }
  }
  return true;
}

namespace {
void finish(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<void> body) {
  auto frame = wire::CreateFrame(fbb, type, body);
  wire::FinishFrameBuffer(fbb, frame);
}
}  // namespace

void build_error(flatbuffers::FlatBufferBuilder& fbb, wire::ErrorCode code, std::string_view message) {
  fbb.Clear();
  auto msg = fbb.CreateString(message.data(), message.size());
  auto err = wire::CreateError(fbb, code, msg);
  finish(fbb, wire::Body::Error, err.Union());
}

void build_ack(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t seq) {
  fbb.Clear();
  finish(fbb, wire::Body::Ack, wire::CreateAck(fbb, seq).Union());
}

void build_ping(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t nonce) {
  fbb.Clear();
  finish(fbb, wire::Body::Ping, wire::CreatePing(fbb, nonce).Union());
}

void build_pong(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t nonce) {
  fbb.Clear();
  finish(fbb, wire::Body::Pong, wire::CreatePong(fbb, nonce).Union());
}

void build_welcome(flatbuffers::FlatBufferBuilder& fbb, std::string_view collector_version,
                   std::uint64_t acked_seq) {
  fbb.Clear();
  auto ver = fbb.CreateString(collector_version.data(), collector_version.size());
  auto w = wire::CreateWelcome(fbb, kMajor, kMinor, ver, acked_seq);
  finish(fbb, wire::Body::Welcome, w.Union());
}

const char* body_name(wire::Body body) {
  const char* name = wire::EnumNameBody(body);
  return (name && *name) ? name : "unknown";
}

}  // namespace hopwire::protocol

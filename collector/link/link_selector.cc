#include "collector/link/link_selector.h"

#include "collector/link/kismet_link.h"
#include "common/protocol.h"

namespace hopwire::collector {

namespace {

class link_selector final : public message_handler {
 public:
  link_selector(link_env& env, connection_info who, message_io io, bool kismet_tools)
      : env_(env), who_(std::move(who)), io_(std::move(io)), kismet_(kismet_tools) {}

  bool on_message(std::span<const std::uint8_t> msg, bool binary) override {
    if (!inner_) {
      const bool v3 = binary && msg.size() >= 4 && msg[0] == 0xde && msg[1] == 0xca && msg[2] == 0xfb && msg[3] == 0xad;
      if (v3 && kismet_) {
        who_.protocol = link_protocol::kismet_v3;
        inner_ = make_kismet_link(env_, who_, io_);
      } else {
        inner_ = std::make_unique<remote_link>(env_, who_, io_);
      }
    }
    return inner_->on_message(msg, binary);
  }
  bool on_tick() override {
    if (inner_) return inner_->on_tick();
    // Nothing said yet: as silent as a link may be.
    return ++silent_s_ <= protocol::kIdleTimeoutSeconds;
  }
  void refuse(refusal why, std::size_t size) override {
    if (!inner_) inner_ = std::make_unique<remote_link>(env_, who_, io_);
    inner_->refuse(why, size);
  }
  std::size_t max_message_bytes() const override { return protocol::kMaxFrameBytes; }

 private:
  link_env& env_;
  connection_info who_;
  message_io io_;
  bool kismet_;
  std::unique_ptr<message_handler> inner_;
  int silent_s_ = 0;
};

}  // namespace

message_handler_factory sensor_link_factory(link_env& env, bool kismet_tools) {
  return [&env, kismet_tools](const connection_info& who, message_io io) -> std::unique_ptr<message_handler> {
    return std::make_unique<link_selector>(env, who, std::move(io), kismet_tools);
  };
}

}  // namespace hopwire::collector

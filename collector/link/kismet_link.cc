#include "collector/link/kismet_link.h"

#include "common/log.h"

namespace hopwire::collector {

namespace {

// Until the session is written: says so and closes.
class kismet_unsupported final : public message_handler {
 public:
  explicit kismet_unsupported(std::string ip) : ip_(std::move(ip)) {}
  bool on_message(std::span<const std::uint8_t>, bool) override {
    spdlog::warn("a Kismet capture tool connected from {}; this collector does not speak Kismet's protocol yet", ip_);
    return false;
  }
  bool on_tick() override { return true; }
  void refuse(refusal, std::size_t) override {}
  std::size_t max_message_bytes() const override { return 16384; }

 private:
  std::string ip_;
};

}  // namespace

std::unique_ptr<message_handler> make_kismet_link(link_env&, const connection_info& who, message_io) {
  return std::make_unique<kismet_unsupported>(who.remote_ip);
}

message_handler_factory kismet_link_factory(link_env& env) {
  return [&env](const connection_info& who, message_io io) { return make_kismet_link(env, who, std::move(io)); };
}

}  // namespace hopwire::collector

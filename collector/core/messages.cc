#include "collector/core/messages.h"

#include "common/clock.h"
#include "common/log.h"

namespace hopwire::collector {

void message_bus::post(std::uint32_t flags, std::string text) {
  if (flags & kMsgLogged) flags &= ~kMsgLogged;
  else if (flags & (kMsgError | kMsgFatal)) spdlog::error("{}", text);
  else if (!(flags & kMsgAlert)) spdlog::info("{}", text);
  bus_message m;
  {
    std::lock_guard lock(mu_);
    m.id = next_id_++;
    m.time_ns = wall_ns();
    m.flags = flags;
    m.text = std::move(text);
    kept_.push_back(m);
    if (kept_.size() > kKeep) kept_.pop_front();
  }
  for (const auto& l : listeners_) l(m);
}

void message_bus::subscribe(listener l) { listeners_.push_back(std::move(l)); }

std::vector<bus_message> message_bus::all() const {
  std::lock_guard lock(mu_);
  return {kept_.begin(), kept_.end()};
}

std::vector<bus_message> message_bus::since(std::uint64_t time_ns) const {
  std::lock_guard lock(mu_);
  std::vector<bus_message> out;
  for (const auto& m : kept_)
    if (m.time_ns >= time_ns) out.push_back(m);
  return out;
}

}  // namespace hopwire::collector

#pragma once
// The sensor WebSocket route takes our sensors and, when the operator allows
// it, Kismet's capture tools: the first message says which (a Kismet v3
// frame starts 0xDECAFBAD; ours is a FlatBuffers Frame), and the selector
// hands the conversation to that protocol's handler.

#include <memory>

#include "collector/link/remote_link.h"
#include "collector/net/message_handler.h"

namespace hopwire::collector {

message_handler_factory sensor_link_factory(link_env& env, bool kismet_tools);

}  // namespace hopwire::collector

#pragma once
// A Kismet capture tool (kismet_cap_linux_wifi, kismet_cap_pcapfile) as a
// source: Kismet's v3 external protocol (link/kismet_frame.h), the session
// as Kismet's server runs it — NEWSOURCE, OPENREQ/OPENREPORT, PING, PACKET
// reports into the same pipeline as our sensors', CONFIGREQ with our
// channel plans — over a WebSocket message per frame or the TCP port's
// stream of frames.

#include <memory>

#include "collector/link/remote_link.h"
#include "collector/net/message_handler.h"

namespace hopwire::collector {

std::unique_ptr<message_handler> make_kismet_link(link_env& env, const connection_info& who, message_io io);

// The TCP port's handler for Kismet's tools.
message_handler_factory kismet_link_factory(link_env& env);

}  // namespace hopwire::collector

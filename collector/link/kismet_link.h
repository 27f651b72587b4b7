#pragma once
// A Kismet capture tool (kismet_cap_linux_wifi, kismet_cap_pcapfile) as a
// source: Kismet's v3 external protocol (link/kismet_frame.h), the session
// as Kismet's server runs it — NEWSOURCE, OPENREQ/OPENREPORT, PING, PACKET
// reports into the same pipeline as our sensors', CONFIGREQ with our
// channel plans — over a WebSocket message per frame or the TCP port's
// stream of frames.
//
// Kismet's tools neither number nor acknowledge their reports: what a tool
// captured while its link was down is lost, and nothing can say how much.
// The link counts what arrives; the source's JSON says so.

#include <cstddef>
#include <memory>

#include "collector/link/remote_link.h"
#include "collector/net/message_handler.h"

namespace hopwire::collector {

namespace kismet_session {
// Kismet's server: NEWSOURCE within 5 s of connecting, PING every 5 s, a
// tool silent for 15 s is dropped (in once-a-second ticks). On a WebSocket
// the collector also pings a running tool after each batch and each
// second: Kismet's tools write their queued WebSocket frames only when
// they hear from the server.
inline constexpr int kAnnounceTicks = 5;
inline constexpr int kPingTicks = 5;
inline constexpr int kSilentTicks = 15;
// Ours: a tool that takes this long to open its source is given up on.
inline constexpr int kOpenTicks = 30;
// PACKET reports go to the pipeline in batches: consecutive reports, up to
// this many or this many content bytes, or once the first has waited
// kBatchAgeMs and another arrives, and at every tick and before any other
// frame is handled.
inline constexpr std::size_t kBatchPackets = 256;
inline constexpr std::size_t kBatchBytes = 1024 * 1024;
inline constexpr int kBatchAgeMs = 100;
// Frames other than PACKET (MESSAGE, ERROR, PING, reports...): a burst of
// this many, then this many a second; the rest are dropped and counted.
inline constexpr double kControlBurst = 64;
inline constexpr double kControlPerSecond = 20;
}  // namespace kismet_session

std::unique_ptr<message_handler> make_kismet_link(link_env& env, const connection_info& who, message_io io);

// The TCP port's handler for Kismet's tools.
message_handler_factory kismet_link_factory(link_env& env);

}  // namespace hopwire::collector

#pragma once
// The alert engine: Kismet's wireless intrusion alerts, raised from the
// decoded packets of every sensor and from source events, with the list of
// sensors that heard the offending frames.
//
// It is a packet sink (on_packets, called concurrently from every link
// thread, per chunk of a batch) and an event listener (source up/down).
// Detector state is kept per BSSID, per station pair and per sensor in
// fixed-size tables, sharded and locked by shard, whose oldest entries give
// way (no table grows with what the air sends). When nothing fires, a
// packet costs a few branches and, for beacons, probe responses and
// disconnects, one lookup in its BSSID's shard; nothing is allocated.
//
// A detection either raises a new alert — if its definition is enabled and
// its rate and burst limits (Kismet's semantics, alert_limits.h) allow —
// or, when an alert of the same name about the same subject (a BSSID, a
// station, a source) was raised less than merge_window ago, is folded into
// that alert: its seenby gains the sensor (packets, signal), its count
// grows. That is how the second sensor that heard a deauth flood is named
// in the first sensor's alert.
//
// Alerts are kept in memory (the history, bounded by count and age) and,
// through alert_backend, in the store; subscribers (the event bus, the
// outputs) hear each alert once, when it is raised. Everything but the
// packet path takes the engine's mutex briefly; none of it blocks on I/O
// except flush(), which writes to the backend and belongs on a timer.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collector/alerts/alert.h"
#include "collector/alerts/alert_backend.h"
#include "collector/alerts/watchlist.h"
#include "collector/config/alerts_config.h"
#include "collector/core/events.h"
#include "collector/core/pipeline.h"
#include "collector/core/source_table.h"
#include "collector/decode/decoded_packet.h"
#include "collector/track/oui_table.h"

namespace hopwire::collector {

struct detection;
struct engine_state;
struct engine_config;
class text_fn;

class alert_engine final : public packet_sink, public event_listener {
 public:
  struct options {
    std::size_t shards = 64;  // detector state shards (a power of two): link threads rarely meet in one
    // The collector's clock (ns since the epoch); tests drive their own.
    std::function<std::uint64_t()> clock;
  };

  // `sources` names the sensors of seenby entries raised from events (may
  // be null); `ouis` names devices in DEVICEFOUND texts (may be null).
  alert_engine(const source_table* sources, const oui_table* ouis, const alerts_config& cfg);
  alert_engine(const source_table* sources, const oui_table* ouis, const alerts_config& cfg, options opts);
  ~alert_engine() override;
  alert_engine(const alert_engine&) = delete;
  alert_engine& operator=(const alert_engine&) = delete;

  // The tracker events it wants (event_hub::subscribe(&engine, kEvents)).
  static constexpr std::uint32_t kEvents =
      event_bit(event_kind::source_up) | event_bit(event_kind::source_down) | event_bit(event_kind::source_error);

  // packet_sink: any link thread, concurrently.
  void on_packets(const ingest_source& source, std::span<const decoded_packet> packets) override;
  // event_listener: source_up / source_down mark the source live or not;
  // a lost link (source_lost) raises SENSORLOST with its reason, a
  // source_error SOURCEERROR; a silent source is found by tick().
  void on_event(const tracker_event& e) override;

  // A reload (SIGHUP): new limits, enables, severities, known networks,
  // canaries, configured watch entries, timeouts and retention. The history,
  // the limiters' counters and the detector state stay.
  void configure(const alerts_config& cfg);

  // Storage. attach() loads the stored history and watch list (before
  // ingest); problems (damaged records, skipped) come back as sentences.
  std::vector<std::string> attach(alert_backend* alerts, watchlist_backend* watch);
  // Writes alerts raised or changed since the last flush and applies
  // retention (memory and store). On the caller's thread; tick() calls it.
  void flush();

  // About once a second, off the packet path (the app's timer): DEVICELOST,
  // SENSORLOST for silent sources, retention, flush().
  void tick();

  // From the links: a source's link came up, went down (`clean`: the
  // sensor closed it; otherwise it timed out or failed: SENSORLOST), or
  // reported an error (SOURCEERROR). Any thread.
  void source_up(std::uint32_t source);
  void source_down(std::uint32_t source, bool clean, std::string_view reason);
  void source_error(std::uint32_t source, std::string_view reason);

  // Raising by name: REST raise_alert.cmd, and the collector's own SYSTEM
  // alerts (STORAGEERROR, ...). Kismet's rules: the name must be defined;
  // the definition's limits apply.
  struct raise_request {
    std::string name;
    std::string text;
    mac_addr transmitter, source, dest, other;  // Kismet's bssid, source, dest, other
    std::string channel;
    std::uint32_t sensor = 0xffffffffu;  // a source index to name in seenby, if any
  };
  enum class raise_status : std::uint8_t { raised, unknown, throttled };
  struct raise_result {
    raise_status status = raise_status::raised;
    std::uint64_t id = 0;
    std::string reason;
    bool ok() const { return status == raise_status::raised; }
  };
  raise_result raise(const raise_request& r);
  // Kismet's raise_one_shot: no definition, no limits (load_alert= lines).
  std::uint64_t raise_one_shot(std::string_view header, std::string_view alert_class, std::uint8_t severity,
                               std::string_view text);

  // REST define_alert.cmd: a script's own alert. Kismet refuses a name that
  // is already defined (503 there) and a bad severity or limit (400).
  struct define_request {
    std::string name, description, alert_class;
    unsigned severity = kSevMedium;
    std::string throttle = "10/min", burst = "1/sec";
    std::string phyname;  // "", "any", or "IEEE802.11"
  };
  enum class define_status : std::uint8_t { defined, exists, invalid };
  struct define_result {
    define_status status = define_status::defined;
    std::string reason;
    bool ok() const { return status == define_status::defined; }
  };
  define_result define(const define_request& r);
  std::vector<alert_definition> definitions() const;

  // Acknowledges (or, with ack false, clears the acknowledgement of) an
  // alert. False: no alert with that id.
  bool acknowledge(std::uint64_t id, std::string_view who, bool ack = true);

  // Queries (copies; the history is bounded).
  std::vector<alert> all() const;
  // Kismet's last-time: alerts whose timestamp (sec.usec) is > `ts`.
  std::vector<alert> since(double ts) const;
  std::optional<alert> by_id(std::uint64_t id) const;
  // Kismet's by-id route takes the alert's hash.
  std::optional<alert> by_hash(std::uint32_t hash) const;

  // DEVICEFOUND / DEVICELOST watch list (REST add/remove/list).
  watch_list& watch() { return watch_; }

  // Each alert, once, as it is raised: on the raising thread (a link
  // thread, a REST thread, the timer), after the engine's lock is released
  // but possibly under a detector shard lock. Copy what you need and
  // return; do not block, do not call subscribe(). May call the queries.
  using subscriber = std::function<void(const alert&)>;
  std::size_t subscribe(subscriber fn);
  void unsubscribe(std::size_t token);

  struct counters {
    std::uint64_t raised = 0, merged = 0, throttled = 0, disabled = 0;
    std::uint64_t history = 0, evicted_state = 0;
    std::uint64_t store_writes = 0, store_failures = 0, pending = 0;
  };
  counters stats() const;

 private:
  friend struct engine_state;
  enum class outcome : std::uint8_t { merged, raised, limited, disabled };

  // The detectors (detectors.cc).
  struct chunk;
  void check_packet(chunk& c, const decoded_packet& p);
  void check_bss_frame(chunk& c, const decoded_packet& p);
  void check_probe_request(chunk& c, const decoded_packet& p);
  void check_assoc(chunk& c, const decoded_packet& p);
  void check_disconnect(chunk& c, const decoded_packet& p);
  void check_eapol(chunk& c, const decoded_packet& p);
  void check_watch(chunk& c, const decoded_packet& p, std::uint8_t types);
  void check_malformed(chunk& c, const decoded_packet& p);
  void check_long_ssid(chunk& c, const decoded_packet& p);
  void check_canary_probe(chunk& c, const decoded_packet& p);
  void check_lost_devices(std::uint64_t now);
  void check_silent_sources(std::uint64_t now);

  // A detection: fold into an open alert, or raise (limits allowing).
  outcome hit(const detection& d, const text_fn& text, std::uint64_t* raised_id = nullptr);
  // Fold into an open alert if there is one; false: none open.
  bool touch(const detection& d);
  // touch() with st_->mu held, at time t.
  bool merge_locked(const detection& d, std::uint64_t window, std::uint64_t t);
  bool active(builtin_alert a) const;
  std::uint64_t now() const;
  void notify(const alert& a);

  const source_table* sources_;
  const oui_table* ouis_;
  std::function<std::uint64_t()> clock_;
  std::unique_ptr<engine_state> st_;
  watch_list watch_;
};

}  // namespace hopwire::collector

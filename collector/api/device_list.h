#pragma once
// Device lists as Kismet's device endpoints answer them, shared by every
// route that lists devices (device_api.cc, kismet_views_api.cc): the three
// formats, the POST command (fields, regex, start, length), and the stream
// that writes a list while the tracker is read a few devices at a time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <rapidjson/document.h>

#include "collector/api/api_context.h"
#include "collector/api/ek_writer.h"
#include "collector/api/list_request.h"
#include "collector/track/device_tracker.h"

namespace hopwire::collector {

enum class out_format { json, itjson, ekjson };

// "json", "itjson", "ekjson", with their formats, for registering routes.
struct format_suffix {
  const char* suffix;
  out_format fmt;
};
inline constexpr format_suffix kFormats[] = {
    {"json", out_format::json}, {"itjson", out_format::itjson}, {"ekjson", out_format::ekjson}};

inline constexpr std::size_t kListCommandLimit = 1024 * 1024;

const char* content_type(out_format f);

// Which devices a list keeps; empty: every device the reader gives.
using device_filter = std::function<bool(const device&)>;

// How a list is laid out: a plain list; last-time's object around it
// (kismet.devicelist.timestamp, kismet.device.list); or an object keyed by
// device key (multikey/as-object).
enum class list_wrap { none, last_time, by_key };

// Reads a list POST's command: raw JSON or Kismet's json= form field; an
// empty body is an empty command. False with the reason in `why`.
bool parse_list_command(const request_ctx& ctx, rapidjson::Document& doc, std::string& why);

// The front half of every list handler: for a POST, the command read into
// `req` (and left in `doc`, for keys of the caller's own). False with the
// reply to send in `err` (no tracker: 503; a bad command: 400).
bool prepare_list(request_ctx& ctx, list_request& req, http_reply& err, rapidjson::Document* doc = nullptr);

// Writes devices in a format, applying regex, fields and the window.
class device_output {
 public:
  device_output(out_format fmt, const list_request& req, const device_tracker& t, std::string& body,
                bool by_key = false);

  void begin();
  void end();
  // Everything written so far is in the body.
  void finish() { sink_.Flush(); }
  // For wrapping the list in an object (last-time); json format only.
  json_writer& writer() { return json_; }
  // The window (start, length) is full: no later device can be written.
  bool window_full() const { return req_.length && seen_ >= req_.start + *req_.length; }

  void add(const device& d);

 private:
  bool in_window();
  template <typename H>
  void emit(H& h, const rapidjson::Document& doc);
  template <typename H>
  void key_of(H& h, const device& d);

  out_format fmt_;
  const list_request& req_;
  const device_tracker& t_;
  string_sink sink_;
  json_writer json_;
  ek_writer ek_;
  bool by_key_;
  std::size_t seen_ = 0;
};

// A device list written while the tracker is read, a few devices per pull:
// memory stays at a chunk however many devices there are, ingest is held
// back for microseconds at a time, and the work stops when the client goes.
class device_list_stream final : public body_stream {
 public:
  device_list_stream(out_format fmt, list_request req, device_tracker::reader reader, const device_tracker& t,
                     device_filter keep, list_wrap w, std::uint64_t now_s);

  bool pull(std::string& out, std::size_t max, std::function<void()>) override;
  void delivered(std::size_t) override {}
  void close() override { done_ = true; }
  std::size_t memory_bound() const override { return kMemoryBound; }
  // Bytes the stream's own buffer has allocated now (its capacity: what
  // it keeps in memory between pulls, not only what waits to be pulled).
  std::size_t buffered() const { return buf_.capacity(); }

 private:
  static constexpr std::size_t kCopies = 16;
  static constexpr std::size_t kMemoryBound = 256 * 1024;
  static constexpr auto kWorkBudget = std::chrono::seconds(120);

  list_request req_;
  device_tracker::reader reader_;
  device_filter keep_;
  list_wrap wrap_;
  std::string buf_;
  device_output out_;
  bool json_;
  bool done_ = false;
  device copies_[kCopies];
  std::chrono::steady_clock::duration spent_{};
};

// The reply that streams such a list.
http_reply stream_devices(out_format fmt, list_request req, device_tracker::reader reader, const device_tracker& t,
                          device_filter keep = {}, list_wrap w = list_wrap::none, std::uint64_t now_s = 0);

http_reply no_tracker();

}  // namespace hopwire::collector

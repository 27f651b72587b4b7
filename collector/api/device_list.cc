#include "collector/api/device_list.h"

#include <algorithm>

#include "collector/api/device_json.h"
#include "collector/api/json_limits.h"
#include "common/log.h"

namespace hopwire::collector {

const char* content_type(out_format f) {
  return f == out_format::json ? "application/json" : "application/x-ndjson";
}

http_reply no_tracker() { return text_reply(503, "device tracking is not running"); }

bool parse_list_command(const request_ctx& ctx, rapidjson::Document& doc, std::string& why) {
  const auto text = command_text(ctx);
  if (!text) {
    why = kNoJsonField;
    return false;
  }
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
    doc.SetObject();
    return true;
  }
  if (!parse_untrusted_json(*text, doc, why)) {
    why = "command: " + why;
    return false;
  }
  if (!doc.IsObject()) {
    why = "command must be a JSON object";
    return false;
  }
  return true;
}

bool prepare_list(request_ctx& ctx, list_request& req, http_reply& err, rapidjson::Document* keep_doc) {
  if (!ctx.svc.tracker) {
    err = no_tracker();
    return false;
  }
  if (ctx.method != "POST") return true;
  rapidjson::Document local;
  rapidjson::Document& doc = keep_doc ? *keep_doc : local;
  std::string why;
  if (!parse_list_command(ctx, doc, why) || !read_list_request(doc, req, why)) {
    err = text_reply(400, why);
    return false;
  }
  return true;
}

device_output::device_output(out_format fmt, const list_request& req, const device_tracker& t, std::string& body,
                             bool by_key)
    : fmt_(fmt), req_(req), t_(t), sink_(body), json_(sink_), ek_(sink_), by_key_(by_key) {}

void device_output::begin() {
  if (by_key_) {
    if (fmt_ == out_format::ekjson) ek_.StartObject();
    else json_.StartObject();
  } else if (fmt_ == out_format::json) {
    json_.StartArray();
  }
}

void device_output::end() {
  if (by_key_) {
    // One object, on one line in the line formats.
    if (fmt_ == out_format::ekjson) ek_.EndObject();
    else json_.EndObject();
    if (fmt_ != out_format::json) sink_.Put('\n');
  } else if (fmt_ == out_format::json) {
    json_.EndArray();
  }
  finish();
}

bool device_output::in_window() {
  const auto i = seen_++;
  if (i < req_.start) return false;
  return !req_.length || i - req_.start < *req_.length;
}

template <typename H>
void device_output::key_of(H& h, const device& d) {
  const auto k = device_key(d.mac);
  h.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()), true);
}

template <typename H>
void device_output::emit(H& h, const rapidjson::Document& doc) {
  write_simplified(h, doc, req_.fields);
}

void device_output::add(const device& d) {
  // After each device of a line format: the next line.
  auto next_line = [this] {
    if (by_key_ || fmt_ == out_format::json) return;
    if (fmt_ == out_format::ekjson) ek_.Reset(sink_);
    else json_.Reset(sink_);
    sink_.Put('\n');
  };
  const bool simple = req_.fields.empty() && req_.regex.empty();
  if (simple) {
    if (!in_window()) return;
    if (fmt_ == out_format::ekjson) {
      if (by_key_) key_of(ek_, d);
      write_device(ek_, d, t_);
    } else {
      if (by_key_) key_of(json_, d);
      write_device(json_, d, t_);
    }
    next_line();
    return;
  }
  rapidjson::Document doc;
  struct gen {
    const device& d;
    const device_tracker& t;
    bool operator()(rapidjson::Document& doc) {
      doc_builder b(doc);
      write_device(b, d, t);
      return true;
    }
  } g{d, t_};
  doc.Populate(g);
  if (!passes_regex(doc, req_.regex)) return;
  if (!in_window()) return;
  if (fmt_ == out_format::ekjson) {
    if (by_key_) key_of(ek_, d);
    emit(ek_, doc);
  } else {
    if (by_key_) key_of(json_, d);
    emit(json_, doc);
  }
  next_line();
}

device_list_stream::device_list_stream(out_format fmt, list_request req, device_tracker::reader reader,
                                       const device_tracker& t, device_filter keep, list_wrap w, std::uint64_t now_s)
    : req_(std::move(req)), reader_(std::move(reader)), keep_(std::move(keep)), wrap_(w),
      out_(fmt, req_, t, buf_, w == list_wrap::by_key), json_(fmt == out_format::json) {
  if (wrap_ == list_wrap::last_time && json_) {
    auto& wr = out_.writer();
    wr.StartObject();
    wr.Key("kismet.devicelist.refresh");
    wr.Uint(1);
    wr.Key("kismet.devicelist.timestamp");
    wr.Uint64(now_s);
    wr.Key("kismet.device.list");
  }
  out_.begin();
}

bool device_list_stream::pull(std::string& out, std::size_t max, std::function<void()>) {
  const auto t0 = std::chrono::steady_clock::now();
  while (buf_.size() < max && !done_) {
    const auto n = out_.window_full() ? 0 : reader_.next(copies_, kCopies);
    if (n == 0) {
      out_.end();
      if (wrap_ == list_wrap::last_time && json_) out_.writer().EndObject();
      out_.finish();
      done_ = true;
      break;
    }
    for (std::size_t i = 0; i < n; ++i)
      if (!keep_ || keep_(copies_[i])) out_.add(copies_[i]);
    out_.finish();
  }
  spent_ += std::chrono::steady_clock::now() - t0;
  if (spent_ > kWorkBudget && !done_) {
    // Linear-time patterns keep this far away; it bounds what one request
    // can take from the network threads all the same.
    spdlog::warn("device list stopped after {} s of work (the budget per request)",
                 std::chrono::duration_cast<std::chrono::seconds>(kWorkBudget).count());
    done_ = true;
    buf_.clear();
  }
  // What is handed out goes; the rest (less than one pull of devices)
  // moves to the front, so the buffer stays at a chunk plus one pull
  // however long the list is.
  const auto take = std::min(max, buf_.size());
  out.append(buf_, 0, take);
  buf_.erase(0, take);
  return !(done_ && buf_.empty());
}

http_reply stream_devices(out_format fmt, list_request req, device_tracker::reader reader, const device_tracker& t,
                          device_filter keep, list_wrap w, std::uint64_t now_s) {
  http_reply reply;
  reply.content_type = content_type(fmt);
  reply.stream =
      std::make_shared<device_list_stream>(fmt, std::move(req), std::move(reader), t, std::move(keep), w, now_s);
  return reply;
}

}  // namespace hopwire::collector

// The scan report route: POST /phy/phy80211/scan/scan_report.cmd (role
// scanreport). Parsing and validation are scan_report.cc's.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/routes_all.h"
#include "collector/api/scan_report.h"
#include "collector/core/sources.h"
#include "collector/persist/store.h"
#include "collector/track/device_tracker.h"
#include "common/clock.h"

namespace hopwire::collector {

namespace {

http_reply answer(unsigned status, std::size_t accepted, const std::vector<report_error>& errors) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("success");
  w.Bool(status == 200);
  w.Key("accepted");
  w.Uint64(accepted);
  if (!errors.empty()) {
    w.Key("rejected");
    w.StartArray();
    for (const auto& e : errors) {
      w.StartObject();
      if (e.index != static_cast<std::size_t>(-1)) {
        w.Key("index");
        w.Uint64(e.index);
      }
      w.Key("field");
      w.String(e.field.c_str());
      w.Key("message");
      w.String(e.message.c_str());
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  http_reply r;
  r.status = status;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

http_reply scan_report(request_ctx& ctx) {
  if (!ctx.svc.tracker) return text_reply(503, "device tracking is not running");
  const auto text = command_text(ctx);
  const auto now = wall_ns();
  scan_request req;
  std::vector<report_error> errors;
  if (!text) {
    errors.push_back({static_cast<std::size_t>(-1), "json", std::string(kNoJsonField)});
    return answer(400, 0, errors);
  }
  if (!parse_scan_request(*text, now, req, errors)) return answer(400, 0, errors);
  if (req.accepted.empty()) return answer(400, 0, req.rejected);

  bool created = false;
  auto src = ctx.svc.sources->scan_source(req.source_name, req.source_uuid, created);
  std::string uuid, name;
  {
    std::lock_guard lock(src->mu);
    auto& r = src->rec;
    if (r.first_seen_ns == 0) r.first_seen_ns = now;
    r.last_seen_ns = now;
    r.num_packets += req.accepted.size();
    r.num_error_packets += req.rejected.size();
    r.remote_ip = std::string(ctx.remote.substr(0, ctx.remote.rfind(':')));
    uuid = r.uuid;
    name = r.name;
    ctx.svc.db->put_source(r);
  }
  const auto idx = src->index;
  for (const auto& ap : req.accepted) ctx.svc.tracker->observe_ap(idx, ap, now);
  return answer(200, req.accepted.size(), req.rejected);
}

}  // namespace

void add_scan_routes(route_table& t, api_context& api) {
  add_route(t, api, "POST", "/phy/phy80211/scan/scan_report.cmd", mask(role::scanreport),
            "Scan reports from phones and boards (JSON body or json= form; see docs/scan-reports.md)", scan_report,
            kScanBodyLimit);
}

}  // namespace hopwire::collector

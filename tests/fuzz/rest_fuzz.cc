// libFuzzer target for what REST requests carry in their bodies: the JSON
// parser with its limits, Kismet's list command (fields, regex, start,
// length, devices) and the regex and field paths applied to a device's
// JSON, and scan reports. Whatever the input: no crash, no hang (RE2 is
// linear), no read past the end; refusals carry a reason.
//
//   clang: -DHOPWIRE_FUZZ=ON, target hopwire_rest_fuzzer (docs/fuzzing.md)
//   every build: hopwire_rest_corpus_replay replays tests/fuzz/corpus/rest
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/json_limits.h"
#include "collector/api/list_request.h"
#include "collector/api/scan_report.h"

using namespace hopwire::collector;

namespace {

// A device as the list routes show it, cut down: nested objects, arrays of
// objects and a MAC-keyed map, for paths and patterns to walk.
constexpr std::string_view kDevice = R"({
 "kismet.device.base.macaddr": "02:00:00:00:00:01",
 "kismet.device.base.name": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
 "kismet.device.base.packets.total": 12,
 "kismet.device.base.seenby": [
   {"kismet.common.seenby.uuid": "5fe308bd-0000-4000-8000-000000000001", "kismet.common.seenby.num_packets": 7},
   {"kismet.common.seenby.uuid": "5fe308bd-0000-4000-8000-000000000002", "kismet.common.seenby.num_packets": 5}],
 "dot11.device": {
   "dot11.device.advertised_ssid_map": [{"dot11.advertisedssid.ssid": "corp", "dot11.advertisedssid.channel": "6"}],
   "dot11.device.client_map": {"02:00:00:00:00:02": {"dot11.client.bssid": "02:00:00:00:00:01"}}}
})";

const rapidjson::Document& device_doc() {
  static const rapidjson::Document d = [] {
    rapidjson::Document doc;
    std::string why;
    if (!parse_untrusted_json(kDevice, doc, why)) {
      std::fprintf(stderr, "the fuzzer's own device JSON does not parse: %s\n", why.c_str());
      std::abort();
    }
    return doc;
  }();
  return d;
}

void must_say_why(bool ok, const std::string& why, const char* what) {
  if (!ok && why.empty()) {
    std::fprintf(stderr, "%s refused without a reason\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  rapidjson::Document doc;
  std::string why;
  const bool parsed = parse_untrusted_json(text, doc, why);
  must_say_why(parsed, why, "parse_untrusted_json");
  if (parsed && doc.IsObject()) {
    list_request req;
    why.clear();
    const bool read = read_list_request(doc, req, why);
    must_say_why(read, why, "read_list_request");
    if (read) {
      if (req.fields.size() > kMaxFields || req.regex.size() > kMaxRegexTerms) std::abort();
      const auto& dev = device_doc();
      rapidjson::StringBuffer out;
      rapidjson::Writer<rapidjson::StringBuffer> w(out);
      w.StartArray();
      for (const auto& f : req.fields) emit_path(w, dev, f.path, 0);
      w.EndArray();
      for (const auto& t : req.regex) any_match(dev, t.path, 0, *t.re);
    }
  }

  scan_request scan;
  std::vector<report_error> errors;
  const bool scanned = parse_scan_request(text, 1'700'000'000'000'000'000ull, scan, errors);
  if (!scanned && errors.empty()) {
    std::fprintf(stderr, "parse_scan_request refused without a reason\n");
    std::abort();
  }
  if (scanned && scan.accepted.size() + scan.rejected.size() != scan.total) {
    std::fprintf(stderr, "scan reports: %zu accepted + %zu rejected != %zu\n", scan.accepted.size(),
                 scan.rejected.size(), scan.total);
    std::abort();
  }
  return 0;
}

// libFuzzer target over the collector's decode path: capture header, 802.11
// frame and tagged elements, then the device tracker and the devices' JSON.
//
// Input: byte 0 picks the link type (byte 0 % 5 indexes kLinkTypes) and,
// above that, two flags (byte 0 / 5: bit 0 = heard by a second source, bit
// 1 = the packet carries a GPS fix); the rest is one captured packet, as the
// sensor would send it. The tracker is one static instance, so state builds
// up across inputs the way it does in the collector (until it starts over,
// every kFreshEvery inputs); inputs are numbered and timestamps derive from
// that number, never from a clock.
//
// Oracles: the sanitizers, plus "the JSON of a device parses, as UTF-8".

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "collector/decode/anomalies.h"
#include "collector/api/device_json.h"
#include "collector/track/device_tracker.h"
#include "collector/decode/dot11_frame.h"
#include "collector/api/ek_writer.h"
#include "collector/track/oui_table.h"
#include "collector/decode/decoded_packet.h"
#include "collector/decode/radio_header.h"

using namespace hopwire;
using namespace hopwire::collector;

namespace {

constexpr std::uint32_t kLinkTypes[] = {kDltIeee80211, kDltPrism, kDltRadiotap, kDltAvs, kDltPpi};
// Packet (and collector) time of input n: kStartNs + n * kInputNs.
constexpr std::uint64_t kStartNs = 1'700'000'000'000'000'000ull, kInputNs = 1'000'000;
// How often (in inputs) the devices changed since last time are written, as
// a "last-time" poll does, and how often every tracked device is, as
// devices.json does. Every input writes its transmitter's device.
constexpr std::uint64_t kChangedEvery = 64, kAllEvery = 4096;
// How often the tracker starts over. It is full (2000 devices, evicting)
// after some 30,000 inputs; starting over bounds how large its devices'
// lists grow, which is what the fuzzer's speed depends on.
constexpr std::uint64_t kFreshEvery = 65536;

struct state {
  oui_table ouis;  // empty: every manufacturer is "Unknown"
  source_table table;
  std::unique_ptr<device_tracker> tracker;
  std::uint32_t sources[2];
  std::uint64_t inputs = 0;
  std::string json;

  state() { fresh(); }
  void fresh() {
    tracker = std::make_unique<device_tracker>(device_tracker::options{.max_devices = 2000, .shards = 4}, ouis, table);
    sources[0] = table.index_of("5fe308bd-0000-4000-8000-000000000001", "fuzz-a");
    sources[1] = table.index_of("5fe308bd-0000-4000-8000-000000000002", "fuzz-b");
  }
};

// Valid JSON, valid UTF-8: what Kismet's clients expect of every body.
void check_json(const std::string& s) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(s.data(), s.size());
  if (doc.HasParseError()) {
    std::fprintf(stderr, "device JSON does not parse at %zu: %s\n%s\n", doc.GetErrorOffset(),
                 rapidjson::GetParseError_En(doc.GetParseError()), s.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static state st;
  const std::uint32_t dlt = kLinkTypes[data[0] % 5];
  const unsigned flags = data[0] / 5;
  const std::span<const std::uint8_t> packet(data + 1, size - 1);
  const std::uint64_t n = ++st.inputs;

  // The decoders alone, on their own counters.
  anomaly_counters anomalies;
  radio_info radio;
  std::span<const std::uint8_t> frame;
  dot11_frame f;
  bool decoded = false;
  if (decode_radio_header(dlt, packet, radio, frame, anomalies) == header_status::ok) {
    decoded = decode_dot11(frame, radio.data_pad, f, anomalies);
    // Elements wherever a body is, not only where a management frame has them.
    element_info ie;
    parse_elements(f.body, ie, anomalies);
  }

  // The same packet through the tracker.
  decoded_packet p;
  p.ts_ns = kStartNs + n * kInputNs;
  p.dlt = dlt;
  p.sensor_freq_khz = 2'437'000;
  p.sensor_has_signal = true;
  p.sensor_signal_dbm = -50;
  if (flags & 2) {
    p.has_gps = true;
    p.lat = 52.5 + static_cast<double>(n % 100) / 1000;
    p.lon = 13.4;
    p.alt = (n & 1) ? 34.0 : std::nan("");
  }
  p.orig_len = static_cast<std::uint32_t>(packet.size());
  p.bytes = packet;
  decode_packet(p, anomalies);
  st.tracker->track(st.sources[flags & 1], p, p.ts_ns);

  // The transmitter's device as JSON, every time.
  if (decoded && f.has_ta) {
    st.json.clear();
    st.tracker->visit(f.ta, [&](const device& d) {
      string_sink sink(st.json);
      json_writer w(sink);
      write_device(w, d, *st.tracker);
    });  // the sink flushes into st.json as it goes out of scope
    if (!st.json.empty()) check_json(st.json);
  }

  // Now and then what changed, or every device, as one JSON array.
  if (n % kChangedEvery == 0) {
    st.json.clear();
    string_sink sink(st.json);
    json_writer w(sink);
    const auto write = [&](const device& d) { write_device(w, d, *st.tracker); };
    w.StartArray();
    if (n % kAllEvery == 0) st.tracker->for_each(write);
    else st.tracker->for_each_changed_since(p.ts_ns - kChangedEvery * kInputNs, write);
    w.EndArray();
    check_json(sink.str());
  }
  if (n % kFreshEvery == 0) st.fresh();
  return 0;
}

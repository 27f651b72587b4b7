// Kismet's message bus over REST: /messagebus/all_messages.json and
// /messagebus/last-time/TS/messages.json (TS: Unix seconds, a fraction
// allowed, negative for seconds ago).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/kismet_time.h"
#include "collector/api/routes_all.h"
#include "collector/core/messages.h"
#include "common/clock.h"

namespace hopwire::collector {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_message(json_writer& w, const bus_message& m) {
  w.StartObject();
  w.Key("kismet.messagebus.message_string");
  w.String(m.text.data(), static_cast<rapidjson::SizeType>(m.text.size()));
  w.Key("kismet.messagebus.message_flags");
  w.Uint(m.flags);
  w.Key("kismet.messagebus.message_time");
  w.Uint64(m.time_ns / 1000000000ull);
  w.Key("hopwire.messagebus.message_id");
  w.Uint64(m.id);
  w.Key("hopwire.messagebus.message_time_usec");
  w.Uint64((m.time_ns / 1000) % 1000000);
  w.EndObject();
}

http_reply all_messages(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartArray();
  for (const auto& m : ctx.svc.messages->all()) write_message(w, m);
  w.EndArray();
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

http_reply messages_since(request_ctx& ctx) {
  const auto now = wall_ns();
  const auto since = parse_kismet_time(ctx.params.at(0), now);
  if (!since)
    return text_reply(400, "timestamp must be Unix seconds, with an optional fraction (1700000000.5), or negative "
                           "for seconds ago");
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  w.Key("kismet.messagebus.timestamp");
  w.Uint64(now / 1000000000ull);
  w.Key("kismet.messagebus.list");
  w.StartArray();
  // Kismet returns messages newer than TS: at whole-second TS, those after it.
  for (const auto& m : ctx.svc.messages->since(*since))
    if (m.time_ns > *since) write_message(w, m);
  w.EndArray();
  w.EndObject();
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

}  // namespace

void add_message_routes(route_table& t, api_context& api) {
  for (const char* m : {"GET", "POST"}) {
    add_route(t, api, m, "/messagebus/all_messages.json", kReadRole,
              "The last messages for people (sensors up and down, reloads, storage, evictions, alerts)",
              all_messages, kCommandLimit);
    add_route(t, api, m, "/messagebus/last-time/{ts}/messages.json", kReadRole,
              "Messages newer than TS (Unix seconds; negative: seconds ago)", messages_since, kCommandLimit);
  }
}

}  // namespace hopwire::collector

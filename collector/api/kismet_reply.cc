#include "collector/api/kismet_reply.h"

#include "collector/api/ek_writer.h"
#include "collector/api/list_request.h"

namespace hopwire::collector {

namespace {

bool is_json(const http_reply& r) { return r.content_type.rfind("application/json", 0) == 0; }

template <typename W>
void write_one(W& w, const rapidjson::Value& v, const list_request& req) {
  write_simplified(w, v, req.fields);
}

// The elements of a list the command keeps: regex, then the window.
std::vector<const rapidjson::Value*> selected(const rapidjson::Value& list, const list_request& req) {
  std::vector<const rapidjson::Value*> out;
  std::size_t seen = 0;
  for (const auto& e : list.GetArray()) {
    if (!req.regex.empty()) {
      bool hit = false;
      for (const auto& term : req.regex)
        if (any_match(e, term.path, 0, *term.re)) {
          hit = true;
          break;
        }
      if (!hit) continue;
    }
    const auto i = seen++;
    if (i < req.start) continue;
    if (req.length && i - req.start >= *req.length) break;
    out.push_back(&e);
  }
  return out;
}

}  // namespace

http_reply kismet_format(const request_ctx& ctx, out_format fmt, http_reply r) {
  if (r.status != 200 || r.stream || !is_json(r)) return r;
  list_request req;
  if (ctx.method == "POST") {
    rapidjson::Document cmd;
    std::string why;
    if (!parse_list_command(ctx, cmd, why) || !read_list_request(cmd, req, why)) return text_reply(400, why);
  }
  const bool plain = req.fields.empty() && req.regex.empty() && req.start == 0 && !req.length;
  if (fmt == out_format::json && plain) return r;
  rapidjson::Document doc;
  doc.Parse(r.body.data(), r.body.size());
  if (doc.HasParseError()) return r;  // ours, so never; pass it on as it is
  std::string body;
  {
    string_sink sink(body);
    json_writer json(sink);
    ek_writer ek(sink);
    auto line = [&](const rapidjson::Value& v) {
      if (fmt == out_format::ekjson) {
        write_one(ek, v, req);
        ek.Reset(sink);
      } else {
        write_one(json, v, req);
        json.Reset(sink);
      }
      sink.Put('\n');
    };
    if (doc.IsArray()) {
      const auto keep = selected(doc, req);
      if (fmt == out_format::json) {
        json.StartArray();
        for (const auto* e : keep) write_one(json, *e, req);
        json.EndArray();
      } else {
        for (const auto* e : keep) line(*e);
      }
    } else if (fmt == out_format::json) {
      write_one(json, doc, req);
    } else {
      line(doc);
    }
    sink.Flush();
  }
  r.body = std::move(body);
  r.content_type = content_type(fmt);
  return r;
}

void add_kismet_route(route_table& t, api_context& api, const std::string& prefix, bool get, bool post,
                      role_mask roles, const std::string& summary, api_handler fn) {
  for (const auto& f : kFormats) {
    const auto fmt = f.fmt;
    auto handler = [fn, fmt](request_ctx& c) { return kismet_format(c, fmt, fn(c)); };
    if (get) add_route(t, api, "GET", prefix + f.suffix, roles, summary, handler);
    if (post) add_route(t, api, "POST", prefix + f.suffix, roles, summary, handler, kListCommandLimit);
  }
}

void extend_kismet_route(route_table& t, api_context& api, const std::string& method, const std::string& pattern,
                         const std::string& prefix, bool get, bool post) {
  const route* base = t.find(method, pattern);
  if (!base) return;
  const auto inner = base->handler;
  const auto roles = base->roles;
  const auto summary = base->summary;
  for (const auto& f : kFormats) {
    const auto fmt = f.fmt;
    const std::string path = prefix + f.suffix;
    auto handler = [&api, inner, fmt](request& req) {
      request copy = req;
      http_reply r = inner(copy);
      request_ctx ctx(api, std::move(req));
      return kismet_format(ctx, fmt, std::move(r));
    };
    for (const char* m : {"GET", "POST"}) {
      if ((m[0] == 'G' && !get) || (m[0] == 'P' && !post) || t.find(m, path)) continue;
      route r;
      r.method = m;
      r.pattern = path;
      r.roles = roles;
      r.summary = summary;
      r.body_limit = m[0] == 'P' ? kListCommandLimit : 0;
      r.handler = handler;
      t.add(std::move(r));
    }
  }
}

}  // namespace hopwire::collector

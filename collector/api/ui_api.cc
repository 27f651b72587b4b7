// The web UI's files at / (collector/web, built into the binary): no
// credentials needed to load them — the login page comes first — and a
// strict Content-Security-Policy: scripts and styles only from the
// collector itself, no inline script, no other origin.
#include <string>

#include "collector/api/routes_all.h"
#include "collector/web/assets.h"

namespace hopwire::collector {

namespace {

constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

bool accepts_gzip(const request_ctx& ctx) {
  return ctx.accept_encoding.find("gzip") != std::string_view::npos;
}

http_reply serve(const request_ctx& ctx, std::string_view path) {
  const auto* a = web::find_asset(path);
  if (!a) {
    if (!web::ui_built())
      return text_reply(404, "this collector was built without the web UI (-DHOPWIRE_WEB_UI=OFF); the REST API "
                             "is all there: see docs/devices.md");
    return text_reply(404, "no such file: " + std::string(path));
  }
  http_reply r;
  r.content_type = std::string(a->content_type);
  r.headers.emplace_back("ETag", std::string(a->etag));
  r.headers.emplace_back("Cache-Control", a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (a->content_type.starts_with("text/html")) {
    r.headers.emplace_back("Content-Security-Policy", std::string(kCsp));
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  if (ctx.if_none_match == a->etag) {
    r.status = 304;
    return r;
  }
  if (!a->gzip.empty() && accepts_gzip(ctx)) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body.assign(a->gzip);
  } else {
    r.body.assign(a->identity);
  }
  return r;
}

}  // namespace

void add_ui_routes(route_table& t, api_context& api) {
  auto file = [&](std::string pattern, std::string summary, api_handler fn) {
    add_route(t, api, "GET", std::move(pattern), kReadRole, std::move(summary), std::move(fn));
    t.last().open = true;
  };
  file("/", "The web UI (no credentials needed: it asks for them)",
       [](request_ctx& c) { return serve(c, "/index.html"); });
  file("/index.html", "The web UI", [](request_ctx& c) { return serve(c, "/index.html"); });
  file("/favicon.svg", "The web UI's icon", [](request_ctx& c) { return serve(c, "/favicon.svg"); });
  file("/assets/{file}", "The web UI's scripts and styles (hashed names, cached for a year)",
       [](request_ctx& c) { return serve(c, "/assets/" + c.params.at(0)); });
}

}  // namespace hopwire::collector

// Session checks (Kismet's /session/...) and API token management over REST
// (/auth/apikey/..., admin only).
#include "collector/api/routes_all.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/api/command_json.h"
#include "common/units.h"

namespace hopwire::collector {

namespace {

constexpr role_mask kAnyRole =
    mask(role::readonly, role::datasource, role::scanreport, role::gps, role::metrics);

http_reply check_session(request_ctx&) { return text_reply(200, "session valid"); }
http_reply check_login(request_ctx&) { return text_reply(200, "login valid"); }

// Who the credentials are: the web UI shows controls by role.
http_reply session_info(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("user");
  w.String(ctx.auth.principal.c_str());
  w.Key("role");
  w.String(role_name(ctx.auth.granted));
  w.Key("hopwire.session.cookie");
  w.Bool(!ctx.session_cookie.empty());
  w.EndObject();
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

// Ends the browser session and clears its cookie (HttpOnly: the page cannot).
http_reply logout(request_ctx& ctx) {
  const bool ended = !ctx.session_cookie.empty() && ctx.svc.auth->end_session(ctx.session_cookie);
  auto r = text_reply(200, ended ? "logged out" : "no session to end (credentials other than a session cookie)");
  r.headers.emplace_back("Set-Cookie", "KISMET=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return r;
}

http_reply generate(request_ctx& ctx) {
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  const auto name = string_field(d, "name");
  if (!name) return text_reply(400, "name: expected the token's name");
  const auto role_text = string_field(d, "role");
  const auto r = role_text ? parse_role(*role_text) : std::nullopt;
  if (!r) return text_reply(400, "role: expected admin, readonly, datasource, scanreport, gps or metrics");
  std::chrono::seconds ttl{0};
  if (auto it = d.FindMember("duration"); it != d.MemberEnd()) {
    if (it->value.IsUint64()) {
      ttl = std::chrono::seconds(it->value.GetUint64());
    } else if (it->value.IsString()) {
      std::string why;
      const auto d = try_parse_duration(it->value.GetString(), why);
      if (!d) return text_reply(400, "duration: expected seconds or a duration such as 30d (0 = never expires)");
      ttl = std::chrono::duration_cast<std::chrono::seconds>(*d);
    } else {
      return text_reply(400, "duration: expected seconds or a duration such as 30d (0 = never expires)");
    }
  }
  // Kismet answers with the token itself; it is shown only this once.
  std::string why;
  const auto token = ctx.svc.auth->try_create_token(*name, *r, ttl, why);
  if (!token) return text_reply(400, why);
  return text_reply(200, *token);
}

http_reply revoke(request_ctx& ctx) {
  rapidjson::Document d;
  http_reply err;
  if (!parse_command(ctx, d, err)) return err;
  const auto name = string_field(d, "name");
  if (!name) return text_reply(400, "name: expected the token's name");
  if (!ctx.svc.auth->revoke_token(*name)) return text_reply(404, "no token named '" + *name + "'");
  return text_reply(200, "revoked token '" + *name + "'");
}

http_reply list(request_ctx& ctx) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  for (const auto& t : ctx.svc.auth->list_tokens()) {
    w.StartObject();
    w.Key("kismet.httpd.auth.name");
    w.String(t.name.c_str());
    w.Key("kismet.httpd.auth.role");
    w.String(role_name(t.granted));
    w.Key("hopwire.auth.created");
    w.Int64(t.created);
    w.Key("kismet.httpd.auth.expiration");
    w.Int64(t.expires);
    w.EndObject();
  }
  w.EndArray();
  http_reply r;
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

}  // namespace

void add_auth_routes(route_table& t, api_context& api) {
  add_route(t, api, "GET", "/session/check_session", kAnyRole, "200 when the credentials or KISMET cookie are valid",
            check_session);
  add_route(t, api, "GET", "/session/check_login", kAnyRole,
            "200 when the login is valid; with any credential, starts a browser session (KISMET cookie)",
            check_login);
  t.last().starts_session = true;
  add_route(t, api, "GET", "/session/info.json", kAnyRole, "Who the credentials are: user and role", session_info);
  add_route(t, api, "POST", "/session/logout.cmd", kAnyRole, "End the browser session and clear its cookie", logout,
            kCommandLimit);
  add_route(t, api, "POST", "/auth/apikey/generate.cmd", kAdminOnly,
            "Create an API token: {name, role, duration}; answers the token, shown once", generate, kCommandLimit);
  add_route(t, api, "POST", "/auth/apikey/revoke.cmd", kAdminOnly, "Revoke an API token: {name}", revoke,
            kCommandLimit);
  add_route(t, api, "GET", "/auth/apikey/list.json", kAdminOnly, "API tokens: names, roles, expiry (never secrets)",
            list);
}

}  // namespace hopwire::collector

#pragma once
// Whether a request may go on, decided from its head alone: prefix
// stripping, refusal of credentials in the URL, routing, the login rate
// limit, authentication (Basic, Bearer, the KISMET cookie), roles, and the
// body limit. A plain function of plain inputs, so it is tested without a
// socket; the HTTP session only carries out the decision.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/auth/auth.h"
#include "collector/auth/login_limiter.h"
#include "collector/net/routes.h"

namespace hopwire::collector {

struct request_head {
  std::string_view method;         // as sent: GET, HEAD, POST, ...
  std::string_view target;         // path and query
  bool upgrade = false;            // a WebSocket upgrade request
  std::string_view authorization;  // the header's value, or empty
  std::string_view cookie;         // the Cookie header's value, or empty
  // X-Requested-With: XMLHttpRequest (the web UI): a 401 then carries no
  // WWW-Authenticate, so the browser shows the UI's login, not its own dialog.
  bool from_script = false;
  std::optional<std::uint64_t> content_length;
  std::string_view remote_ip;
};

struct admission_env {
  const route_table& routes;
  credential_store& auth;
  login_limiter& limiter;
  std::string_view uri_prefix;  // "" or "/hopwire": stripped before routing
  bool tls = false;             // the session cookie is marked Secure
};

struct admission {
  enum class verdict : std::uint8_t {
    answer,     // send `reply` and close
    read_body,  // read the body (at most r->body_limit), then call r->handler
    upgrade,    // hand the connection to r->upgrade
  };
  verdict what = verdict::answer;
  http_reply reply;
  const route* r = nullptr;
  std::vector<std::string> params;
  std::string path;
  query_list query;
  auth_result auth;
  std::string set_cookie;     // Set-Cookie value for a browser that logged in with a password
  bool auth_failed = false;   // credentials were given and wrong (counted by the caller)
};

admission admit(const request_head& head, const admission_env& env);

// The KISMET cookie's value in a Cookie header, or empty.
std::string_view kismet_cookie(std::string_view cookie_header);

}  // namespace hopwire::collector

#pragma once
// The collector's HTTP routes: one table naming every route with its method,
// the roles that may use it, its body limit and its handler. The HTTP
// session admits a request against it (admission.h) and calls the handler;
// the parts that answer (api/) fill it.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/auth/auth.h"
#include "collector/net/http_types.h"
#include "collector/net/message_handler.h"

namespace hopwire::collector {

using query_list = std::vector<std::pair<std::string, std::string>>;

// A request as a handler sees it, after admission.
struct request {
  std::string_view method;
  std::string_view path;             // without the query and any --uri-prefix
  std::vector<std::string> params;   // {placeholders} of the route, in order
  query_list query;
  std::string_view body;
  std::string_view content_type;
  auth_result auth;
  std::string_view remote;           // client address and port
  std::string_view session_cookie;   // the KISMET cookie's value, if any
  std::string_view accept_encoding;  // headers some answers depend on
  std::string_view if_none_match;

  std::optional<std::string> query_param(std::string_view key) const;
};

struct route {
  std::string method;    // GET, POST, or WS for a WebSocket upgrade
  std::string pattern;   // path; {name} matches one segment
  role_mask roles = 0;   // who may use it; admin may always
  std::string summary;
  std::function<http_reply(request&)> handler;  // GET/POST
  std::size_t body_limit = 0;                   // bytes accepted in a request body
  message_handler_factory upgrade;              // WS
  // Needs no credentials: the web UI's own files (the login page must load
  // before anyone has logged in). Nothing with data is public.
  bool open = false;
  // A successful login here gets a session cookie whatever the credential
  // (/session/check_login: the web UI's sign-in with a token). Elsewhere
  // only a password login does, as in Kismet.
  bool starts_session = false;
  // Credentials in the query string (?user=&password=, ?KISMET=) accepted
  // here — only Kismet's capture tools need it, and only when the operator
  // turned kismet_sensors on. Everywhere else they are refused.
  bool url_credentials = false;
  // Logged (with the client's address, never the credentials) when URL
  // credentials are refused here: on the sensor WebSocket, that Kismet's
  // capture tools are off and how to turn them on.
  std::string url_credentials_refusal_log;
};

struct route_match {
  const route* r = nullptr;
  std::vector<std::string> params;
  bool path_known = false;  // some route has this path, with another method
};

class route_table {
 public:
  void add(route r) { routes_.push_back(std::move(r)); }
  route& last() { return routes_.back(); }
  // The route with exactly this method and pattern, or null.
  route* find(std::string_view method, std::string_view pattern) {
    for (auto& r : routes_)
      if (r.method == method && r.pattern == pattern) return &r;
    return nullptr;
  }
  route_match match(std::string_view method, std::string_view path) const;
  const std::vector<route>& all() const { return routes_; }

 private:
  std::vector<route> routes_;
};

// Splits "a=1&b=x%20y" with URL decoding.
query_list parse_query(std::string_view query);
std::string url_decode(std::string_view s);
// True if the query names something that looks like a credential.
bool query_has_credentials(const query_list& query);

}  // namespace hopwire::collector

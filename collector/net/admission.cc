#include "collector/net/admission.h"

#include "common/log.h"

namespace hopwire::collector {

std::string_view kismet_cookie(std::string_view v) {
  while (!v.empty()) {
    const auto semi = v.find(';');
    std::string_view item = v.substr(0, semi);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.substr(0, 7) == "KISMET=") return item.substr(7);
    if (semi == std::string_view::npos) break;
    v.remove_prefix(semi + 1);
  }
  return {};
}

namespace {

admission answer(admission a, unsigned status, std::string message) {
  a.what = admission::verdict::answer;
  a.reply = text_reply(status, std::move(message));
  return a;
}

}  // namespace

admission admit(const request_head& h, const admission_env& env) {
  admission a;
  const auto qpos = h.target.find('?');
  a.path = std::string(h.target.substr(0, qpos));
  const auto& prefix = env.uri_prefix;
  if (!prefix.empty() && a.path.size() > prefix.size() && a.path.compare(0, prefix.size(), prefix) == 0 &&
      a.path[prefix.size()] == '/')
    a.path.erase(0, prefix.size());
  if (qpos != std::string_view::npos) a.query = parse_query(h.target.substr(qpos + 1));
  SPDLOG_TRACE("request {} {} from {}", h.method, a.path, h.remote_ip);

  const std::string_view method = h.upgrade ? std::string_view("WS") : h.method == "HEAD" ? "GET" : h.method;
  auto m = env.routes.match(method, a.path);
  if (!m.r) {
    std::string why = m.path_known ? "method " + std::string(h.method) + " is not allowed on " + a.path
                                   : "no such route: " + a.path;
    return answer(std::move(a), m.path_known ? 405 : 404, std::move(why));
  }
  a.r = m.r;
  a.params = std::move(m.params);
  const bool url_creds = query_has_credentials(a.query);
  if (url_creds && !a.r->url_credentials) {
    if (!a.r->url_credentials_refusal_log.empty())
      spdlog::warn("{} from {}: {}", a.path, h.remote_ip, a.r->url_credentials_refusal_log);
    return answer(std::move(a), 400,
                  "credentials in the URL are refused: send them in the Authorization header "
                  "(HTTP Basic or Bearer token)");
  }

  if (a.r->open) {
    a.what = admission::verdict::read_body;
    return a;
  }

  const std::string_view cookie = kismet_cookie(h.cookie);
  const std::string ip(h.remote_ip);
  if (!h.authorization.empty() || !cookie.empty() || url_creds) {
    if (const unsigned wait = env.limiter.retry_after(ip)) {
      std::string why = "too many failed logins from " + ip + "; try again in " + std::to_string(wait) + " s";
      auto r = answer(std::move(a), 429, std::move(why));
      r.reply.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    }
  }
  bool by_password = false;
  std::string q_user, q_password, q_token;
  if (url_creds) {
    for (const auto& [k, v] : a.query) {
      if (k == "user") q_user = v;
      else if (k == "password") q_password = v;
      else if (k == "KISMET") q_token = v;
    }
  }
  if (h.authorization.empty() && cookie.empty() && url_creds) {
    // Kismet's tools: ?user=&password= or ?KISMET=<token>. Never logged.
    a.auth = !q_token.empty() ? env.auth.check_cookie(q_token) : env.auth.check_basic(q_user, q_password);
  } else if (!h.authorization.empty()) {
    const auto& v = h.authorization;
    by_password = v.size() > 6 && (v[0] == 'B' || v[0] == 'b') && (v[1] == 'a' || v[1] == 'A');
    a.auth = env.auth.check_authorization(v);
  } else if (!cookie.empty()) {
    a.auth = env.auth.check_cookie(cookie);
  }
  if (a.auth.ok() && (by_password || (a.r->starts_session && !h.authorization.empty())) && !h.upgrade) {
    env.limiter.succeeded(ip);
    // A browser that logged in with a password gets a session cookie.
    a.set_cookie = "KISMET=" + env.auth.create_session(a.auth) + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                   std::to_string(std::chrono::seconds(credential_store::kSessionTtl).count()) +
                   (env.tls ? "; Secure" : "");
  }
  if (!a.auth.ok()) {
    const bool given = a.auth.st != auth_result::status::none;
    if (given) {
      env.limiter.failed(ip);
      a.auth_failed = true;
      spdlog::trace("refused credentials from {} for {} {}: {}", ip, h.method, a.path, a.auth.message);
    }
    std::string why = given ? a.auth.message : "authentication required: HTTP Basic or Authorization: Bearer <token>";
    auto r = answer(std::move(a), 401, std::move(why));
    if (!h.from_script) r.reply.headers.emplace_back("WWW-Authenticate", "Basic realm=\"hopwire\", charset=\"UTF-8\"");
    return r;
  }
  if (a.auth.granted != role::admin && !(a.r->roles & mask(a.auth.granted))) {
    const std::string why = std::string("role '") + role_name(a.auth.granted) + "' may not use " + a.r->method + " " +
                            a.r->pattern;
    spdlog::trace("refused {} {} from {} ({}): {}", h.method, a.path, ip, a.auth.principal, why);
    return answer(std::move(a), 403, std::move(why));
  }
  if (h.upgrade) {
    a.what = admission::verdict::upgrade;
    return a;
  }
  const std::size_t limit = a.r->body_limit;
  if (h.content_length && *h.content_length > limit) {
    std::string why = "request body of " + std::to_string(*h.content_length) + " bytes exceeds the limit of " +
                      std::to_string(limit) + " bytes for " + a.path;
    return answer(std::move(a), 413, std::move(why));
  }
  a.what = admission::verdict::read_body;
  return a;
}

}  // namespace hopwire::collector

#include "collector/net/routes.h"

#include <cctype>

namespace hopwire::collector {

http_reply text_reply(unsigned status, std::string message) {
  http_reply r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(message);
  if (r.body.empty() || r.body.back() != '\n') r.body.push_back('\n');
  return r;
}

std::optional<std::string> request::query_param(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return std::nullopt;
}

route_match route_table::match(std::string_view method, std::string_view path) const {
  route_match m;
  for (const auto& r : routes_) {
    std::vector<std::string> params;
    std::string_view pat = r.pattern, p = path;
    bool ok = true;
    while (ok) {
      if (pat.empty() || p.empty()) {
        ok = pat.empty() && p.empty();
        break;
      }
      const auto pseg_end = pat.find('/', 1);
      const auto seg_end = p.find('/', 1);
      const auto pseg = pat.substr(0, pseg_end);
      const auto seg = p.substr(0, seg_end);
      if (pseg.size() > 2 && pseg[1] == '{') {
        if (seg.size() < 2) ok = false;
        else params.emplace_back(url_decode(seg.substr(1)));
      } else if (pseg != seg) {
        ok = false;
      }
      pat = pseg_end == std::string_view::npos ? std::string_view() : pat.substr(pseg_end);
      p = seg_end == std::string_view::npos ? std::string_view() : p.substr(seg_end);
    }
    if (!ok) continue;
    if (r.method != method) {
      m.path_known = true;
      continue;
    }
    m.r = &r;
    m.params = std::move(params);
    return m;
  }
  return m;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      auto hv = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int a = hv(s[i + 1]), b = hv(s[i + 2]);
      if (a < 0 || b < 0) {
        out.push_back(s[i]);
        continue;
      }
      out.push_back(static_cast<char>(a << 4 | b));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

query_list parse_query(std::string_view query) {
  query_list out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    if (!item.empty()) {
      const auto eq = item.find('=');
      out.emplace_back(url_decode(item.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : url_decode(item.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

bool query_has_credentials(const query_list& query) {
  for (const auto& [k, v] : query) {
    std::string l;
    for (char c : k) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (l == "user" || l == "username" || l == "password" || l == "pass" || l == "apikey" || l == "api_key" ||
        l == "token" || l == "kismet" || l == "auth" || l == "authorization")
      return true;
  }
  return false;
}

}  // namespace hopwire::collector

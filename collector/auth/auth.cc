#include "collector/auth/auth.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "collector/config/state_dir.h"
#include "common/log.h"

namespace hopwire::collector {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kPbkdf2Iterations = 210000;
constexpr auto kVerifiedTtl = std::chrono::minutes(5);

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("no randomness available from OpenSSL");
  return out;
}

std::string hex(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view h) {
  if (h.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(h.size() / 2);
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < h.size(); i += 2) {
    const int a = val(h[i]), b = val(h[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    out.push_back(static_cast<char>(a << 4 | b));
  }
  return out;
}

std::string base64url(std::string_view raw) {
  static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlpha[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlpha[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 unavailable");
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string pbkdf2(std::string_view password, std::string_view salt, std::uint32_t iterations) {
  std::string out(32, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                        static_cast<int>(iterations), EVP_sha256(), static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1)
    throw std::runtime_error("PBKDF2 unavailable");
  return out;
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

const char* role_name(role r) {
  switch (r) {
    case role::admin: return "admin";
    case role::readonly: return "readonly";
    case role::datasource: return "datasource";
    case role::scanreport: return "scanreport";
    case role::gps: return "gps";
    case role::metrics: return "metrics";
  }
  return "?";
}

std::optional<role> parse_role(std::string_view name) {
  for (role r : kAllRoles)
    if (name == role_name(r)) return r;
  return std::nullopt;
}

credential_store::credential_store(fs::path state_dir)
    : dir_(std::move(state_dir)), cache_key_salt_(random_bytes(16)) {}

void credential_store::reload_if_changed_locked() {
  auto stamp_of = [](const fs::path& p) {
    file_stamp s;
    struct stat st;
    if (::stat(p.c_str(), &st) == 0) {
      s.mtime_ns = std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      s.size = st.st_size;
      s.inode = st.st_ino;
    }
    return s;
  };
  const auto u = stamp_of(dir_ / "users");
  if (!(u == users_stamp_)) {
    users_stamp_ = u;
    load_users_locked();
    verified_.clear();
  }
  const auto t = stamp_of(dir_ / "tokens");
  if (!(t == tokens_stamp_)) {
    tokens_stamp_ = t;
    load_tokens_locked();
  }
}

// users: one line per user: NAME ROLE pbkdf2-sha256 ITERATIONS SALT_HEX HASH_HEX
void credential_store::load_users_locked() {
  users_.clear();
  std::ifstream in(dir_ / "users");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string name, rname, scheme, iters, salt, hash;
    ss >> name >> rname >> scheme >> iters >> salt >> hash;
    auto r = parse_role(rname);
    auto s = unhex(salt), h = unhex(hash);
    if (name.empty() || !r || scheme != "pbkdf2-sha256" || !s || !h || iters.empty()) {
      spdlog::error("{}: line {} is not a valid user entry; ignoring it", (dir_ / "users").string(), n);
      continue;
    }
    std::uint32_t n_iter = 0;
    const auto [end, ec] = std::from_chars(iters.data(), iters.data() + iters.size(), n_iter);
    if (ec != std::errc() || end != iters.data() + iters.size() || n_iter == 0) {
      spdlog::error("{}: line {} has an unreadable iteration count; ignoring it", (dir_ / "users").string(), n);
      continue;
    }
    users_[name] = user_entry{name, *r, n_iter, *s, *h};
  }
}

// tokens: one line per token: NAME ROLE SHA256_HEX CREATED EXPIRES
void credential_store::parse_tokens(std::istream& in, const std::string& where,
                                    std::unordered_map<std::string, token_entry>& out) {
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string name, rname, hash;
    std::int64_t created = 0, expires = 0;
    ss >> name >> rname >> hash >> created >> expires;
    auto r = parse_role(rname);
    auto h = unhex(hash);
    if (name.empty() || !r || !h || h->size() != 32) {
      spdlog::error("{}: line {} is not a valid token entry; ignoring it", where, n);
      continue;
    }
    out[*h] = token_entry{token_info{name, *r, created, expires}, *h};
  }
}

void credential_store::load_tokens_locked() {
  tokens_by_hash_.clear();
  std::ifstream in(dir_ / "tokens");
  parse_tokens(in, (dir_ / "tokens").string(), tokens_by_hash_);
}

std::string credential_store::export_tokens() {
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  std::vector<std::string> lines;
  for (const auto& [hash, t] : tokens_by_hash_)
    lines.push_back(t.info.name + " " + role_name(t.info.granted) + " " + hex(hash) + " " +
                    std::to_string(t.info.created) + " " + std::to_string(t.info.expires) + "\n");
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l;
  return out;
}

void credential_store::set_shared_tokens(const std::vector<std::string>& texts) {
  std::unordered_map<std::string, token_entry> all;
  for (const auto& t : texts) {
    std::istringstream in(t);
    parse_tokens(in, "a token list shared by another collector", all);
  }
  std::lock_guard lock(mu_);
  shared_by_hash_ = std::move(all);
}

void credential_store::save_users_locked() {
  std::string out = "# hopwire users: NAME ROLE SCHEME ITERATIONS SALT HASH (managed by hopwire-collector)\n";
  for (const auto& [name, u] : users_)
    out += name + " " + role_name(u.granted) + " pbkdf2-sha256 " + std::to_string(u.iterations) + " " +
           hex(u.salt) + " " + hex(u.hash) + "\n";
  write_file_atomic(dir_ / "users", out, 0600);
  users_stamp_ = {};  // re-read on next use
}

void credential_store::save_tokens_locked() {
  std::string out = "# hopwire API tokens: NAME ROLE SHA256 CREATED EXPIRES (managed by hopwire-collector)\n";
  for (const auto& [hash, t] : tokens_by_hash_)
    out += t.info.name + " " + role_name(t.info.granted) + " " + hex(hash) + " " + std::to_string(t.info.created) +
           " " + std::to_string(t.info.expires) + "\n";
  write_file_atomic(dir_ / "tokens", out, 0600);
  tokens_stamp_ = {};
}

std::optional<fs::path> credential_store::ensure_admin(const char* env_password) {
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  const bool have_admin = users_.count("admin") > 0;
  if (env_password && *env_password) {
    // Automation sets the password explicitly; apply it every start so the
    // environment stays the source of truth.
    const auto salt = random_bytes(16);
    users_["admin"] = user_entry{"admin", role::admin, kPbkdf2Iterations, salt,
                                 pbkdf2(env_password, salt, kPbkdf2Iterations)};
    save_users_locked();
    return std::nullopt;
  }
  if (have_admin) return std::nullopt;
  // 24 random bytes, URL-safe: 32 characters, about 192 bits.
  const std::string password = base64url(random_bytes(24));
  const fs::path file = dir_ / "admin-password";
  write_file_atomic(file, password + "\n", 0600);
  const auto salt = random_bytes(16);
  users_["admin"] = user_entry{"admin", role::admin, kPbkdf2Iterations, salt, pbkdf2(password, salt, kPbkdf2Iterations)};
  save_users_locked();
  return file;
}

void credential_store::set_password(const std::string& user, const std::string& password) {
  if (password.size() < 8) throw std::invalid_argument("password must be at least 8 characters");
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  auto it = users_.find(user);
  if (it == users_.end()) throw std::invalid_argument("no user named '" + user + "'");
  it->second.salt = random_bytes(16);
  it->second.iterations = kPbkdf2Iterations;
  it->second.hash = pbkdf2(password, it->second.salt, kPbkdf2Iterations);
  save_users_locked();
  // A password file from first start no longer tells the truth.
  std::error_code ec;
  if (user == "admin") fs::remove(dir_ / "admin-password", ec);
}

std::string credential_store::create_token(const std::string& name, role r, std::chrono::seconds ttl) {
  std::string why;
  auto t = try_create_token(name, r, ttl, why);
  if (!t) throw std::invalid_argument(why);
  return std::move(*t);
}

std::optional<std::string> credential_store::try_create_token(const std::string& name, role r,
                                                              std::chrono::seconds ttl, std::string& why) {
  if (name.empty() || name.find_first_of(" \t\r\n#") != std::string::npos) {
    why = "token name must be non-empty and contain no spaces or '#'";
    return std::nullopt;
  }
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  for (const auto& [h, t] : tokens_by_hash_)
    if (t.info.name == name) {
      why = "a token named '" + name + "' already exists";
      return std::nullopt;
    }
  const std::string secret = "hw_" + base64url(random_bytes(32));
  const std::string h = sha256(secret);
  const std::int64_t now = unix_now();
  tokens_by_hash_[h] = token_entry{token_info{name, r, now, ttl.count() > 0 ? now + ttl.count() : 0}, h};
  save_tokens_locked();
  return secret;
}

bool credential_store::revoke_token(const std::string& name) {
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  for (auto it = tokens_by_hash_.begin(); it != tokens_by_hash_.end(); ++it) {
    if (it->second.info.name == name) {
      tokens_by_hash_.erase(it);
      save_tokens_locked();
      return true;
    }
  }
  return false;
}

std::vector<token_info> credential_store::list_tokens() {
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  std::vector<token_info> out;
  for (const auto& [h, t] : tokens_by_hash_) out.push_back(t.info);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

auth_result credential_store::check_basic(std::string_view user, std::string_view password) {
  auth_result res;
  std::string key = sha256(cache_key_salt_ + std::string(user) + '\0' + std::string(password));
  user_entry u;
  {
    std::lock_guard lock(mu_);
    reload_if_changed_locked();
    auto c = verified_.find(key);
    if (c != verified_.end() && c->second.second > std::chrono::steady_clock::now()) {
      res.st = auth_result::status::ok;
      res.granted = c->second.first;
      res.principal = std::string(user);
      return res;
    }
    auto it = users_.find(std::string(user));
    if (it != users_.end()) u = it->second;
  }
  // The slow hash runs outside the lock, and runs even for unknown users so
  // that timing does not say which user names exist.
  const std::string salt = u.salt.empty() ? std::string(16, 'x') : u.salt;
  const std::uint32_t iters = u.iterations ? u.iterations : kPbkdf2Iterations;
  const std::string computed = pbkdf2(password, salt, iters);
  if (u.name.empty() || !equal_ct(computed, u.hash)) {
    res.st = auth_result::status::bad_credentials;
    res.message = "wrong user name or password";
    return res;
  }
  res.st = auth_result::status::ok;
  res.granted = u.granted;
  res.principal = u.name;
  std::lock_guard lock(mu_);
  if (verified_.size() > 4096) verified_.clear();
  verified_[key] = {u.granted, std::chrono::steady_clock::now() + kVerifiedTtl};
  return res;
}

auth_result credential_store::check_bearer(std::string_view token) {
  auth_result res;
  const std::string h = sha256(token);
  std::lock_guard lock(mu_);
  reload_if_changed_locked();
  // A hash-table lookup on the SHA-256 of the token: what leaks through
  // timing is about the hash, not the secret.
  const token_entry* found = nullptr;
  if (auto it = tokens_by_hash_.find(h); it != tokens_by_hash_.end()) found = &it->second;
  else if (auto sh = shared_by_hash_.find(h); sh != shared_by_hash_.end()) found = &sh->second;
  if (!found) {
    res.st = auth_result::status::bad_credentials;
    res.message = "unknown or revoked API token";
    return res;
  }
  const auto& info = found->info;
  if (info.expires != 0 && info.expires <= unix_now()) {
    res.st = auth_result::status::expired;
    res.message = "API token '" + info.name + "' has expired";
    return res;
  }
  res.st = auth_result::status::ok;
  res.granted = info.granted;
  res.principal = info.name;
  return res;
}

std::string credential_store::create_session(const auth_result& login) {
  const std::string value = base64url(random_bytes(24));
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (sessions_.size() >= 10000) {
    // Full: drop expired sessions, then the least recently used one.
    std::erase_if(sessions_, [&](const auto& kv) { return now - kv.second.last_used > kSessionTtl; });
    if (sessions_.size() >= 10000)
      sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
                        return a.second.last_used < b.second.last_used;
                      }));
  }
  sessions_[sha256(value)] = session{login.granted, login.principal, now};
  return value;
}

bool credential_store::end_session(std::string_view value) {
  std::lock_guard lock(mu_);
  return sessions_.erase(sha256(value)) > 0;
}

auth_result credential_store::check_cookie(std::string_view value) {
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(sha256(value));
    if (it != sessions_.end()) {
      const auto now = std::chrono::steady_clock::now();
      auth_result res;
      if (now - it->second.last_used > kSessionTtl) {
        sessions_.erase(it);
        res.st = auth_result::status::expired;
        res.message = "session expired; log in again";
        return res;
      }
      it->second.last_used = now;
      res.st = auth_result::status::ok;
      res.granted = it->second.granted;
      res.principal = it->second.principal;
      return res;
    }
  }
  // Kismet also accepts an API token as the cookie.
  auto res = check_bearer(value);
  if (!res.ok() && res.st == auth_result::status::bad_credentials) res.message = "unknown or expired session";
  return res;
}

auth_result credential_store::check_authorization(std::string_view header) {
  auto starts_with_ci = [](std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
        return false;
    return true;
  };
  auth_result res;
  if (starts_with_ci(header, "Basic ")) {
    auto decoded = base64_decode(header.substr(6));
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      res.st = auth_result::status::malformed;
      res.message = "malformed Basic credentials";
      return res;
    }
    return check_basic(std::string_view(*decoded).substr(0, colon), std::string_view(*decoded).substr(colon + 1));
  }
  if (starts_with_ci(header, "Bearer ")) {
    auto tok = header.substr(7);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    return check_bearer(tok);
  }
  res.st = auth_result::status::malformed;
  res.message = "unsupported Authorization scheme (use Basic or Bearer)";
  return res;
}

}  // namespace hopwire::collector

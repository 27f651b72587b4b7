#pragma once
// Who may do what: roles, the admin account, API tokens, and checking the
// credentials a request carries. Secrets are stored only as hashes, in two
// small files of the state directory (users, tokens) that the command line
// may change while the collector runs; changes are picked up on next use.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hopwire::collector {

// metrics: reads /metrics and nothing else (a Prometheus scraper).
enum class role : std::uint8_t { admin, readonly, datasource, scanreport, gps, metrics };
inline constexpr role kAllRoles[] = {role::admin,      role::readonly, role::datasource,
                                     role::scanreport, role::gps,      role::metrics};

using role_mask = std::uint32_t;
constexpr role_mask mask(role r) { return role_mask(1) << static_cast<unsigned>(r); }
template <class... R>
constexpr role_mask mask(role r, R... rest) {
  return mask(r) | mask(rest...);
}

const char* role_name(role r);
std::optional<role> parse_role(std::string_view name);

struct auth_result {
  enum class status { ok, none, bad_credentials, expired, malformed };
  status st = status::none;
  role granted = role::readonly;
  std::string principal;  // user name or token name; never a secret
  std::string message;    // why not, for the client

  bool ok() const { return st == status::ok; }
};

struct token_info {
  std::string name;
  role granted = role::readonly;
  std::int64_t created = 0;  // Unix seconds
  std::int64_t expires = 0;  // Unix seconds; 0 = never
};

class credential_store {
 public:
  explicit credential_store(std::filesystem::path state_dir);

  // First start: creates user "admin" with a random password written once to
  // <state>/admin-password (0600), or with `env_password` when given.
  // Returns the path of the password file when one was written.
  std::optional<std::filesystem::path> ensure_admin(const char* env_password);
  void set_password(const std::string& user, const std::string& password);

  // Returns the secret, shown once. `ttl` of zero means no expiry.
  std::string create_token(const std::string& name, role r, std::chrono::seconds ttl);
  // The same for the running collector: empty, with the reason in `why`.
  std::optional<std::string> try_create_token(const std::string& name, role r, std::chrono::seconds ttl,
                                              std::string& why);
  bool revoke_token(const std::string& name);
  std::vector<token_info> list_tokens();

  // Cluster mode (docs/cluster.md): this collector's tokens as text lines
  // (NAME ROLE SHA256 CREATED EXPIRES, sorted; hashes only, never secrets),
  // and the other collectors' texts, against which a bearer token unknown
  // here is checked, so a sensor's token works wherever it fails over.
  std::string export_tokens();
  void set_shared_tokens(const std::vector<std::string>& texts);

  auth_result check_basic(std::string_view user, std::string_view password);
  auth_result check_bearer(std::string_view token);
  // Parses an Authorization header value (Basic or Bearer).
  auth_result check_authorization(std::string_view header);

  // Browser sessions (Kismet's KISMET cookie): a random value handed out
  // after a successful password login, kept hashed in memory, expiring
  // after kSessionTtl of disuse. The cookie may also carry an API token.
  static constexpr std::chrono::hours kSessionTtl{8};
  std::string create_session(const auth_result& login);
  auth_result check_cookie(std::string_view value);
  // Logs a browser session out (an API token given as the cookie is not
  // revoked by this). True when there was such a session.
  bool end_session(std::string_view value);

 private:
  struct user_entry {
    std::string name;
    role granted = role::admin;
    std::uint32_t iterations = 0;
    std::string salt;  // raw bytes
    std::string hash;  // raw bytes
  };
  struct token_entry {
    token_info info;
    std::string hash;  // SHA-256 of the token, raw bytes
  };

  void reload_if_changed_locked();
  void load_users_locked();
  void load_tokens_locked();
  // Token lines as the tokens file holds them, into `out`; `where` names
  // the text in errors.
  static void parse_tokens(std::istream& in, const std::string& where,
                           std::unordered_map<std::string, token_entry>& out);
  void save_users_locked();
  void save_tokens_locked();

  std::filesystem::path dir_;
  std::mutex mu_;
  std::unordered_map<std::string, user_entry> users_;
  std::unordered_map<std::string, token_entry> tokens_by_hash_;
  std::unordered_map<std::string, token_entry> shared_by_hash_;  // other collectors' (cluster mode)
  struct file_stamp {
    std::int64_t mtime_ns = -1;
    std::int64_t size = -1;
    std::uint64_t inode = 0;
    bool operator==(const file_stamp&) const = default;
  };
  file_stamp users_stamp_, tokens_stamp_;
  // Successful password checks, keyed by a salted hash of user+password, so
  // a client sending Basic on every request does not pay the slow hash each time.
  std::string cache_key_salt_;
  std::unordered_map<std::string, std::pair<role, std::chrono::steady_clock::time_point>> verified_;
  struct session {
    role granted;
    std::string principal;
    std::chrono::steady_clock::time_point last_used;
  };
  std::unordered_map<std::string, session> sessions_;  // by SHA-256 of the cookie value
};

}  // namespace hopwire::collector

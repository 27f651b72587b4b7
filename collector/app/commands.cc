#include "collector/app/commands.h"

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

#include "collector/api/device_json.h"
#include "collector/api/ek_writer.h"
#include "collector/app/collector_app.h"
#include "collector/auth/auth.h"
#include "collector/config/settings.h"
#include "collector/config/state_dir.h"
#include "collector/core/source_table.h"
#include "collector/persist/device_persister.h"
#include "collector/persist/store.h"
#include "collector/track/device_tracker.h"
#include "collector/track/oui_table.h"
#include "common/log.h"
#include "common/units.h"

namespace hopwire::collector {

namespace {

std::string read_password_interactive(const std::string& prompt) {
  std::string pw;
  if (isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s", prompt.c_str());
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, pw);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  } else {
    std::getline(std::cin, pw);
  }
  return pw;
}

}  // namespace

int export_devices(const std::filesystem::path& state_dir, const std::string& format) {
  init_logging("warn");
  if (format != "json" && format != "itjson") throw std::invalid_argument("--format must be json or itjson");
  store db(state_dir / "db", true);
  oui_table ouis;
  std::string why;
  ouis.load(std::string(kDefaultOuiPath), why);
  source_table table;
  for (const auto& s : db.load_sources()) table.index_of(s.uuid, s.name);
  device_tracker tracker({0, 64}, ouis, table);
  device_persister persister(tracker, table, db, std::chrono::seconds(1));
  persister.load();
  std::string out;
  {
    string_sink sink(out);
    json_writer w(sink);
    if (format == "json") w.StartArray();
    tracker.for_each([&](const device& d) {
      write_device(w, d, tracker);
      if (format == "itjson") {
        sink.Put('\n');
        w.Reset(sink);
      }
      if (out.size() > (1 << 20)) {
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
      }
    });
    if (format == "json") w.EndArray();
    sink.Flush();
  }
  if (format == "json") out.push_back('\n');
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int print_routes(const std::string& format) {
  api_context api;  // no parts: the table only describes itself
  const route_table table = collector_routes(api, {}, {});
  auto roles = [](const route& r) {
    if (r.open) return std::string("anyone (no credentials)");
    const role_mask m = r.roles;
    std::string out = "admin";
    for (role r : {role::readonly, role::datasource, role::scanreport, role::gps, role::metrics})
      if (m & mask(r)) out += std::string(", ") + role_name(r);
    return out;
  };
  if (format == "json") {
    std::printf("[");
    bool first = true;
    for (const auto& r : table.all()) {
      std::printf("%s\n{\"method\": \"%s\", \"path\": \"%s\", \"roles\": [", first ? "" : ",",
                  std::string(r.method).c_str(), std::string(r.pattern).c_str());
      std::printf("\"admin\"");
      for (role x : {role::readonly, role::datasource, role::scanreport, role::gps, role::metrics})
        if (r.roles & mask(x)) std::printf(", \"%s\"", role_name(x));
      std::printf("], \"body_limit\": %zu, \"open\": %s}", r.body_limit, r.open ? "true" : "false");
      first = false;
    }
    std::printf("\n]\n");
    return 0;
  }
  if (format != "markdown") throw std::invalid_argument("--format must be markdown or json");
  std::printf("| Method | Path | Roles | What |\n|---|---|---|---|\n");
  for (const auto& r : table.all())
    std::printf("| %s | `%s` | %s | %s |\n", std::string(r.method).c_str(), std::string(r.pattern).c_str(),
                roles(r).c_str(), std::string(r.summary).c_str());
  return 0;
}

int token_create(const std::filesystem::path& state_dir, const std::string& name, const std::string& role_text,
                 const std::string& expires) {
  init_logging("warn");
  prepare_state_dir(state_dir);
  credential_store auth(state_dir);
  const auto r = parse_role(role_text);
  if (!r)
    throw std::invalid_argument("--role " + role_text + ": expected admin, readonly, datasource, scanreport, gps or metrics");
  std::chrono::seconds ttl{0};
  if (!expires.empty()) ttl = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(expires));
  std::cout << auth.create_token(name, *r, ttl) << "\n";
  return 0;
}

int token_list(const std::filesystem::path& state_dir) {
  init_logging("warn");
  prepare_state_dir(state_dir);
  credential_store auth(state_dir);
  std::printf("%-24s %-11s %-20s %s\n", "NAME", "ROLE", "CREATED", "EXPIRES");
  for (const auto& t : auth.list_tokens()) {
    char created[32], expires[32] = "never";
    std::time_t c = t.created, e = t.expires;
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&c));
    if (t.expires) std::strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&e));
    std::printf("%-24s %-11s %-20s %s\n", t.name.c_str(), role_name(t.granted), created, expires);
  }
  return 0;
}

int token_revoke(const std::filesystem::path& state_dir, const std::string& name) {
  init_logging("warn");
  prepare_state_dir(state_dir);
  credential_store auth(state_dir);
  if (!auth.revoke_token(name)) throw std::invalid_argument("no token named '" + name + "'");
  std::printf("revoked token '%s'\n", name.c_str());
  return 0;
}

int user_passwd(const std::filesystem::path& state_dir, const std::string& user, const std::string& password_file) {
  init_logging("warn");
  prepare_state_dir(state_dir);
  credential_store auth(state_dir);
  std::string pw;
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in) throw std::runtime_error("cannot read " + password_file);
    std::getline(in, pw);
  } else {
    pw = read_password_interactive("New password for " + user + ": ");
  }
  auth.set_password(user, pw);
  std::printf("password for '%s' changed\n", user.c_str());
  return 0;
}

int config_check(const std::string& file) {
  if (file.empty()) throw std::invalid_argument("config check needs a FILE");
  settings checked;
  const auto errors = check_settings_yaml(file, checked);
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!errors.empty()) {
    std::fprintf(stderr, "%s: %zu error%s\n", file.c_str(), errors.size(), errors.size() == 1 ? "" : "s");
    return 1;
  }
  std::printf("%s: OK (%zu sensors, %zu groups)\n", file.c_str(), checked.fleet.sensors.size(),
              checked.fleet.groups.size());
  return 0;
}

}  // namespace hopwire::collector

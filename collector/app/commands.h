#pragma once
// The collector's subcommands other than running: export, routes, token,
// user and config. Each prints what it did or why not; exceptions for bad
// arguments reach main, which prints them.

#include <filesystem>
#include <string>

namespace hopwire::collector {

// `export`: every stored device as Kismet-style JSON on stdout. Opens the
// database read-only, so it works while a collector runs.
int export_devices(const std::filesystem::path& state_dir, const std::string& format);
// `routes`: the route table, as docs/security.md prints it (markdown or json).
int print_routes(const std::string& format);
// `token create|list|revoke`.
int token_create(const std::filesystem::path& state_dir, const std::string& name, const std::string& role,
                 const std::string& expires);
int token_list(const std::filesystem::path& state_dir);
int token_revoke(const std::filesystem::path& state_dir, const std::string& name);
// `user passwd`: from `password_file`, else the terminal (or stdin).
int user_passwd(const std::filesystem::path& state_dir, const std::string& user, const std::string& password_file);
// `config check FILE`.
int config_check(const std::string& file);

}  // namespace hopwire::collector

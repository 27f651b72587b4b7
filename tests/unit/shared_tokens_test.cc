// Cluster mode's shared API tokens (credential_store::export_tokens and
// set_shared_tokens): a token made on one collector is accepted by another
// that was given the first one's export, with its role; revoked there, it is
// refused once the new export arrives; secrets never appear in an export.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "collector/auth/auth.h"

namespace hopwire::collector {
namespace {

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const char* name) {
    path = std::filesystem::temp_directory_path() / (std::string(name) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

TEST(shared_tokens, a_token_from_another_collector_is_accepted_with_its_role) {
  temp_dir da("hopwire-tokens-a"), db("hopwire-tokens-b");
  credential_store a(da.path), b(db.path);
  const std::string sensor = a.create_token("roof-7", role::datasource, std::chrono::seconds(0));
  const std::string local = b.create_token("b-local", role::readonly, std::chrono::seconds(0));
  EXPECT_FALSE(b.check_bearer(sensor).ok());

  const std::string text = a.export_tokens();
  EXPECT_EQ(text.find(sensor), std::string::npos) << "an export must hold hashes, not secrets";
  b.set_shared_tokens({text});
  const auto res = b.check_bearer(sensor);
  ASSERT_TRUE(res.ok()) << res.message;
  EXPECT_EQ(res.granted, role::datasource);
  EXPECT_EQ(res.principal, "roof-7");
  EXPECT_TRUE(b.check_bearer(local).ok()) << "b's own tokens still count";

  ASSERT_TRUE(a.revoke_token("roof-7"));
  b.set_shared_tokens({a.export_tokens()});
  EXPECT_EQ(b.check_bearer(sensor).st, auth_result::status::bad_credentials);
  EXPECT_TRUE(b.check_bearer(local).ok());
}

TEST(shared_tokens, expiry_and_bad_lines_hold_for_shared_tokens) {
  temp_dir da("hopwire-tokens-c"), db("hopwire-tokens-d");
  credential_store a(da.path), b(db.path);
  const std::string gone = a.create_token("old", role::datasource, std::chrono::seconds(1));
  const std::string text = a.export_tokens();
  // A line that does not parse is skipped; the good one still counts.
  b.set_shared_tokens({"not a token line\n" + text});
  ASSERT_TRUE(b.check_bearer(gone).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(b.check_bearer(gone).st, auth_result::status::expired);
}

}  // namespace
}  // namespace hopwire::collector

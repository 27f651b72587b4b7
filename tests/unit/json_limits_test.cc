// Untrusted JSON: any nesting depth is an error with a reason, never a
// crash; ordinary commands parse as before.

#include <gtest/gtest.h>

#include <string>

#include "collector/api/json_limits.h"

using namespace hopwire::collector;

TEST(json_limits, deep_nesting_is_refused_with_the_limit_named) {
  rapidjson::Document d;
  std::string why;
  EXPECT_FALSE(parse_untrusted_json(std::string(150000, '['), d, why));
  EXPECT_NE(why.find("nested deeper than 32"), std::string::npos) << why;
  EXPECT_FALSE(parse_untrusted_json(std::string(33, '{'), d, why));
}

TEST(json_limits, nesting_at_the_limit_parses) {
  rapidjson::Document d;
  std::string why;
  const std::string text = std::string(32, '[') + std::string(32, ']');
  EXPECT_TRUE(parse_untrusted_json(text, d, why)) << why;
  EXPECT_TRUE(d.IsArray());
}

TEST(json_limits, brackets_inside_strings_do_not_count) {
  rapidjson::Document d;
  std::string why;
  const std::string text = "{\"regex\": [[\"name\", \"" + std::string(100, '(') + "[[[\\\"[[\"]]}";
  EXPECT_TRUE(parse_untrusted_json(text, d, why)) << why;
  ASSERT_TRUE(d.IsObject());
  EXPECT_TRUE(d["regex"].IsArray());
}

TEST(json_limits, invalid_json_names_the_offset) {
  rapidjson::Document d;
  std::string why;
  EXPECT_FALSE(parse_untrusted_json("{\"fields\": [1, }", d, why));
  EXPECT_NE(why.find("offset"), std::string::npos) << why;
}

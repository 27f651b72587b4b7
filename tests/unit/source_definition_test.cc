#include "common/source_definition.h"

#include <gtest/gtest.h>

namespace hopwire {
namespace {

TEST(source_definition, interface_alone_has_no_options) {
  auto d = source_definition::parse("wlan0");
  EXPECT_EQ(d.interface(), "wlan0");
  EXPECT_TRUE(d.options().empty());
}

TEST(source_definition, quoted_values_keep_their_commas) {
  auto d = source_definition::parse("wlan1:name=roof,channels=\"1,6,11,36VHT80\",filter_locals=true");
  EXPECT_EQ(d.interface(), "wlan1");
  EXPECT_EQ(d.get("name"), "roof");
  EXPECT_EQ(d.get("channels"), "1,6,11,36VHT80");
  EXPECT_TRUE(d.get_bool("filter_locals", false));
  EXPECT_EQ(split_list(*d.get("channels")).size(), 4u);
}

TEST(source_definition, keys_are_case_insensitive_and_last_wins) {
  auto d = source_definition::parse("/tmp/x.pcap:Name=a,name=b");
  EXPECT_EQ(d.get("NAME"), "b");
}

TEST(source_definition, rejects_option_without_value_and_unbalanced_quotes) {
  EXPECT_THROW(source_definition::parse("wlan0:name"), std::invalid_argument);
  EXPECT_THROW(source_definition::parse("wlan0:channels=\"1,6"), std::invalid_argument);
  EXPECT_THROW(source_definition::parse(":name=x"), std::invalid_argument);
}

TEST(source_definition, bad_boolean_is_an_error) {
  auto d = source_definition::parse("f.pcap:realtime=maybe");
  EXPECT_THROW(d.get_bool("realtime", false), std::invalid_argument);
}

TEST(source_definition, redacted_hides_secrets) {
  auto d = source_definition::parse("f.pcap:name=a,apikey=secret123");
  EXPECT_EQ(d.redacted().find("secret123"), std::string::npos);
  EXPECT_NE(d.redacted().find("name=a"), std::string::npos);
}

}  // namespace
}  // namespace hopwire

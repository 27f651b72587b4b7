#pragma once
// The few nl80211 commands a capture sensor needs, over libnl-genl: look up
// an interface and its radio (wiphy), read what the radio can tune, create
// and delete a monitor interface, and set its channel.
//
// Every call returns 0 or a negative errno, as the kernel answered; the
// caller turns that into a message that fits what it was doing.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/channel.h"

struct nl_sock;
struct nl_msg;

namespace hopwire::sensor {

struct nl_interface {
  std::uint32_t ifindex = 0;
  std::uint32_t wiphy = 0;
  std::uint32_t iftype = 0;  // enum nl80211_iftype
  std::string name;
  std::array<std::uint8_t, 6> mac{};
};

struct nl_frequency {
  std::uint32_t mhz = 0;
  bool disabled = false;
};

struct nl_wiphy {
  std::string name;  // "phy0"
  std::vector<nl_frequency> frequencies;
  bool monitor = false;  // supports monitor interfaces
  bool ht = false;       // some band has HT capabilities
  bool vht = false;
};

class nl80211 {
 public:
  // Throws std::runtime_error when netlink or the nl80211 family is missing.
  nl80211();
  ~nl80211();
  nl80211(const nl80211&) = delete;
  nl80211& operator=(const nl80211&) = delete;

  int get_interface(std::uint32_t ifindex, nl_interface& out);
  // Every Wi-Fi interface the kernel knows, on every radio.
  int interfaces(std::vector<nl_interface>& out);
  int get_wiphy(std::uint32_t wiphy, nl_wiphy& out);
  int new_monitor(std::uint32_t wiphy, const std::string& name, bool fcsfail);
  int del_interface(std::uint32_t ifindex);
  int set_channel(std::uint32_t ifindex, const channel& c);

 private:
  nl_msg* message(int cmd, int flags = 0);
  int run(nl_msg* msg, int (*on_valid)(nl_msg*, void*), void* arg);

  nl_sock* sock_ = nullptr;
  int family_ = -1;
};

// Interface flags through the classic ioctl (needs CAP_NET_ADMIN to set).
int interface_is_up(const std::string& name, bool& up);
int set_interface_up(const std::string& name, bool up);

}  // namespace hopwire::sensor

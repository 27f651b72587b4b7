#include "nl80211.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <linux/nl80211.h>
#include <net/if.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hopwire::sensor {

namespace {

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  *static_cast<int*>(arg) = err->error;
  return NL_STOP;
}
int on_finish(nl_msg*, void* arg) {
  *static_cast<int*>(arg) = 0;
  return NL_SKIP;
}
int on_ack(nl_msg*, void* arg) {
  *static_cast<int*>(arg) = 0;
  return NL_STOP;
}

nlattr** parse_attrs(nl_msg* msg, nlattr** tb) {
  auto* gnlh = static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(msg)));
  nla_parse(tb, NL80211_ATTR_MAX, genlmsg_attrdata(gnlh, 0), genlmsg_attrlen(gnlh, 0), nullptr);
  return tb;
}

void read_interface(nlattr** tb, nl_interface& out) {
  if (tb[NL80211_ATTR_IFINDEX]) out.ifindex = nla_get_u32(tb[NL80211_ATTR_IFINDEX]);
  if (tb[NL80211_ATTR_WIPHY]) out.wiphy = nla_get_u32(tb[NL80211_ATTR_WIPHY]);
  if (tb[NL80211_ATTR_IFTYPE]) out.iftype = nla_get_u32(tb[NL80211_ATTR_IFTYPE]);
  if (tb[NL80211_ATTR_IFNAME]) out.name = nla_get_string(tb[NL80211_ATTR_IFNAME]);
  if (tb[NL80211_ATTR_MAC] && nla_len(tb[NL80211_ATTR_MAC]) == 6)
    std::memcpy(out.mac.data(), nla_data(tb[NL80211_ATTR_MAC]), 6);
}

int interface_cb(nl_msg* msg, void* arg) {
  nlattr* tb[NL80211_ATTR_MAX + 1];
  read_interface(parse_attrs(msg, tb), *static_cast<nl_interface*>(arg));
  return NL_SKIP;
}

int interfaces_cb(nl_msg* msg, void* arg) {
  nlattr* tb[NL80211_ATTR_MAX + 1];
  nl_interface i;
  read_interface(parse_attrs(msg, tb), i);
  static_cast<std::vector<nl_interface>*>(arg)->push_back(std::move(i));
  return NL_SKIP;
}

// A split wiphy dump spreads one radio over many messages; each adds to it.
int wiphy_cb(nl_msg* msg, void* arg) {
  auto& w = *static_cast<nl_wiphy*>(arg);
  nlattr* tb[NL80211_ATTR_MAX + 1];
  parse_attrs(msg, tb);
  if (tb[NL80211_ATTR_WIPHY_NAME]) w.name = nla_get_string(tb[NL80211_ATTR_WIPHY_NAME]);
  if (tb[NL80211_ATTR_SUPPORTED_IFTYPES]) {
    nlattr* t;
    int rem;
    nla_for_each_nested(t, tb[NL80211_ATTR_SUPPORTED_IFTYPES], rem) {
      if (nla_type(t) == NL80211_IFTYPE_MONITOR) w.monitor = true;
    }
  }
  if (tb[NL80211_ATTR_WIPHY_BANDS]) {
    nlattr* band;
    int rem_band;
    nla_for_each_nested(band, tb[NL80211_ATTR_WIPHY_BANDS], rem_band) {
      nlattr* tb_band[NL80211_BAND_ATTR_MAX + 1];
      nla_parse(tb_band, NL80211_BAND_ATTR_MAX, static_cast<nlattr*>(nla_data(band)), nla_len(band), nullptr);
      if (tb_band[NL80211_BAND_ATTR_HT_CAPA]) w.ht = true;
      if (tb_band[NL80211_BAND_ATTR_VHT_CAPA]) w.vht = true;
      if (!tb_band[NL80211_BAND_ATTR_FREQS]) continue;
      nlattr* f;
      int rem_f;
      nla_for_each_nested(f, tb_band[NL80211_BAND_ATTR_FREQS], rem_f) {
        nlattr* tb_f[NL80211_FREQUENCY_ATTR_MAX + 1];
        nla_parse(tb_f, NL80211_FREQUENCY_ATTR_MAX, static_cast<nlattr*>(nla_data(f)), nla_len(f), nullptr);
        if (!tb_f[NL80211_FREQUENCY_ATTR_FREQ]) continue;
        nl_frequency fr;
        fr.mhz = nla_get_u32(tb_f[NL80211_FREQUENCY_ATTR_FREQ]);
        fr.disabled = tb_f[NL80211_FREQUENCY_ATTR_DISABLED] != nullptr;
        w.frequencies.push_back(fr);
      }
    }
  }
  return NL_SKIP;
}

int ifreq_socket() { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }

}  // namespace

nl80211::nl80211() {
  sock_ = nl_socket_alloc();
  if (!sock_) throw std::runtime_error("cannot allocate a netlink socket");
  if (genl_connect(sock_) < 0) {
    nl_socket_free(sock_);
    throw std::runtime_error("cannot open a generic netlink socket (is this Linux?)");
  }
  nl_socket_set_buffer_size(sock_, 256 * 1024, 0);
  family_ = genl_ctrl_resolve(sock_, "nl80211");
  if (family_ < 0) {
    nl_socket_free(sock_);
    throw std::runtime_error("the kernel has no nl80211 (no cfg80211 Wi-Fi driver is loaded)");
  }
}

nl80211::~nl80211() {
  if (sock_) nl_socket_free(sock_);
}

nl_msg* nl80211::message(int cmd, int flags) {
  nl_msg* msg = nlmsg_alloc();
  if (!msg) throw std::bad_alloc();
  genlmsg_put(msg, 0, 0, family_, 0, flags, static_cast<std::uint8_t>(cmd), 0);
  return msg;
}

int nl80211::run(nl_msg* msg, int (*on_valid)(nl_msg*, void*), void* arg) {
  nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
  if (!cb) {
    nlmsg_free(msg);
    return -ENOMEM;
  }
  int err = nl_send_auto(sock_, msg);
  if (err >= 0) {
    err = 1;
    nl_cb_err(cb, NL_CB_CUSTOM, on_error, &err);
    nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &err);
    nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &err);
    if (on_valid) nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, arg);
    while (err > 0) {
      const int r = nl_recvmsgs(sock_, cb);
      if (r < 0 && err > 0) err = -EIO;
    }
  } else {
    err = -EIO;
  }
  nl_cb_put(cb);
  nlmsg_free(msg);
  return err;
}

int nl80211::get_interface(std::uint32_t ifindex, nl_interface& out) {
  nl_msg* msg = message(NL80211_CMD_GET_INTERFACE);
  nla_put_u32(msg, NL80211_ATTR_IFINDEX, ifindex);
  return run(msg, interface_cb, &out);
}

int nl80211::interfaces(std::vector<nl_interface>& out) {
  return run(message(NL80211_CMD_GET_INTERFACE, NLM_F_DUMP), interfaces_cb, &out);
}

int nl80211::get_wiphy(std::uint32_t wiphy, nl_wiphy& out) {
  nl_msg* msg = message(NL80211_CMD_GET_WIPHY, NLM_F_DUMP);
  nla_put_flag(msg, NL80211_ATTR_SPLIT_WIPHY_DUMP);
  nla_put_u32(msg, NL80211_ATTR_WIPHY, wiphy);
  return run(msg, wiphy_cb, &out);
}

int nl80211::new_monitor(std::uint32_t wiphy, const std::string& name, bool fcsfail) {
  nl_msg* msg = message(NL80211_CMD_NEW_INTERFACE);
  nla_put_u32(msg, NL80211_ATTR_WIPHY, wiphy);
  nla_put_string(msg, NL80211_ATTR_IFNAME, name.c_str());
  nla_put_u32(msg, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_MONITOR);
  nlattr* flags = nla_nest_start(msg, NL80211_ATTR_MNTR_FLAGS);
  nla_put_flag(msg, NL80211_MNTR_FLAG_CONTROL);
  nla_put_flag(msg, NL80211_MNTR_FLAG_OTHER_BSS);
  if (fcsfail) nla_put_flag(msg, NL80211_MNTR_FLAG_FCSFAIL);
  nla_nest_end(msg, flags);
  return run(msg, nullptr, nullptr);
}

int nl80211::del_interface(std::uint32_t ifindex) {
  nl_msg* msg = message(NL80211_CMD_DEL_INTERFACE);
  nla_put_u32(msg, NL80211_ATTR_IFINDEX, ifindex);
  return run(msg, nullptr, nullptr);
}

int nl80211::set_channel(std::uint32_t ifindex, const channel& c) {
  // SET_WIPHY with an interface index, as iw and Kismet tune monitors.
  nl_msg* msg = message(NL80211_CMD_SET_WIPHY);
  nla_put_u32(msg, NL80211_ATTR_IFINDEX, ifindex);
  nla_put_u32(msg, NL80211_ATTR_WIPHY_FREQ, c.control_mhz);
  // The chandef as iw sends it: width and centre for every width.
  std::uint32_t width = NL80211_CHAN_WIDTH_20_NOHT;
  switch (c.width) {
    case chan_width::w20_noht: width = NL80211_CHAN_WIDTH_20_NOHT; break;
    case chan_width::w20: width = NL80211_CHAN_WIDTH_20; break;
    case chan_width::w40: width = NL80211_CHAN_WIDTH_40; break;
    case chan_width::w80: width = NL80211_CHAN_WIDTH_80; break;
    case chan_width::w160: width = NL80211_CHAN_WIDTH_160; break;
    case chan_width::w5: width = NL80211_CHAN_WIDTH_5; break;
    case chan_width::w10: width = NL80211_CHAN_WIDTH_10; break;
  }
  nla_put_u32(msg, NL80211_ATTR_CHANNEL_WIDTH, width);
  nla_put_u32(msg, NL80211_ATTR_CENTER_FREQ1, c.center1_mhz);
  return run(msg, nullptr, nullptr);
}

int interface_is_up(const std::string& name, bool& up) {
  const int fd = ifreq_socket();
  if (fd < 0) return -errno;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int rc = 0;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) rc = -errno;
  else up = (ifr.ifr_flags & IFF_UP) != 0;
  ::close(fd);
  return rc;
}

int set_interface_up(const std::string& name, bool up) {
  const int fd = ifreq_socket();
  if (fd < 0) return -errno;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int rc = 0;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
    rc = -errno;
  } else {
    if (up) ifr.ifr_flags |= IFF_UP;
    else ifr.ifr_flags &= ~IFF_UP;
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) rc = -errno;
  }
  ::close(fd);
  return rc;
}

}  // namespace hopwire::sensor

#include "linuxwifi_source.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/nl80211.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>

#include <fmt/ranges.h>

#include "common/log.h"
#include "common/mac_addr.h"
#include "common/radiotap.h"
#include "common/units.h"
#include "common/uuid.h"

namespace hopwire::sensor {

namespace {

const char* const kKnownOptions[] = {
    "name", "uuid", "type", "vif", "ignoreprimary", "channels", "add_channels", "block_channels", "channel",
    "channel_hop", "channel_hoprate", "channel_hop_shuffle", "ht_channels", "vht_channels", "band24ghz",
    "band5ghz", "band6ghz", "filter_locals", "fcsfail", "group", "group_plan", "timestamp", "metagps", "pcap_buffer",
    "info_antenna_type", "info_antenna_gain", "info_antenna_orientation", "info_antenna_beamwidth",
    "info_amp_type", "info_amp_gain"};

constexpr const char* kCapsHint =
    "run the sensor as root, or give it CAP_NET_ADMIN and CAP_NET_RAW (systemd: "
    "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW; or setcap cap_net_admin,cap_net_raw+ep hopwire-sensor)";

std::string errno_text(int neg) { return std::strerror(-neg); }

bool is_perm(int err) { return err == -EPERM || err == -EACCES; }

// Kernel interface names are at most 15 bytes.
std::string monitor_name_for(const std::string& parent) {
  constexpr std::size_t kMax = IFNAMSIZ - 1;
  std::string base = parent.substr(0, kMax - 3);
  return base + "mon";
}

struct radiotap_peek {
  std::uint32_t freq_mhz = 0;
  std::int8_t signal = 0;
  bool has_signal = false;
  bool bad_fcs = false;
};

// Reads the few radiotap fields the sensor itself needs: flags (bad FCS),
// channel frequency and signal, through the common walker. Anything odd:
// leaves them unset.
radiotap_peek peek_radiotap(const std::uint8_t* p, std::size_t n) {
  struct visitor {
    radiotap_peek& out;
    bool flags = false, chan = false;
    void field(unsigned bit, const std::uint8_t* d) {
      namespace rt = radiotap;
      if (bit == rt::kFlags && !flags) {
        out.bad_fcs = d[0] & rt::kFlagBadFcs;
        flags = true;
      } else if (bit == rt::kChannel && !chan) {
        out.freq_mhz = rt::le16(d);
        chan = true;
      } else if (bit == rt::kDbmSignal && !out.has_signal) {
        out.signal = static_cast<std::int8_t>(d[0]);
        out.has_signal = true;
      }
    }
    void tlv(std::uint16_t, std::uint16_t) {}
  };
  radiotap_peek out;
  visitor v{out};
  if (radiotap::walk(std::span<const std::uint8_t>(p, n), v).status != radiotap::walk_status::ok) return {};
  return out;
}

// Every MAC address of this host's interfaces, Wi-Fi ones first.
std::vector<std::string> local_macs(const std::vector<nl_interface>& wifi) {
  std::vector<std::string> out;
  for (const auto& i : wifi) out.push_back(mac_addr::from_bytes(i.mac.data()).str());
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (auto* a = list; a; a = a->ifa_next) {
      if (!a->ifa_addr || a->ifa_addr->sa_family != AF_PACKET) continue;
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
      if (ll->sll_halen != 6) continue;
      const auto m = mac_addr::from_bytes(ll->sll_addr);
      if (m.v == 0) continue;
      out.push_back(m.str());
    }
    ::freeifaddrs(list);
  }
  std::sort(out.begin() + static_cast<long>(std::min(out.size(), wifi.size())), out.end());
  std::vector<std::string> unique;
  for (auto& m : out)
    if (std::find(unique.begin(), unique.end(), m) == unique.end()) unique.push_back(m);
  return unique;
}

}  // namespace

linuxwifi_source::linuxwifi_source(const source_definition& def, const source_globals& globals)
    : globals_(globals) {
  for (const auto& [k, v] : def.options()) {
    if (std::none_of(std::begin(kKnownOptions), std::end(kKnownOptions), [&](const char* o) { return k == o; }))
      throw std::invalid_argument("linuxwifi source: unknown option '" + k +
                                  "' (see hopwire-sensor --help or docs/live-capture.md for the list)");
  }
  id_.type = "linuxwifi";
  id_.interface = def.interface();
  id_.definition = def.redacted();
  fcsfail_ = def.get_bool("fcsfail", false);
  try {
    setup_interface(def);
    setup_channels(def);
    open_capture(def);
  } catch (...) {
    teardown();
    throw;
  }
}

linuxwifi_source::~linuxwifi_source() {
  stop();
  teardown();
}

void linuxwifi_source::setup_interface(const source_definition& def) {
  const std::string& name = def.interface();
  const unsigned ifindex = ::if_nametoindex(name.c_str());
  std::vector<nl_interface> wifi;
  nl_.interfaces(wifi);
  if (ifindex == 0) {
    std::string have;
    for (const auto& i : wifi) have += (have.empty() ? "" : ", ") + i.name;
    throw std::runtime_error("no such interface '" + name + "'" +
                             (have.empty() ? std::string(" (this host has no Wi-Fi interfaces)")
                                           : " (Wi-Fi interfaces here: " + have + ")"));
  }
  if (int err = nl_.get_interface(ifindex, parent_); err < 0 || parent_.ifindex == 0)
    throw std::runtime_error("'" + name + "' is not a Wi-Fi interface: nl80211 does not know it (" +
                             errno_text(err < 0 ? err : -ENODEV) + ")");
  if (int err = nl_.get_wiphy(parent_.wiphy, wiphy_); err < 0)
    throw std::runtime_error("cannot read the capabilities of the radio of " + name + ": " + errno_text(err));
  if (wiphy_.name.empty()) wiphy_.name = "phy" + std::to_string(parent_.wiphy);
  if (!wiphy_.monitor)
    throw std::runtime_error(wiphy_.name + " (" + name + ") does not support monitor mode; its driver cannot " +
                             "capture other stations' frames, use another Wi-Fi adapter");

  const auto mac = mac_addr::from_bytes(parent_.mac.data());
  id_.name = def.get("name").value_or(name);
  if (auto u = def.get("uuid")) {
    auto parsed = uuid::parse(*u);
    if (!parsed) throw std::invalid_argument("source option uuid=" + *u + " is not a UUID (8-4-4-4-12 hex)");
    id_.uuid = parsed->str();
  } else {
    // Stable per radio, like Kismet: derived from the interface's MAC.
    id_.uuid = uuid::from_name("linuxwifi:" + mac.str()).str();
  }

  if (parent_.iftype == NL80211_IFTYPE_MONITOR) {
    monitor_name_ = name;
    monitor_ifindex_ = parent_.ifindex;
    spdlog::info("{} is already a monitor interface on {}; capturing on it as it is", name, wiphy_.name);
  } else {
    monitor_name_ = def.get("vif").value_or(monitor_name_for(name));
    if (monitor_name_.empty() || monitor_name_.size() >= IFNAMSIZ)
      throw std::invalid_argument("vif=" + monitor_name_ + ": interface names are 1 to 15 characters");
    if (const unsigned existing = ::if_nametoindex(monitor_name_.c_str())) {
      nl_interface other;
      if (nl_.get_interface(existing, other) < 0 || other.iftype != NL80211_IFTYPE_MONITOR ||
          other.wiphy != parent_.wiphy)
        throw std::runtime_error("interface " + monitor_name_ + " exists already and is not a monitor interface on " +
                                 wiphy_.name + "; choose another name with vif=");
      spdlog::info("reusing monitor interface {} on {} (left from an earlier run)", monitor_name_, wiphy_.name);
      monitor_ifindex_ = existing;
    } else {
      const int err = nl_.new_monitor(parent_.wiphy, monitor_name_, fcsfail_);
      if (is_perm(err))
        throw std::runtime_error("no permission to create a monitor interface on " + wiphy_.name + ": " + kCapsHint);
      if (err == -EBUSY || err == -ENFILE || err == -EOPNOTSUPP)
        throw std::runtime_error(wiphy_.name + " is busy: it cannot add a monitor interface next to the interfaces " +
                                 "it runs now (" + errno_text(err) + "); stop them or use another radio");
      if (err < 0)
        throw std::runtime_error("cannot create monitor interface " + monitor_name_ + " on " + wiphy_.name + ": " +
                                 errno_text(err));
      monitor_ifindex_ = ::if_nametoindex(monitor_name_.c_str());
      if (!monitor_ifindex_) throw std::runtime_error("monitor interface " + monitor_name_ + " vanished after creation");
      spdlog::info("created monitor interface {} on {}", monitor_name_, wiphy_.name);
    }
    created_monitor_ = true;
    // Kismet's default: take a station parent down so a network manager or
    // supplicant on it does not retune the radio under us. An access point
    // or mesh on the radio is left alone: the radio is busy, and tuning says
    // so below.
    bool up = false;
    if (!def.get_bool("ignoreprimary", false) && parent_.iftype == NL80211_IFTYPE_STATION &&
        interface_is_up(name, up) == 0 && up) {
      if (set_interface_up(name, false) == 0) {
        downed_parent_ = true;
        spdlog::warn("took {} down while capturing (ignoreprimary=true leaves it up); it comes back up at exit", name);
      }
    }
  }
  if (int err = set_interface_up(monitor_name_, true); err < 0) {
    if (is_perm(err)) throw std::runtime_error("no permission to bring " + monitor_name_ + " up: " + kCapsHint);
    if (err == -ERFKILL) throw std::runtime_error(wiphy_.name + " is blocked by rfkill; unblock it (rfkill unblock wifi)");
    throw std::runtime_error("cannot bring " + monitor_name_ + " up: " + errno_text(err));
  }
}

std::vector<std::string> linuxwifi_source::usable(const std::vector<std::string>& wanted, std::string& why) const {
  std::vector<std::string> out;
  for (const auto& text : wanted) {
    channel c;
    try {
      c = parse_channel(text);
    } catch (const std::invalid_argument& e) {
      why += std::string(why.empty() ? "" : "; ") + e.what();
      continue;
    }
    const std::string canon = c.str();
    if (rejected_.count(canon)) {
      why += (why.empty() ? "" : "; ") + canon + ": refused by " + wiphy_.name + " earlier";
      continue;
    }
    // Every 20 MHz piece of the channel must be one the radio has enabled.
    bool ok = true;
    for (std::uint32_t f = channel_low_mhz(c) + (c.width_mhz() >= 20 ? 10 : c.width_mhz() / 2);
         f < channel_high_mhz(c) && ok; f += 20) {
      ok = std::any_of(wiphy_.frequencies.begin(), wiphy_.frequencies.end(),
                       [&](const nl_frequency& fr) { return fr.mhz == f && !fr.disabled; });
    }
    if (!ok) {
      why += (why.empty() ? "" : "; ") + canon + ": " + wiphy_.name + " cannot tune it (disabled or not supported)";
      continue;
    }
    if (std::find(out.begin(), out.end(), canon) == out.end()) out.push_back(canon);
  }
  return out;
}

void linuxwifi_source::setup_channels(const source_definition& def) {
  std::vector<std::string> list;
  if (auto ch = def.get("channels")) {
    for (const auto& t : split_list(*ch)) list.push_back(parse_channel(t).str());  // syntax errors throw
  } else {
    const bool b24 = def.get_bool("band24ghz", true), b5 = def.get_bool("band5ghz", true),
               b6 = def.get_bool("band6ghz", true);
    const bool ht = def.get_bool("ht_channels", true) && wiphy_.ht;
    const bool vht = def.get_bool("vht_channels", true) && wiphy_.vht;
    auto enabled = [&](std::uint32_t mhz) {
      return std::any_of(wiphy_.frequencies.begin(), wiphy_.frequencies.end(),
                         [&](const nl_frequency& f) { return f.mhz == mhz && !f.disabled; });
    };
    for (const auto& f : wiphy_.frequencies) {
      if (f.disabled || !mhz_to_channel(f.mhz)) continue;
      if ((is_2ghz(f.mhz) && !b24) || (is_5ghz(f.mhz) && !b5) || (is_6ghz(f.mhz) && !b6)) continue;
      channel c;
      c.control_mhz = c.center1_mhz = f.mhz;
      list.push_back(c.str());
      if (ht) {
        for (int delta : {20, -20}) {
          if (!enabled(f.mhz + delta) || is_2ghz(f.mhz + delta) != is_2ghz(f.mhz)) continue;
          channel w = c;
          w.width = chan_width::w40;
          w.center1_mhz = f.mhz + delta / 2;
          list.push_back(w.str());
        }
      }
      if (vht && !is_2ghz(f.mhz)) {
        for (const char* suffix : {"VHT80", "VHT160"}) {
          try {
            const channel w = parse_channel(c.str() + suffix);
            // Listed once per block, on its lowest channel.
            if (channel_low_mhz(w) + 10 != f.mhz) continue;
            list.push_back(w.str());
          } catch (const std::invalid_argument&) {
          }
        }
      }
    }
  }
  if (auto add = def.get("add_channels"))
    for (const auto& t : split_list(*add)) list.push_back(parse_channel(t).str());
  if (auto block = def.get("block_channels")) {
    for (const auto& t : split_list(*block)) {
      const channel b = parse_channel(t);
      // A plain channel blocks every width on that frequency.
      std::erase_if(list, [&](const std::string& s) {
        const channel c = parse_channel(s);
        return b.width == chan_width::w20_noht ? c.control_mhz == b.control_mhz : c == b;
      });
    }
  }
  std::string why;
  list = usable(list, why);
  if (!why.empty()) spdlog::warn("{}: left out of the hop list: {}", monitor_name_, why);

  // Try every channel once now: one the radio refuses is reported here,
  // once, and never retried.
  std::vector<std::string> good;
  std::string first_refusal;
  for (const auto& text : list) {
    const int err = nl_.set_channel(monitor_ifindex_, parse_channel(text));
    if (err == 0) {
      good.push_back(text);
      continue;
    }
    if (first_refusal.empty()) first_refusal = text + ": " + errno_text(err);
    if (err == -EBUSY && good.empty() && first_refusal.find("busy") == std::string::npos) first_refusal += " (busy)";
    rejected_.insert(text);
    spdlog::warn("{} refused channel {}: {}; left out of the hop list", wiphy_.name, text, errno_text(err));
  }
  if (good.empty()) {
    if (list.empty()) throw std::runtime_error("no channel left to capture on for " + def.interface() + ": " + why);
    throw std::runtime_error(wiphy_.name + " is busy or refuses every channel (" + first_refusal +
                             "): another interface on this radio (an access point or a connected station) fixes "
                             "its channel; stop it, or capture on the channel it uses");
  }
  id_.channels = good;

  plan_.channels = good;
  plan_.hop = def.get_bool("channel_hop", true);
  plan_.shuffle = def.get_bool("channel_hop_shuffle", true);
  if (auto r = def.get("channel_hoprate")) {
    const double rate = parse_rate(*r);
    if (!(rate > 0)) throw std::invalid_argument("channel_hoprate=" + *r + " must be above zero");
    if (rate > kMaxHopRatePerSec)
      spdlog::warn("channel_hoprate={} is faster than the 50 ms minimum dwell; hopping at {}/sec", *r,
                   kMaxHopRatePerSec);
    plan_.rate_per_sec = std::min(rate, kMaxHopRatePerSec);
  }
  if (auto fixed = def.get("channel")) {
    const std::string c = parse_channel(*fixed).str();
    std::string why2;
    if (usable({c}, why2).empty()) throw std::runtime_error("channel=" + *fixed + ": " + why2);
    plan_.channels = {c};
    plan_.hop = false;
  }
  if (!tune(parse_channel(plan_.channels.front()), plan_.channels.front()))
    throw std::runtime_error(wiphy_.name + " refused channel " + plan_.channels.front());
}

void linuxwifi_source::open_capture(const source_definition& def) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_ = pcap_create(monitor_name_.c_str(), errbuf);
  if (!pcap_) throw std::runtime_error("cannot open " + monitor_name_ + " for capture: " + errbuf);
  const std::size_t buffer = def.get("pcap_buffer") ? parse_size(*def.get("pcap_buffer")) : 1024 * 1024;
  // Not immediate mode: libpcap then uses TPACKET_V3, which packs frames
  // by their real length into blocks handed over when full or after 50 ms.
  // Immediate mode gives every frame a snaplen-sized slot: a 1 MiB buffer
  // would hold only 64 frames, and bursts were lost in the kernel.
  pcap_set_snaplen(pcap_, 16384);
  pcap_set_timeout(pcap_, 50);
  pcap_set_buffer_size(pcap_, static_cast<int>(std::min<std::size_t>(buffer, 1u << 30)));
  pcap_set_tstamp_precision(pcap_, PCAP_TSTAMP_PRECISION_NANO);
  const int rc = pcap_activate(pcap_);
  if (rc == PCAP_ERROR_PERM_DENIED)
    throw std::runtime_error("no permission to capture on " + monitor_name_ + ": " + kCapsHint);
  if (rc == PCAP_ERROR_NO_SUCH_DEVICE) throw std::runtime_error("capture: no such interface " + monitor_name_);
  if (rc < 0) throw std::runtime_error("cannot capture on " + monitor_name_ + ": " + pcap_geterr(pcap_));
  if (rc > 0) spdlog::warn("capture on {}: {}", monitor_name_, pcap_geterr(pcap_));
  int* dlts = nullptr;
  const int ndlt = pcap_list_datalinks(pcap_, &dlts);
  for (int i = 0; i < ndlt; ++i)
    if (dlts[i] == DLT_IEEE802_11_RADIO) pcap_set_datalink(pcap_, DLT_IEEE802_11_RADIO);
  if (ndlt > 0) pcap_free_datalinks(dlts);
  id_.dlt = static_cast<std::uint32_t>(pcap_datalink(pcap_));
  if (pcap_setnonblock(pcap_, 1, errbuf) < 0) throw std::runtime_error(std::string("capture: ") + errbuf);

  if (def.get_bool("filter_locals", false)) {
    std::vector<nl_interface> wifi;
    nl_.interfaces(wifi);
    const auto macs = local_macs(wifi);
    // As many as the filter holds: halve until the kernel takes it.
    for (std::size_t n = macs.size(); n > 0; n /= 2) {
      std::string expr = "not (";
      // Sent by, sent to or through one of them: transmitter, receiver or
      // BSSID (acknowledgements carry only the receiver).
      for (std::size_t i = 0; i < n; ++i)
        expr += std::string(i ? " or " : "") + "wlan addr1 " + macs[i] + " or wlan addr2 " + macs[i] +
                " or wlan addr3 " + macs[i];
      expr += ")";
      bpf_program prog{};
      if (pcap_compile(pcap_, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0) {
        const int set = pcap_setfilter(pcap_, &prog);
        pcap_freecode(&prog);
        if (set == 0) {
          // Frames captured before the filter was in place are still in the
          // buffer (up to one block timeout late): throw them away.
          std::this_thread::sleep_for(std::chrono::milliseconds(120));
          while (pcap_dispatch(pcap_, -1, [](u_char*, const pcap_pkthdr*, const u_char*) {}, nullptr) > 0) {
          }
          if (n == macs.size()) spdlog::info("filter_locals: ignoring frames to or from all {} local MACs", n);
          else spdlog::warn("filter_locals: the filter holds {} of {} local MACs; frames from the rest are kept", n,
                            macs.size());
          break;
        }
      }
      if (n == 1) spdlog::warn("filter_locals: the capture filter was refused: {}", pcap_geterr(pcap_));
    }
  }
}

void linuxwifi_source::teardown() {
  if (pcap_) {
    pcap_close(pcap_);
    pcap_ = nullptr;
  }
  if (created_monitor_ && monitor_ifindex_) {
    const int err = nl_.del_interface(monitor_ifindex_);
    if (err < 0) spdlog::warn("could not remove monitor interface {}: {}", monitor_name_, errno_text(err));
    else spdlog::info("removed monitor interface {}", monitor_name_);
    created_monitor_ = false;
  }
  if (downed_parent_) {
    set_interface_up(parent_.name, true);
    downed_parent_ = false;
  }
}

void linuxwifi_source::start(packet_ring& ring, std::function<void()> on_done) {
  on_done_ = std::move(on_done);
  capture_thread_ = std::thread([this, &ring] { capture_loop(ring); });
  hop_thread_ = std::thread([this] { hop_loop(); });
}

void linuxwifi_source::stop() {
  stop_.store(true);
  {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  if (pcap_) pcap_breakloop(pcap_);
  if (capture_thread_.joinable()) capture_thread_.join();
  if (hop_thread_.joinable()) hop_thread_.join();
}

std::string linuxwifi_source::current_channel() const {
  std::lock_guard lock(mu_);
  return current_;
}

bool linuxwifi_source::tune(const channel& c, const std::string& text) {
  const int err = nl_.set_channel(monitor_ifindex_, c);
  if (err < 0) return false;
  current_mhz_.store(c.control_mhz);
  std::lock_guard lock(mu_);
  current_ = text;
  return true;
}

bool linuxwifi_source::configure(const hop_plan& plan, std::string& message, std::vector<std::string>& in_force) {
  std::lock_guard lock(mu_);
  std::string why;
  const auto good = usable(plan.channels, why);
  if (good.empty()) {
    message = "no channel of the plan can be tuned by " + wiphy_.name + (why.empty() ? "" : ": " + why) +
              "; the plan in force stays";
    in_force = plan_.channels;
    return false;
  }
  plan_ = plan;
  plan_.channels = good;
  plan_.rate_per_sec = std::clamp(plan.rate_per_sec > 0 ? plan.rate_per_sec : kDefaultHopRatePerSec, 0.01,
                                  kMaxHopRatePerSec);
  plan_changed_ = true;
  cv_.notify_all();
  in_force = good;
  message = why.empty() ? std::string() : "left out: " + why;
  return true;
}

void linuxwifi_source::hop_loop() {
  using clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  std::vector<std::string> texts;
  std::vector<channel> chans;
  std::vector<std::size_t> order;
  std::size_t pos = 0;
  bool hop = false;
  clock::duration dwell{};
  clock::time_point next = clock::now();
  while (!stop_.load()) {
    if (plan_changed_) {
      plan_changed_ = false;
      texts.clear();
      chans.clear();
      for (const auto& t : plan_.channels) {
        if (rejected_.count(t)) continue;
        texts.push_back(t);
        chans.push_back(parse_channel(t));
      }
      order = hop_order(texts.size(), plan_.shuffle);
      pos = texts.empty() ? 0 : plan_.offset % texts.size();
      hop = plan_.hop && texts.size() > 1;
      dwell = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / plan_.rate_per_sec));
      next = clock::now();
      spdlog::info("{}: {} {} channel{} ({}){}", monitor_name_, hop ? "hopping" : "locked on",
                   hop ? std::to_string(texts.size()) : (texts.empty() ? "no" : texts.front()),
                   hop ? (texts.size() == 1 ? "" : "s") : "", fmt::join(texts, ","),
                   hop ? fmt::format(" at {}/sec", plan_.rate_per_sec) : "");
    }
    if (texts.empty()) {
      cv_.wait(lock);
      continue;
    }
    if (clock::now() >= next) {
      const std::size_t idx = order[pos % order.size()];
      const std::string text = texts[idx];
      const channel c = chans[idx];
      lock.unlock();
      const auto t0 = clock::now();
      const int err = nl_.set_channel(monitor_ifindex_, c);
      spdlog::debug("{}: tuned {} in {:.1f} ms: {}", monitor_name_, text,
                    std::chrono::duration<double, std::milli>(clock::now() - t0).count(),
                    err < 0 ? errno_text(err) : "ok");
      lock.lock();
      if (err < 0) {
        if (!rejected_.count(text))
          spdlog::warn("{} refused channel {}: {}; left out of the hop list from now on", wiphy_.name, text,
                       errno_text(err));
        rejected_.insert(text);
        const std::size_t keep = pos;
        plan_changed_ = true;
        // Rebuild without it; carry on from about the same place.
        plan_.offset = static_cast<std::uint32_t>(keep);
        continue;
      }
      current_mhz_.store(c.control_mhz);
      current_ = text;
      pos = (pos + 1) % order.size();
      next += dwell;
      if (next < clock::now()) next = clock::now() + dwell;
      if (!hop) next = clock::time_point::max();
    }
    if (next == clock::time_point::max()) cv_.wait(lock);
    else cv_.wait_until(lock, next);
  }
}

void linuxwifi_source::capture_loop(packet_ring& ring) {
  struct ctx_t {
    linuxwifi_source* self;
    packet_ring* ring;
    packet_meta meta;
  } ctx{this, &ring, {}};
  if (globals_.fixed_gps) {
    ctx.meta.flags |= protocol::kFlagGps;
    ctx.meta.gps = globals_.gps;
  }
  auto handler = [](u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto& c = *reinterpret_cast<ctx_t*>(user);
    packet_meta& m = c.meta;
    m.ts_ns = std::uint64_t(h->ts.tv_sec) * 1'000'000'000ull + std::uint64_t(h->ts.tv_usec);  // nano precision
    m.orig_len = h->len;
    m.dlt = c.self->id_.dlt;
    std::uint32_t freq = c.self->current_mhz_.load(std::memory_order_relaxed);
    m.flags &= ~protocol::kFlagSignal;
    if (m.dlt == DLT_IEEE802_11_RADIO) {
      const auto rt = peek_radiotap(bytes, h->caplen);
      if (rt.bad_fcs && !c.self->fcsfail_) {
        c.self->fcs_dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (rt.freq_mhz) freq = rt.freq_mhz;
      if (rt.has_signal) {
        m.signal_dbm = rt.signal;
        m.flags |= protocol::kFlagSignal;
      }
    }
    m.freq_khz = freq * 1000;
    c.ring->push(m, {bytes, h->caplen}, packet_ring::overflow::drop_oldest);
  };
  pollfd pfd{pcap_get_selectable_fd(pcap_), POLLIN, 0};
  auto last_stats = std::chrono::steady_clock::now();
  while (!stop_.load(std::memory_order_relaxed)) {
    const int pr = ::poll(&pfd, 1, 200);
    if (pr < 0 && errno != EINTR) {
      set_error(std::string("poll on the capture failed: ") + std::strerror(errno));
      break;
    }
    const int n = pcap_dispatch(pcap_, 512, handler, reinterpret_cast<u_char*>(&ctx));
    if (n == PCAP_ERROR) {
      // The interface went away (radio unplugged, driver reset).
      const std::string why = pcap_geterr(pcap_);
      spdlog::error("capture on {} failed: {}", monitor_name_, why);
      set_error("capture on " + monitor_name_ + " failed: " + why);
      finished_.store(true, std::memory_order_release);
      if (on_done_) on_done_();
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_stats >= std::chrono::seconds(1)) {
      last_stats = now;
      pcap_stat st{};
      if (pcap_stats(pcap_, &st) == 0) kernel_drops_.store(std::uint64_t(st.ps_drop) + st.ps_ifdrop);
    }
  }
}

}  // namespace hopwire::sensor

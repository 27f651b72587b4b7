#pragma once
// The linuxwifi backend: a Wi-Fi interface on this host, put into monitor
// mode through nl80211, captured with libpcap, hopping channels by a plan.
//
// Three threads: the link's (configure() from the collector), the capture
// thread (pcap into the ring, never waits on anything else) and the hopper
// (tunes the radio; a slow netlink answer delays a hop, never a packet).
// Memory is fixed at start: the pcap buffer and the ring are sized then.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/channel.h"
#include "sensor/capture_source.h"
#include "sensor/nl80211.h"

struct pcap;

namespace hopwire::sensor {

class linuxwifi_source final : public capture_source {
 public:
  // Sets the radio up (monitor interface, capture handle) or throws
  // std::runtime_error saying what failed and what to do about it.
  linuxwifi_source(const source_definition& def, const source_globals& globals);
  ~linuxwifi_source() override;

  void start(packet_ring& ring, std::function<void()> on_done) override;
  void stop() override;
  std::uint64_t kernel_drops() const override { return kernel_drops_.load(std::memory_order_relaxed); }
  std::string current_channel() const override;
  std::uint32_t current_freq_khz() const override { return current_mhz_.load() * 1000; }
  bool configure(const hop_plan& plan, std::string& message, std::vector<std::string>& in_force) override;

 private:
  void setup_interface(const source_definition& def);
  void setup_channels(const source_definition& def);
  void open_capture(const source_definition& def);
  void teardown();
  void capture_loop(packet_ring& ring);
  void hop_loop();
  bool tune(const channel& c, const std::string& text);
  // Drops what the radio cannot tune; says why in `why`.
  std::vector<std::string> usable(const std::vector<std::string>& wanted, std::string& why) const;

  source_globals globals_;
  nl80211 nl_;
  nl_interface parent_;
  nl_wiphy wiphy_;
  std::string monitor_name_;
  std::uint32_t monitor_ifindex_ = 0;
  bool created_monitor_ = false;
  bool downed_parent_ = false;
  bool fcsfail_ = false;
  pcap* pcap_ = nullptr;
  std::function<void()> on_done_;

  std::thread capture_thread_;
  std::thread hop_thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> kernel_drops_{0};
  std::atomic<std::uint32_t> current_mhz_{0};
  std::atomic<std::uint64_t> fcs_dropped_{0};

  // Guarded by mu_: the plan, the channels the radio refused, the channel
  // now tuned.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  hop_plan plan_;
  bool plan_changed_ = true;
  std::set<std::string> rejected_;
  std::string current_;
};

}  // namespace hopwire::sensor

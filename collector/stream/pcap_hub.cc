#include "collector/stream/pcap_hub.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "collector/stream/pcapng_writer.h"
#include "collector/decode/radio_header.h"
#include "hopwire/version.h"

namespace hopwire::collector {

std::string pcap_filter::describe() const {
  switch (k) {
    case kind::all: return "all";
    case kind::source: return "datasource=" + uuid;
    case kind::device: return "device=" + mac.str();
    case kind::bssid: return "bssid=" + mac.str();
  }
  return "";
}

namespace {

// One packet of a batch as the streams see it.
struct packet_ref {
  static constexpr std::size_t kNone = ~std::size_t{0};
  const decoded_packet* p = nullptr;
  std::string_view data;
  std::size_t comment = kNone;  // index into batch_view::comments
};

struct batch_view {
  std::string uuid, name, desc;
  std::vector<packet_ref> packets;
  std::vector<std::string> comments;
};

}  // namespace

// A queue with less than this free counts as full: a batch's packets would
// nearly all be dropped anyway, and deciding so per packet costs more.
constexpr std::size_t kFullMargin = 4096;

class pcap_hub::subscriber final : public body_stream, public std::enable_shared_from_this<subscriber> {
 public:
  subscriber(pcap_hub& hub, std::uint64_t id, pcap_filter f, std::string remote, std::size_t limit)
      : hub_(&hub), id_(id), filter_(std::move(f)), remote_(std::move(remote)), limit_(limit),
        started_(static_cast<std::uint64_t>(std::time(nullptr))) {
    pcapng::section_header(queue_, std::string("hopwire-collector ") + kVersion);
  }

  const pcap_filter& filter() const { return filter_; }

  // A full queue takes nothing: for filters that need no look at the
  // packets, count the whole batch as dropped without building anything.
  // Returns true when the batch was dealt with.
  bool drop_if_full(std::size_t packets, const std::string& uuid) {
    if (filter_.k != pcap_filter::kind::all && filter_.k != pcap_filter::kind::source) return false;
    std::lock_guard lock(mu_);
    if (closed_) return true;
    if (queue_.size() - head_ + kFullMargin <= limit_) return false;
    if (filter_.k == pcap_filter::kind::all || filter_.uuid == uuid) dropped_ += packets;
    return true;
  }

  // Queues the packets of a batch that pass the filter, each whole (with its
  // interface block the first time its source and link type appear) or not
  // at all. One lock for the whole batch.
  void offer(const batch_view& v) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      const std::size_t before = queue_.size();
      std::uint32_t key_dlt = ~0u;
      std::size_t iface = 0;
      for (const auto& p : v.packets) {
        if (!takes(*p.p, v.uuid)) continue;
        // Blocks are about 32 bytes of framing plus the data, the comment and padding.
        const std::string_view comment = p.comment == packet_ref::kNone ? std::string_view() : v.comments[p.comment];
        std::size_t need = 64 + p.data.size() + comment.size();
        const std::uint32_t dlt = p.p->dlt;
        if (dlt != key_dlt) {
          key_dlt = dlt;
          iface = find_iface(v.uuid, dlt);
        }
        const bool need_idb = iface == ifaces_.size();
        if (need_idb) need += 64 + v.name.size() + v.desc.size();
        if (queue_.size() - head_ + need > limit_) {
          ++dropped_;
          continue;
        }
        if (need_idb) {
          pcapng::interface_description(queue_, static_cast<std::uint16_t>(dlt), v.name, v.desc);
          ifaces_.push_back({v.uuid, dlt});
        }
        pcapng::enhanced_packet(queue_, static_cast<std::uint32_t>(iface), p.p->ts_ns, p.data, p.p->orig_len, comment);
        ++sent_;
      }
      if (queue_.size() != before) {
        wake = std::move(wake_);
        wake_ = nullptr;
      }
    }
    if (wake) wake();
  }

  bool pull(std::string& out, std::size_t max, std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    const std::size_t n = std::min(max, queue_.size() - head_);
    if (n) {
      out.append(queue_, head_, n);
      head_ += n;
      if (head_ == queue_.size()) {
        queue_.clear();
        head_ = 0;
      } else if (head_ > queue_.size() / 2) {
        queue_.erase(0, head_);
        head_ = 0;
      }
      return true;
    }
    if (closed_) return false;
    wake_ = std::move(wake);
    return true;
  }

  void delivered(std::size_t bytes) override {
    std::lock_guard lock(mu_);
    bytes_sent_ += bytes;
  }

  void close() override {
    pcap_hub* hub;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
      wake_ = nullptr;
      queue_.clear();
      queue_.shrink_to_fit();
      hub = hub_;
    }
    if (hub) hub->remove(this);
  }

  pcap_stream_stats stats() const {
    std::lock_guard lock(mu_);
    return {id_, filter_.describe(), remote_, started_, bytes_sent_, sent_, dropped_, queue_.size() - head_, limit_};
  }
  // The queue string grows to the limit and keeps up to as much again
  // behind head_ before it is compacted.
  std::size_t memory_bound() const override { return 2 * limit_; }

  void detach() {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      hub_ = nullptr;
      closed_ = true;
      wake = std::move(wake_);
    }
    if (wake) wake();
  }

 private:
  mutable std::mutex mu_;
  pcap_hub* hub_;
  const std::uint64_t id_;
  const pcap_filter filter_;
  const std::string remote_;
  const std::size_t limit_;
  const std::uint64_t started_;
  std::string queue_;
  std::size_t head_ = 0;
  struct iface_key {
    std::string uuid;
    std::uint32_t dlt;
  };
  std::vector<iface_key> ifaces_;  // interface id = index

  std::size_t find_iface(const std::string& uuid, std::uint32_t dlt) const {
    std::size_t i = 0;
    while (i < ifaces_.size() && !(ifaces_[i].dlt == dlt && ifaces_[i].uuid == uuid)) ++i;
    return i;
  }

  bool takes(const decoded_packet& p, const std::string& uuid) const {
    const auto& a = p.addresses;
    switch (filter_.k) {
      case pcap_filter::kind::all: return true;
      case pcap_filter::kind::source: return filter_.uuid == uuid;
      case pcap_filter::kind::device:
        for (int i = 0; i < a.count; ++i)
          if (a.addr[i] == filter_.mac) return true;
        return false;
      case pcap_filter::kind::bssid: return a.has_bssid && a.bssid == filter_.mac;
    }
    return false;
  }
  std::function<void()> wake_;
  bool closed_ = false;
  std::uint64_t sent_ = 0, dropped_ = 0, bytes_sent_ = 0;
};

pcap_hub::pcap_hub(std::size_t queue_bytes) : queue_bytes_(queue_bytes) {}

pcap_hub::~pcap_hub() {
  std::vector<std::shared_ptr<subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    subs.swap(subs_);
  }
  for (auto& s : subs) s->detach();
}

std::shared_ptr<body_stream> pcap_hub::subscribe(pcap_filter filter, std::string remote) {
  auto s = std::make_shared<subscriber>(*this, next_id_++, std::move(filter), std::move(remote), queue_bytes_);
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  count_.store(subs_.size(), std::memory_order_relaxed);
  return s;
}

void pcap_hub::remove(const subscriber* s) {
  std::lock_guard lock(mu_);
  subs_.erase(std::remove_if(subs_.begin(), subs_.end(), [s](const auto& p) { return p.get() == s; }), subs_.end());
  count_.store(subs_.size(), std::memory_order_relaxed);
}

std::vector<pcap_stream_stats> pcap_hub::stats() const {
  std::vector<std::shared_ptr<subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    subs = subs_;
  }
  std::vector<pcap_stream_stats> out;
  for (const auto& s : subs) out.push_back(s->stats());
  return out;
}

void pcap_hub::on_packets(const ingest_source& source, std::span<const decoded_packet> packets) {
  if (count_.load(std::memory_order_relaxed) == 0 || packets.empty()) return;
  std::vector<std::shared_ptr<subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    subs = subs_;
  }
  batch_view v;
  v.uuid = source.uuid;
  v.name = source.name;
  // Streams whose queue is full cost nothing more than a counter.
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const auto& s) { return s->drop_if_full(packets.size(), v.uuid); }),
             subs.end());
  if (subs.empty()) return;
  v.desc = "hopwire source " + v.uuid;
  // Everything about each packet that every stream needs, worked out once.
  v.packets.reserve(packets.size());
  for (const auto& d : packets) {
    packet_ref& p = v.packets.emplace_back();
    p.p = &d;
    p.data = std::string_view(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size());
    if (d.has_gps || (d.dlt == kDltIeee80211 && (d.sensor_freq_khz || d.sensor_has_signal))) {
      p.comment = v.comments.size();
      v.comments.push_back(pcapng::metadata_comment(d.dlt, d.sensor_freq_khz, d.sensor_has_signal,
                                                    d.sensor_signal_dbm, d.has_gps, d.lat, d.lon, d.alt));
    }
  }
  for (const auto& s : subs) s->offer(v);
}

}  // namespace hopwire::collector

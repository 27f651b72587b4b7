#include "pcap_hub.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "collector/anomalies.h"
#include "collector/pcapng_writer.h"
#include "collector/radio_header.h"
#include "collector/sources.h"
#include "common/protocol.h"
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

class pcap_hub::subscriber final : public body_stream, public std::enable_shared_from_this<subscriber> {
 public:
  subscriber(pcap_hub& hub, std::uint64_t id, pcap_filter f, std::string remote, std::size_t limit)
      : hub_(&hub), id_(id), filter_(std::move(f)), remote_(std::move(remote)), limit_(limit),
        started_(static_cast<std::uint64_t>(std::time(nullptr))) {
    pcapng::section_header(queue_, std::string("hopwire-collector ") + kVersion);
  }

  const pcap_filter& filter() const { return filter_; }

  // Queues one packet (and its interface block the first time this source
  // and link type appear), whole or not at all.
  void offer(const std::string& iface_key, std::uint16_t dlt, const std::string& iface_name,
             const std::string& iface_desc, std::uint64_t ts_ns, std::string_view data, std::uint32_t orig_len,
             std::string_view comment) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      // Consecutive packets nearly always come from the same interface.
      std::size_t idx = last_iface_;
      if (idx >= ifaces_.size() || ifaces_[idx] != iface_key)
        idx = static_cast<std::size_t>(std::find(ifaces_.begin(), ifaces_.end(), iface_key) - ifaces_.begin());
      const bool need_idb = idx == ifaces_.size();
      const auto iface_id = static_cast<std::uint32_t>(idx);
      // Blocks are about 32 bytes of framing plus the data, the comment and padding.
      const std::size_t need = 64 + data.size() + comment.size() + (need_idb ? 64 + iface_name.size() + iface_desc.size() : 0);
      if (queue_.size() - head_ + need > limit_) {
        ++dropped_;
        return;
      }
      if (need_idb) {
        pcapng::interface_description(queue_, dlt, iface_name, iface_desc);
        ifaces_.push_back(iface_key);
      }
      last_iface_ = idx;
      pcapng::enhanced_packet(queue_, iface_id, ts_ns, data, orig_len, comment);
      ++sent_;
      wake = std::move(wake_);
      wake_ = nullptr;
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
  std::vector<std::string> ifaces_;  // interface id = index; key = uuid + link type
  std::size_t last_iface_ = 0;
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

bool read_frame_addresses(std::uint32_t dlt, std::span<const std::uint8_t> packet, frame_addresses& out) {
  anomaly_counters scratch;  // the tracker counts anomalies; this is a second look
  radio_info radio;
  std::span<const std::uint8_t> f;
  if (decode_radio_header(dlt, packet, radio, f, scratch) != header_status::ok) return false;
  if (f.size() < 10) return false;
  const std::uint16_t fc = static_cast<std::uint16_t>(f[0] | f[1] << 8);
  const unsigned type = (fc >> 2) & 3, subtype = (fc >> 4) & 15;
  const bool to_ds = fc & 0x0100, from_ds = fc & 0x0200;
  auto addr = [&](std::size_t off) { return mac_addr::from_bytes(f.data() + off); };
  out.addr[out.count++] = addr(4);
  if (type == 1) {  // control
    if (subtype == 0xc || subtype == 0xd || subtype == 0x6 || f.size() < 16) return true;
    out.addr[out.count++] = addr(10);
    if (subtype == 0xa) out.bssid = out.addr[0], out.has_bssid = true;                        // PS-Poll
    if (subtype == 0xe || subtype == 0xf) out.bssid = out.addr[1], out.has_bssid = true;      // CF-End
    return true;
  }
  if (f.size() >= 16) out.addr[out.count++] = addr(10);
  if (f.size() >= 22) out.addr[out.count++] = addr(16);
  if (type == 2 && to_ds && from_ds && f.size() >= 30) out.addr[out.count++] = addr(24);
  if (type == 0 || type == 2) {
    int idx;
    if (type == 0 || (!to_ds && !from_ds)) idx = 2;
    else if (to_ds && !from_ds) idx = 0;
    else if (!to_ds && from_ds) idx = 1;
    else idx = -1;  // WDS: no BSSID
    if (idx >= 0 && idx < out.count) {
      out.bssid = out.addr[idx];
      out.has_bssid = true;
    }
  }
  return true;
}

std::uint64_t pcap_hub::on_batch(source_entry& source, const wire::PacketBatch& b) {
  if (count_.load(std::memory_order_relaxed) == 0 || !b.packets() || !b.data()) return 0;
  std::vector<std::shared_ptr<subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    subs = subs_;
  }
  if (subs.empty()) return 0;
  std::string uuid, name;
  {
    std::lock_guard lock(source.mu);
    uuid = source.rec.uuid;
    name = source.rec.name;
  }
  const std::string desc = "hopwire source " + uuid;
  bool need_addresses = false;
  for (const auto& s : subs)
    need_addresses |= s->filter().k == pcap_filter::kind::device || s->filter().k == pcap_filter::kind::bssid;
  const auto* data = b.data();
  const auto* gps = b.gps();
  std::string comment, key;
  std::uint32_t key_dlt = ~0u;
  for (const auto* r : *b.packets()) {
    const std::string_view bytes(reinterpret_cast<const char*>(data->data() + r->data_offset()), r->cap_len());
    frame_addresses fa;
    bool have_addresses = false;
    if (need_addresses)
      have_addresses = read_frame_addresses(
          r->dlt(), std::span<const std::uint8_t>(data->data() + r->data_offset(), r->cap_len()), fa);
    // Metadata with no radiotap home goes in a comment: GPS always, and the
    // sensor's frequency and signal when the frame has no radio header.
    comment.clear();
    if ((r->flags() & protocol::kFlagGps) && gps && r->gps_index() < gps->size()) {
      const auto* g = gps->Get(r->gps_index());
      char buf[128];
      std::snprintf(buf, sizeof buf, "hopwire: lat=%.7f lon=%.7f alt=%.1f", g->lat(), g->lon(), g->alt());
      comment = buf;
    }
    if (r->dlt() == kDltIeee80211 && (r->freq_khz() || (r->flags() & protocol::kFlagSignal))) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%sfreq_khz=%u", comment.empty() ? "hopwire: " : " ", r->freq_khz());
      comment += buf;
      if (r->flags() & protocol::kFlagSignal) {
        std::snprintf(buf, sizeof buf, " signal_dbm=%d", static_cast<int>(r->signal_dbm()));
        comment += buf;
      }
    }
    if (r->dlt() != key_dlt) {
      key_dlt = r->dlt();
      key = uuid + "/" + std::to_string(key_dlt);
    }
    for (const auto& s : subs) {
      const auto& f = s->filter();
      bool take = false;
      switch (f.k) {
        case pcap_filter::kind::all: take = true; break;
        case pcap_filter::kind::source: take = f.uuid == uuid; break;
        case pcap_filter::kind::device:
          for (int i = 0; have_addresses && i < fa.count; ++i) take = take || fa.addr[i] == f.mac;
          break;
        case pcap_filter::kind::bssid: take = have_addresses && fa.has_bssid && fa.bssid == f.mac; break;
      }
      if (take)
        s->offer(key, static_cast<std::uint16_t>(r->dlt()), name, desc, r->ts_ns(), bytes, r->orig_len(), comment);
    }
  }
  return 0;
}

}  // namespace hopwire::collector

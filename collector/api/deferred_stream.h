#pragma once
// A streamed HTTP answer whose content comes later, from another thread:
// the cluster's (api/cluster_api.cc, api/alerts_api.cc), which must not
// keep an HTTP thread — one that also carries sensors' links — waiting on
// NATS. And the head of a fleet answer: who answered and who is missing.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "collector/cluster/cluster_node.h"
#include "collector/net/http_types.h"

namespace hopwire::collector {

// An answer that comes from the cluster's thread (the HTTP thread that
// asked also carries sensors' links and must not wait on NATS): nothing
// until answer(), then `head`, then what `list` streams (if any) and
// `tail`. `keep` holds what the list reads from.
class deferred_stream final : public body_stream {
 public:
  explicit deferred_stream(std::size_t memory_bound) : bound_(memory_bound) {}
  void answer(std::string head, std::shared_ptr<body_stream> list = {}, std::shared_ptr<void> keep = {},
              std::string tail = {}) {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      head_ = std::move(head);
      list_ = std::move(list);
      keep_ = std::move(keep);
      tail_ = std::move(tail);
      ready_ = true;
      wake = std::move(wake_);
    }
    if (wake) wake();
  }
  bool pull(std::string& out, std::size_t max, std::function<void()> wake) override {
    std::unique_lock lock(mu_);
    if (!ready_) {
      wake_ = std::move(wake);
      return !closed_;
    }
    if (head_pos_ < head_.size()) {
      const std::size_t n = std::min(max, head_.size() - head_pos_);
      out.append(head_, head_pos_, n);
      head_pos_ += n;
      return true;
    }
    if (list_) {
      auto list = list_;
      lock.unlock();
      const std::size_t before = out.size();
      if (list->pull(out, max, wake) || out.size() > before) return true;
      lock.lock();
      list_.reset();
      keep_.reset();
    }
    out += tail_;
    const bool more = !tail_.empty();
    tail_.clear();
    return more;
  }
  void delivered(std::size_t) override {}
  void close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    wake_ = nullptr;
    if (list_) list_->close();
    list_.reset();
    keep_.reset();
  }
  std::size_t memory_bound() const override { return bound_; }

 private:
  const std::size_t bound_;
  std::mutex mu_;
  std::string head_, tail_;
  std::size_t head_pos_ = 0;
  std::shared_ptr<void> keep_;  // before list_: the list goes first
  std::shared_ptr<body_stream> list_;
  bool ready_ = false, closed_ = false;
  std::function<void()> wake_;
};

// The head of a fleet answer, left open for the list:
// {"hopwire.cluster.collectors": [{"node_id": ..., <its counts>}, ...],
//  "hopwire.cluster.missing": [{"node_id": ..., "why": ...}, ...],
//  <totals>, "<list_key>":
using fleet_counts = std::vector<std::pair<const char*, std::uint64_t>>;
struct fleet_share_info {
  std::string node;
  fleet_counts counts;
};
std::string fleet_head(const std::vector<fleet_share_info>& answered,
                       const std::vector<std::pair<std::string, std::string>>& missing, const fleet_counts& totals,
                       const char* list_key);

}  // namespace hopwire::collector

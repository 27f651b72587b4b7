#include "channel_planner.h"

#include <algorithm>

#include "common/log.h"
#include "common/units.h"

namespace hopwire::collector {

namespace {

// What a sensor does by itself, read back from its definition.
hop_plan own_plan(const source_definition& def, const std::vector<std::string>& channels) {
  hop_plan p;
  p.channels = channels;
  try {
    p.hop = def.get_bool("channel_hop", true);
    p.shuffle = def.get_bool("channel_hop_shuffle", true);
    if (auto r = def.get("channel_hoprate")) p.rate_per_sec = std::min(parse_rate(*r), kMaxHopRatePerSec);
  } catch (const std::exception&) {
    // The sensor accepted its definition; anything odd here changes nothing.
  }
  if (auto fixed = def.get("channel")) {
    try {
      p.channels = {parse_channel(*fixed).str()};
      p.hop = false;
    } catch (const std::exception&) {
    }
  }
  if (p.channels.size() <= 1) p.hop = false;
  return p;
}

}  // namespace

std::vector<hop_plan> channel_planner::compute(const std::vector<std::vector<std::string>>& lists,
                                               const std::vector<double>& rates, const std::string& strategy) {
  std::vector<std::string> all;  // the union, in order of first appearance
  for (const auto& l : lists)
    for (const auto& c : l)
      if (std::find(all.begin(), all.end(), c) == all.end()) all.push_back(c);
  const std::size_t m = lists.size();
  std::vector<hop_plan> out(m);
  for (std::size_t i = 0; i < m; ++i) out[i].rate_per_sec = rates[i];
  auto can = [&](std::size_t i, const std::string& c) {
    return std::find(lists[i].begin(), lists[i].end(), c) != lists[i].end();
  };
  if (strategy == "offset") {
    for (std::size_t i = 0; i < m; ++i) {
      for (const auto& c : all)
        if (can(i, c)) out[i].channels.push_back(c);
      out[i].offset = static_cast<std::uint32_t>(m ? i * out[i].channels.size() / m : 0);
    }
  } else {
    // Each channel goes to the member that can tune it and has the fewest so
    // far (the earliest to join on a tie): disjoint, covering, balanced.
    for (const auto& c : all) {
      std::size_t best = m;
      for (std::size_t i = 0; i < m; ++i)
        if (can(i, c) && (best == m || out[i].channels.size() < out[best].channels.size())) best = i;
      if (best < m) out[best].channels.push_back(c);
    }
    // More members than channels: the spare ones hop their whole list.
    for (std::size_t i = 0; i < m; ++i)
      if (out[i].channels.empty()) out[i].channels = lists[i];
  }
  for (auto& p : out) p.hop = p.channels.size() > 1;
  return out;
}

void channel_planner::want(source_entry& s, const hop_plan& p, const std::string& mode) {
  std::function<void()> poke;
  {
    std::lock_guard lock(s.mu);
    auto& st = s.plan;
    if (st.request_id != 0 && st.wanted == p && st.mode == mode) {
      if (st.sent_id == st.request_id) return;  // already with the sensor
    } else {
      st.wanted = p;
      st.mode = mode;
      ++st.request_id;
    }
    poke = st.poke;
  }
  if (poke) poke();
}

void channel_planner::joined(const std::shared_ptr<source_entry>& s) {
  std::string group;
  std::optional<hop_plan> manual;
  {
    std::lock_guard lock(s->mu);
    auto& st = s->plan;
    source_definition def;
    try {
      def = source_definition::parse(s->rec.definition);
    } catch (const std::exception&) {
    }
    st.group = def.get("group").value_or("");
    st.group_plan = def.get("group_plan").value_or("");
    st.own = own_plan(def, s->channels);
    st.in_force = st.own.channels;
    st.sent_id = st.result_id = 0;
    st.result_message.clear();
    if (s->channels.empty()) st.group.clear();  // cannot tune: nothing to plan
    if (!st.manual && st.group.empty()) {
      // The sensor follows its own definition; nothing to send.
      st.wanted = st.own;
      st.mode = "own";
      st.request_id = 0;
    }
    group = st.group;
    manual = st.manual;
  }
  std::lock_guard lock(mu_);
  if (!group.empty()) {
    auto& members = groups_[group];
    std::erase_if(members, [&](const std::weak_ptr<source_entry>& w) {
      auto p = w.lock();
      return !p || p == s;
    });
    members.push_back(s);
    if (!strategies_.count(group)) {
      std::lock_guard slock(s->mu);
      if (!s->plan.group_plan.empty()) strategies_[group] = s->plan.group_plan;
    }
  }
  if (manual) want(*s, *manual, "manual");
  if (!group.empty()) replan(group);
}

void channel_planner::left(const std::shared_ptr<source_entry>& s) {
  std::string group;
  {
    std::lock_guard lock(s->mu);
    s->plan.poke = nullptr;
    group = s->plan.group;
  }
  if (group.empty()) return;
  std::lock_guard lock(mu_);
  auto& members = groups_[group];
  std::erase_if(members, [&](const std::weak_ptr<source_entry>& w) {
    auto p = w.lock();
    return !p || p == s;
  });
  replan(group);
}

void channel_planner::set_manual(const std::shared_ptr<source_entry>& s, std::optional<hop_plan> manual,
                                 double rate) {
  std::string group;
  hop_plan own;
  {
    std::lock_guard lock(s->mu);
    s->plan.manual = manual;
    if (!manual && rate > 0) s->plan.own.rate_per_sec = std::min(rate, kMaxHopRatePerSec);
    group = s->plan.group;
    own = s->plan.own;
  }
  if (manual) want(*s, *manual, "manual");
  else if (group.empty()) want(*s, own, "own");
  if (!group.empty()) {
    std::lock_guard lock(mu_);
    replan(group);
  }
}

void channel_planner::set_strategy(const std::string& group, const std::string& strategy) {
  std::lock_guard lock(mu_);
  strategies_[group] = strategy;
  replan(group);
}

void channel_planner::replan(const std::string& group) {
  std::vector<std::shared_ptr<source_entry>> members;
  std::vector<std::vector<std::string>> lists;
  std::vector<double> rates;
  for (const auto& w : groups_[group]) {
    auto s = w.lock();
    if (!s) continue;
    std::lock_guard lock(s->mu);
    if (!s->running || s->plan.manual) continue;
    members.push_back(s);
    lists.push_back(s->channels);
    rates.push_back(s->plan.own.rate_per_sec);
  }
  if (members.empty()) return;
  auto it = strategies_.find(group);
  const std::string strategy = it != strategies_.end() && it->second == "offset" ? "offset" : "split";
  const auto plans = compute(lists, rates, strategy);
  for (std::size_t i = 0; i < members.size(); ++i) want(*members[i], plans[i], strategy);
  spdlog::info("group '{}': {} plan for {} source{}", group, strategy, members.size(),
               members.size() == 1 ? "" : "s");
}

}  // namespace hopwire::collector

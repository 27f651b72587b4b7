#include "collector/plan/channel_planner.h"

#include <algorithm>
#include <set>

#include "common/log.h"
#include "common/units.h"

namespace hopwire::collector {


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

void channel_planner::configure(source_entry& s) {
  std::lock_guard lock(s.mu);
  auto& st = s.plan;
  st.group = s.options.group;
  st.group_plan = s.options.group_plan;
  st.own = s.options.own;
  st.managed = false;
  s.fixed_location.reset();
  s.disabled = false;
  if (const auto* f = fleet_->find(s.rec.uuid, s.rec.name)) {
    if (!f->group.empty()) st.group = f->group;
    std::vector<std::string> list;
    for (const auto& c : s.channels) {
      const bool in_list = f->channels.empty() || std::find(f->channels.begin(), f->channels.end(), c) !=
                                                      f->channels.end();
      bool in_band = f->bands.empty();
      std::string why;
      if (const auto ch = try_parse_channel(c, why)) {
        const auto mhz = ch->control_mhz;
        for (const auto& b : f->bands)
          in_band = in_band || (b == "2.4" && is_2ghz(mhz)) || (b == "5" && is_5ghz(mhz)) || (b == "6" && is_6ghz(mhz));
      }
      if (in_list && in_band) list.push_back(c);
    }
    if (!f->channels.empty() || !f->bands.empty()) {
      st.own.channels = list;
      st.own.hop = list.size() > 1;
      st.managed = true;
    }
    if (f->hop_rate > 0) {
      st.own.rate_per_sec = f->hop_rate;
      st.managed = true;
    }
    if (f->location) {
      gps_fix fix;
      fix.lat = f->location->lat;
      fix.lon = f->location->lon;
      fix.alt = f->location->alt;
      fix.has_alt = f->location->has_alt;
      s.fixed_location = fix;
    }
    s.disabled = !f->enabled;
  }
  if (auto g = fleet_->groups.find(st.group); g != fleet_->groups.end() && g->second.hop_rate > 0 &&
                                              !(fleet_->find(s.rec.uuid, s.rec.name) &&
                                                fleet_->find(s.rec.uuid, s.rec.name)->hop_rate > 0))
    st.own.rate_per_sec = g->second.hop_rate;
  if (s.channels.empty()) st.group.clear();  // cannot tune: nothing to plan
}

void channel_planner::plan_alone(source_entry& s) {
  hop_plan own;
  bool managed, fresh;
  {
    std::lock_guard lock(s.mu);
    own = s.plan.own;
    managed = s.plan.managed;
    fresh = s.plan.request_id == 0;
    if (fresh && !managed) {
      // The sensor follows its own definition; nothing to send.
      s.plan.wanted = own;
      s.plan.mode = "own";
      return;
    }
  }
  want(s, own, managed ? "fleet" : "own");
}

void channel_planner::joined(const std::shared_ptr<source_entry>& s) {
  std::lock_guard lock(mu_);
  {
    std::lock_guard slock(s->mu);
    s->plan.sent_id = s->plan.result_id = 0;
    s->plan.result_message.clear();
    s->plan.in_force = s->channels;
    if (s->plan.manual) s->plan.request_id = std::max<std::uint32_t>(s->plan.request_id, 1);
  }
  configure(*s);
  live_[s->rec.uuid] = s;
  std::string group;
  std::optional<hop_plan> manual;
  {
    std::lock_guard slock(s->mu);
    group = s->plan.group;
    manual = s->plan.manual;
    if (!manual && group.empty() && !s->plan.managed) s->plan.request_id = 0;
  }
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
  else if (group.empty()) plan_alone(*s);
  if (!group.empty()) replan(group);
}

void channel_planner::left(const std::shared_ptr<source_entry>& s) {
  std::string group;
  {
    std::lock_guard lock(s->mu);
    s->plan.poke = nullptr;
    group = s->plan.group;
  }
  std::lock_guard lock(mu_);
  if (auto it = live_.find(s->rec.uuid); it != live_.end() && it->second.lock() == s) live_.erase(it);
  if (group.empty()) return;
  auto& members = groups_[group];
  std::erase_if(members, [&](const std::weak_ptr<source_entry>& w) {
    auto p = w.lock();
    return !p || p == s;
  });
  replan(group);
}

void channel_planner::set_manual(const std::shared_ptr<source_entry>& s, std::optional<hop_plan> manual,
                                 double rate) {
  std::lock_guard lock(mu_);
  std::string group;
  hop_plan own;
  bool managed;
  {
    std::lock_guard slock(s->mu);
    s->plan.manual = manual;
    if (!manual && rate > 0) s->plan.own.rate_per_sec = std::min(rate, kMaxHopRatePerSec);
    group = s->plan.group;
    own = s->plan.own;
    managed = s->plan.managed;
  }
  if (manual) want(*s, *manual, "manual");
  else if (group.empty()) want(*s, own, managed ? "fleet" : "own");
  if (!group.empty()) replan(group);
}

void channel_planner::set_fleet(std::shared_ptr<const fleet_config> fleet) {
  std::lock_guard lock(mu_);
  fleet_ = std::move(fleet);
  std::set<std::string> groups;
  for (auto it = live_.begin(); it != live_.end();) {
    auto s = it->second.lock();
    if (!s) {
      it = live_.erase(it);
      continue;
    }
    std::string before;
    {
      std::lock_guard slock(s->mu);
      before = s->plan.group;
    }
    configure(*s);
    std::string after;
    bool manual;
    {
      std::lock_guard slock(s->mu);
      after = s->plan.group;
      manual = s->plan.manual.has_value();
    }
    if (before != after) {
      if (!before.empty()) {
        std::erase_if(groups_[before], [&](const std::weak_ptr<source_entry>& w) {
          auto p = w.lock();
          return !p || p == s;
        });
        groups.insert(before);
      }
      if (!after.empty()) groups_[after].push_back(s);
    }
    if (!after.empty()) groups.insert(after);
    else if (!manual) plan_alone(*s);
    ++it;
  }
  for (const auto& g : groups) replan(g);
}

std::shared_ptr<const fleet_config> channel_planner::fleet() const {
  std::lock_guard lock(mu_);
  return fleet_;
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
    lists.push_back(s->plan.own.channels);
    rates.push_back(s->plan.own.rate_per_sec);
  }
  if (members.empty()) return;
  std::string strategy = "split";
  if (auto g = fleet_->groups.find(group); g != fleet_->groups.end()) {
    strategy = g->second.strategy;
    if (!g->second.channels.empty()) {
      // The group's list, in its order, as far as each member can tune it.
      for (auto& l : lists) {
        std::vector<std::string> kept;
        for (const auto& c : g->second.channels)
          if (std::find(l.begin(), l.end(), c) != l.end()) kept.push_back(c);
        l = std::move(kept);
      }
    }
  } else if (auto it = strategies_.find(group); it != strategies_.end() && it->second == "offset") {
    strategy = "offset";
  }
  const auto plans = compute(lists, rates, strategy);
  for (std::size_t i = 0; i < members.size(); ++i) want(*members[i], plans[i], strategy);
  spdlog::info("group '{}': {} plan for {} source{}", group, strategy, members.size(),
               members.size() == 1 ? "" : "s");
}

}  // namespace hopwire::collector

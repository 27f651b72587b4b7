#pragma once
// Decides which channels each live source listens on.
//
// A source alone follows its own definition until someone sets its channels
// over REST. Sources in one group share the work: `split` (the default)
// gives each a disjoint, balanced share of the union of their channel lists;
// `offset` has all of them hop the whole list, each starting at a different
// place in it (Kismet's phase shift). A source whose channels were set by
// hand leaves its group's plan until set_hop.cmd hands it back. Plans are
// recomputed whenever a member joins, leaves or is set by hand.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/config/fleet.h"
#include "collector/core/sources.h"
#include "common/source_definition.h"

namespace hopwire::collector {

class channel_planner {
 public:
  // A source has connected (after source_registry::claim). Reads its
  // group, strategy and own plan from its definition and channel list.
  void joined(const std::shared_ptr<source_entry>& s);
  // Its link is gone (after source_registry::release).
  void left(const std::shared_ptr<source_entry>& s);

  // REST. `manual` set: lock or hop as given; unset: back to the group's
  // (or the sensor's own) plan, at `rate` if above zero.
  void set_manual(const std::shared_ptr<source_entry>& s, std::optional<hop_plan> manual, double rate);

  // The fleet file: groups, and per-sensor channels, rates and groups that
  // override the sensors' definitions. Replans every live source; sensors
  // get their new plans over their links, without reconnecting.
  void set_fleet(std::shared_ptr<const fleet_config> fleet);
  std::shared_ptr<const fleet_config> fleet() const;

  // The plans of a group as `split` or `offset` would make them, for the
  // members' channel lists in join order. Exposed for tests.
  static std::vector<hop_plan> compute(const std::vector<std::vector<std::string>>& lists,
                                       const std::vector<double>& rates, const std::string& strategy);

 private:
  void replan(const std::string& group);  // mu_ held
  // Group, own plan and fleet settings of a source from its definition and
  // the fleet file. mu_ held; takes s.mu.
  void configure(source_entry& s);
  // A source outside any group and not set by hand. mu_ held.
  void plan_alone(source_entry& s);
  static void want(source_entry& s, const hop_plan& p, const std::string& mode);

  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::weak_ptr<source_entry>>> groups_;  // live members, join order
  std::map<std::string, std::weak_ptr<source_entry>> live_;                // by UUID
  std::map<std::string, std::string> strategies_;  // from group_plan= of the first member
  std::shared_ptr<const fleet_config> fleet_ = std::make_shared<fleet_config>();
};

}  // namespace hopwire::collector

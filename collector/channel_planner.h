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

#include "collector/sources.h"
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

  // Group strategies given by configuration; a group not named here takes
  // its first member's group_plan= or `split`.
  void set_strategy(const std::string& group, const std::string& strategy);

  // The plans of a group as `split` or `offset` would make them, for the
  // members' channel lists in join order. Exposed for tests.
  static std::vector<hop_plan> compute(const std::vector<std::vector<std::string>>& lists,
                                       const std::vector<double>& rates, const std::string& strategy);

 private:
  void replan(const std::string& group);  // mu_ held
  static void want(source_entry& s, const hop_plan& p, const std::string& mode);

  std::mutex mu_;
  std::map<std::string, std::vector<std::weak_ptr<source_entry>>> groups_;  // live members, join order
  std::map<std::string, std::string> strategies_;
};

}  // namespace hopwire::collector

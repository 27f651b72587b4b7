#pragma once
// One device as several collectors saw it, made whole: a cluster's fleet
// list (docs/cluster.md, "Queries") folds each collector's record of a MAC
// into one. The collectors heard it through disjoint sets of sources, so
// the fold is the tracker's own rules applied across records: counts add,
// first and last times widen, bit sets unite, lists match entries as the
// tracker matches them (SSID text, peer MAC, BSSID, source), and what the
// tracker keeps "as last heard" (signal, channel, a record's country) comes
// from the side that heard it last.
//
// Both devices' seen-by entries must index one source table.

#include "collector/track/device.h"

namespace hopwire::collector {

// Folds `from` into `into` (same MAC). The bookkeeping fields (recency
// links, index, dirty) of `into` are left as they are.
void merge_device(device& into, const device& from);

}  // namespace hopwire::collector

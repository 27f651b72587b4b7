#pragma once
// Named counters for everything odd the decoders meet. Each is shown in
// /system/status.json as hopwire.decode.<name>. Relaxed atomics: statistics.

#include <atomic>
#include <cstdint>

namespace hopwire::collector {

#define HOPWIRE_ANOMALIES(X)                                                     \
  X(unknown_linktype)        /* a DLT the decoder does not know */              \
  X(radiotap_truncated)      /* header shorter than it says, or than a field */ \
  X(radiotap_bad_version)    /* version byte not 0 */                           \
  X(radiotap_unknown_field)  /* presence bit we cannot size: rest skipped */    \
  X(ppi_truncated)                                                              \
  X(ppi_bad_dlt)             /* PPI wrapping something other than 802.11 */     \
  X(prism_truncated)                                                            \
  X(avs_truncated)                                                              \
  X(fcs_bad)                 /* FCS present and wrong, or radiotap bad-FCS */   \
  X(dot11_truncated)         /* shorter than its header */                      \
  X(dot11_bad_version)       /* protocol version not 0 */                       \
  X(mgmt_body_truncated)     /* fixed fields missing */                         \
  X(ie_truncated)            /* element claims more bytes than remain */        \
  X(ie_bad_length)           /* element length impossible for its id */         \
  X(ssid_too_long)           /* SSID element over 32 bytes */                   \
  X(rsn_malformed)                                                              \
  X(wpa_malformed)                                                              \
  X(eapol_truncated)                                                            \
  X(data_pad_truncated)

struct anomaly_counters {
#define HOPWIRE_DECLARE(name) std::atomic<std::uint64_t> name{0};
  HOPWIRE_ANOMALIES(HOPWIRE_DECLARE)
#undef HOPWIRE_DECLARE

  static void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

  template <typename F>
  void for_each(F&& f) const {
#define HOPWIRE_VISIT(name) f(#name, name.load(std::memory_order_relaxed));
    HOPWIRE_ANOMALIES(HOPWIRE_VISIT)
#undef HOPWIRE_VISIT
  }
};

}  // namespace hopwire::collector

#pragma once
// The stored form of a device: a versioned little-endian binary record,
// decoded with every read bounds-checked (a damaged record is refused, not
// misread). Sources are stored by UUID, since the tracker's source indexes
// are only valid within one run.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "collector/track/device.h"

namespace hopwire::collector {

inline constexpr std::uint8_t kDeviceRecordVersion = 1;

using source_uuid_of = std::function<std::string(std::uint32_t index)>;
using source_index_of = std::function<std::uint32_t(const std::string& uuid)>;

void encode_device(const device& d, const source_uuid_of& uuid_of, std::string& out);
// Fills `d` (which must be fresh); false when the record is damaged or of an
// unknown version.
bool decode_device(std::string_view record, device& d, const source_index_of& index_of);

}  // namespace hopwire::collector

#pragma once
// The stored form of a device's name and tags (track/device_annotations.h):
// a small JSON object {"username": ..., "tags": {...}}, written when a REST
// command changes it and read back at start.

#include <string>
#include <string_view>

#include "collector/track/device_annotations.h"

namespace hopwire::collector {

class store;

// An empty annotation encodes as "" (which the store erases).
std::string encode_annotation(const device_annotation& a);
// False when the record is not one.
bool decode_annotation(std::string_view record, device_annotation& a);

// Writes one device's annotation; false when the store refused it.
bool save_annotation(store& db, mac_addr mac, const device_annotation& a);
// Loads every stored annotation into `table`; returns how many (damaged
// records are skipped and logged).
std::size_t load_annotations(store& db, device_annotations& table);

}  // namespace hopwire::collector

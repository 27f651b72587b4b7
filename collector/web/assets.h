#pragma once
// The web UI's built files, compiled into the collector (embed_assets.py
// writes the table at build time from `vite build`'s output): one binary to
// install, nothing to find on disk, and the systemd sandbox needs no extra
// path. Each file is kept as it is and gzip-compressed, with its ETag.

#include <cstddef>
#include <string_view>

namespace hopwire::collector::web {

struct asset {
  std::string_view path;          // "/index.html", "/assets/app-3f2a.js"
  std::string_view content_type;
  std::string_view etag;          // quoted
  bool immutable;                 // hashed name: cache for a year
  std::string_view identity;      // the file
  std::string_view gzip;          // the same, gzip-compressed (empty when that is not smaller)
};

// Null when there is no such file.
const asset* find_asset(std::string_view path);
// False when the collector was built with -DHOPWIRE_WEB_UI=OFF.
bool ui_built();
std::size_t asset_count();

}  // namespace hopwire::collector::web

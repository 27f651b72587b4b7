#pragma once
// The collector's state directory: created 0700, checked writable at start,
// and small files in it written atomically with a chosen mode.

#include <filesystem>
#include <string_view>

namespace hopwire::collector {

// Creates `dir` (and parents) if needed, tightens it to 0700 if we created
// it, and proves it writable. Throws std::runtime_error with the reason.
void prepare_state_dir(const std::filesystem::path& dir);

// Writes `content` to `path` via a temporary file and rename, so readers
// never see half a file; the file gets `mode` before any byte is written.
void write_file_atomic(const std::filesystem::path& path, std::string_view content, unsigned mode);

}  // namespace hopwire::collector

#include "collector/config/state_dir.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

namespace hopwire::collector {

namespace fs = std::filesystem;

void prepare_state_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create state directory " + dir.string() + ": " + ec.message());
    if (::chmod(dir.c_str(), 0700) != 0)
      throw std::runtime_error("cannot set mode 0700 on " + dir.string() + ": " + std::strerror(errno));
  } else if (!fs::is_directory(dir, ec)) {
    throw std::runtime_error("state directory " + dir.string() + " exists but is not a directory");
  } else if (struct stat st {}; ::stat(dir.c_str(), &st) == 0 && (st.st_mode & 077)) {
    // It holds password hashes, tokens and the admin password file: others
    // have no business reading it. Tightened when it is ours, else said.
    const unsigned was = st.st_mode & 0777;
    if (st.st_uid == ::geteuid() && ::chmod(dir.c_str(), 0700) == 0)
      spdlog::warn("state directory {} was mode {:04o}; tightened to 0700 (it holds credentials)", dir.string(), was);
    else
      spdlog::warn("state directory {} is mode {:04o} and not ours to change: other users may read credentials in it",
                   dir.string(), was);
  }
  // Prove we can write, rather than failing later in the middle of a run.
  const fs::path probe = dir / ".write-test";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("state directory " + dir.string() + " is not writable: " + std::strerror(errno));
  const char byte = 0;
  const bool ok = ::write(fd, &byte, 1) == 1;
  const int saved = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!ok) throw std::runtime_error("cannot write to state directory " + dir.string() + ": " + std::strerror(saved));
}

void write_file_atomic(const fs::path& path, std::string_view content, unsigned mode) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  ::fchmod(fd, mode);
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(saved));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot flush " + tmp.string() + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot replace " + path.string() + ": " + std::strerror(saved));
  }
}

}  // namespace hopwire::collector

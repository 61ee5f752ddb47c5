#include "agent/core/socket_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace cutover::agent {

std::optional<std::string> FreeSocketPath(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;  // nothing there
  if (!S_ISSOCK(st.st_mode))
    return path + " exists and is not a socket; only a stale socket is replaced (move it aside)";
  ::unlink(path.c_str());
  return std::nullopt;
}

}  // namespace cutover::agent

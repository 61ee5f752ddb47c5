#include "agent/core/secret_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cutover::agent {

std::string ReadSecretFile(const std::string& flag, const std::string& path, std::string* warning) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SecretFileError(flag + ": cannot read " + path + ": " + std::strerror(errno));
  if (warning != nullptr) {
    warning->clear();
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      *warning =
          flag + ": " + path + " is open to every user (mode " + mode + "): chmod o-rw " + path;
    }
  }
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw SecretFileError(flag + ": " + path + " is empty");
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace cutover::agent

#include "agent/core/secret_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cutover::agent {

std::string ReadSecretFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SecretFileError(flag + ": cannot read " + path + ": " + std::strerror(errno));
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw SecretFileError(flag + ": " + path + " is empty");
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace cutover::agent

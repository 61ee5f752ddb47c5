// Reads a file that holds a credential: a bearer token, a TLS key or
// certificate. One reader for the agent's and the CLI's flags, so both trim,
// refuse and word their errors alike.
#pragma once

#include <stdexcept>
#include <string>

namespace cutover::agent {

class SecretFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The file's content with surrounding whitespace trimmed. Throws
// SecretFileError naming `flag` and the path ("--token-file: cannot read
// /etc/x: No such file or directory", "--token-file: /etc/x is empty").
// When `warning` is given and the file is readable or writable by others
// (not its owner, not its group), it says so there; "" otherwise.
std::string ReadSecretFile(const std::string& flag, const std::string& path,
                           std::string* warning = nullptr);

}  // namespace cutover::agent

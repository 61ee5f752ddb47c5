// Text from outside (a command's output, an HTTP body) made safe to keep:
// valid UTF-8 (protobuf strings must be) and bounded in size.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cutover::agent {

// `text` with every byte that is not part of a valid UTF-8 sequence replaced
// by U+FFFD.
std::string ValidUtf8(std::string_view text);

// Keeps the last bytes written to it, up to a limit, counting what it dropped:
// the tail of a command's output is where it says why it failed.
class TailBuffer {
 public:
  explicit TailBuffer(std::size_t limit) : limit_(limit) {}
  void Append(std::string_view data);
  // The kept bytes as valid UTF-8, prefixed with "[... N bytes cut]\n" when
  // some were dropped.
  std::string Text() const;
  std::size_t total() const { return total_; }

 private:
  std::size_t limit_;
  std::size_t total_ = 0;
  std::string kept_;
};

// The first `limit` bytes of `text` as valid UTF-8, with "..." when cut.
std::string Excerpt(std::string_view text, std::size_t limit);

}  // namespace cutover::agent

#include "agent/core/text.hpp"

#include <algorithm>

namespace cutover::agent {

namespace {

// The length of the valid UTF-8 sequence at text[i], or 0 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

}  // namespace

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = SequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

void TailBuffer::Append(std::string_view data) {
  total_ += data.size();
  if (data.size() >= limit_) {
    kept_.assign(data.substr(data.size() - limit_));
    return;
  }
  kept_.append(data);
  if (kept_.size() > limit_) kept_.erase(0, kept_.size() - limit_);
}

std::string TailBuffer::Text() const {
  std::string_view kept = kept_;
  const std::size_t cut = total_ - kept_.size();
  // Do not start in the middle of a character the cut split.
  if (cut > 0)
    while (!kept.empty() && (static_cast<unsigned char>(kept.front()) & 0xC0) == 0x80)
      kept.remove_prefix(1);
  std::string out;
  if (cut > 0) out = "[... " + std::to_string(total_ - kept.size()) + " bytes cut]\n";
  return out + ValidUtf8(kept);
}

std::string Excerpt(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return ValidUtf8(text);
  // Whole characters only: stop before the one that would cross the limit.
  std::size_t end = 0;
  while (end < limit) {
    const std::size_t n = std::max<std::size_t>(SequenceLength(text, end), 1);
    if (end + n > limit) break;
    end += n;
  }
  return ValidUtf8(text.substr(0, end)) + "...";
}

}  // namespace cutover::agent

#include "agent/gates/row_checksum.hpp"

#include <charconv>
#include <cstdio>

#include "agent/core/canonical.hpp"

namespace cutover::gates {

void RowHasher::Mix(std::string_view bytes) {
  constexpr std::uint64_t kPrime = 1099511628211ULL;
  for (unsigned char c : bytes) {
    state_ ^= c;
    state_ *= kPrime;
  }
}

void RowHasher::AddField(char tag, std::string_view bytes) {
  char frame[9];
  frame[0] = tag;
  std::uint64_t length = bytes.size();
  for (int i = 1; i <= 8; ++i, length >>= 8) frame[i] = static_cast<char>(length & 0xff);
  Mix(std::string_view(frame, sizeof frame));
  Mix(bytes);
}

void RowHasher::AddNull() { AddField('N', {}); }

void RowHasher::AddInteger(std::int64_t value) {
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  AddField('#', std::string_view(text, end - text));
}

void RowHasher::AddReal(double value) { AddField('#', agent::CanonicalNumber(value)); }

void RowHasher::AddText(std::string_view bytes) { AddField('s', bytes); }

void RowHasher::AddTimestamp(std::string_view text, bool in_utc) {
  if (const auto canonical = agent::CanonicalTimestamp(text, in_utc)) {
    AddField('s', *canonical);
  } else {
    AddField('s', text);
  }
}

std::uint64_t RowHasher::FinishRow() {
  std::uint64_t z = state_;
  state_ = kOffsetBasis;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string TableChecksum::Hex() const {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(sum));
  return text;
}

}  // namespace cutover::gates

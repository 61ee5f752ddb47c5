// The canonical timestamps of parity and the sync (agent/core/canonical.hpp): any
// text, never a crash; a canonical spelling is canonical, so it reads back
// as itself (SQLite and PostgreSQL rows hash alike only if it does).
#include <cstdint>

#include "agent/core/canonical.hpp"
#include "agent/gates/row_checksum.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using cutover::fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = cutover::fuzz::Text(data, size);
  for (const bool utc : {false, true}) {
    const auto canonical = cutover::agent::CanonicalTimestamp(text, utc);
    if (!canonical) continue;
    const auto again = cutover::agent::CanonicalTimestamp(*canonical, utc);
    Check(again.has_value(), "\"" + *canonical + "\" reads back");
    Check(*again == *canonical, "\"" + *canonical + "\" reads back as \"" + *again + "\"");
    cutover::gates::RowHasher hasher;
    hasher.AddTimestamp(text, utc);
    cutover::gates::RowHasher same;
    same.AddTimestamp(*canonical, utc);
    Check(hasher.FinishRow() == same.FinishRow(), "a timestamp hashes as its canonical spelling");
  }
  return 0;
}

// Durations and percentages as operators write them (flags, plans, CLI
// arguments). The parsers never crash, accept only what the limits allow,
// and what they accept prints back (FormatDuration, FormatBpPercent) as text
// they read again to the same value, within the formatter's rounding.
#include <cstdint>

#include "agent/core/units.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace cutover;
using namespace cutover::agent;
using cutover::fuzz::Check;

namespace {

// FormatDuration keeps a tenth of the unit below a second, a tenth of a second above.
Nanos Rounding(Nanos d) {
  using namespace std::chrono;
  if (d < microseconds{1}) return Nanos{0};
  if (d < milliseconds{1}) return Nanos{50};
  if (d < seconds{1}) return microseconds{50};
  return milliseconds{50};
}

void Durations(std::string_view text) {
  std::string why;
  const auto d = ParseDuration(text, &why);
  if (!d) {
    Check(!why.empty(), "a refused duration says why");
    return;
  }
  Check(*d >= Nanos{0} && *d <= kMaxDuration,
        "a duration within 0.." + FormatDuration(kMaxDuration));
  const std::string printed = FormatDuration(*d);
  const auto again = ParseDuration(printed, &why);
  Check(again.has_value(), "FormatDuration's \"" + printed + "\" reads back (" + why + ")");
  const Nanos error = *again > *d ? *again - *d : *d - *again;
  Check(error <= Rounding(*d), "\"" + printed + "\" reads back as the duration it printed");
}

void Percents(std::string_view text) {
  std::string why;
  if (const auto p = ParsePercent(text, &why)) {
    Check(*p >= 0 && *p <= 100, "a percentage within 0..100");
    const std::uint32_t bp = PercentToBp(*p);
    const std::string printed = FormatBpPercent(bp);
    const auto again = ParsePercentWithSign(printed, &why);
    Check(again && PercentToBp(*again) == bp, "\"" + printed + "\" reads back (" + why + ")");
  } else {
    Check(!why.empty(), "a refused percentage says why");
  }
  if (const auto p = ParsePercentWithSign(text, &why))
    Check(*p >= 0 && *p <= 100, "a percentage with its sign within 0..100");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = cutover::fuzz::Text(data, size);
  Durations(text);
  Percents(text);
  return 0;
}

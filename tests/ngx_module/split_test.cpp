// The module's slot arithmetic (ngx_module/ngx_http_cutover_split.hpp): key=
// bucketing and the smooth weighted interleave.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "ngx_http_cutover_split.hpp"

namespace cutover::module {
namespace {

using state::kWeightScale;
using state::Slot;

TEST(KeyBucket, IsStableAndInRange) {
  // Pinned: tools compute which keys go green with the same function, so a
  // change here is a change of the contract.
  // The values come from an independent implementation of the documented
  // algorithm (FNV-1a 64, splitmix64 finaliser, mod 10000).
  EXPECT_EQ(KeyBucket("user-1"), 7624u);
  EXPECT_EQ(KeyBucket(""), 6203u);
  EXPECT_EQ(KeyBucket("order:42"), 9409u);
  std::map<std::uint32_t, int> seen;
  for (int i = 0; i < 20000; ++i) {
    const auto b = KeyBucket("user-" + std::to_string(i));
    ASSERT_LT(b, kKeyBuckets);
    ++seen[b / 1000];
  }
  // Ten deciles of 2000 expected each; a poor hash of sequential ids clumps.
  for (const auto& [decile, n] : seen) {
    EXPECT_GT(n, 1700) << "decile " << decile;
    EXPECT_LT(n, 2300) << "decile " << decile;
  }
}

TEST(KeyBucket, RaisingTheWeightOnlyMovesKeysFromBlueToGreen) {
  for (int i = 0; i < 5000; ++i) {
    const auto b = KeyBucket("k" + std::to_string(i));
    for (std::uint32_t w = 0; w < kWeightScale; w += 37)
      if (KeyGoesGreen(b, w)) {
        ASSERT_TRUE(KeyGoesGreen(b, w + 37));
      }
  }
  EXPECT_FALSE(KeyGoesGreen(0, 0));
  EXPECT_TRUE(KeyGoesGreen(kKeyBuckets - 1, kWeightScale));
}

TEST(Interleave, EveryPrefixIsWithinOneOfExact) {
  for (std::uint32_t w : {0u, 1u, 100u, 333u, 2000u, 5000u, 7777u, 9999u, 10000u}) {
    Interleave il;
    std::int64_t green = 0;
    for (std::int64_t n = 1; n <= 20000; ++n) {
      green += il.Next(w) == Slot::kGreen;
      const double exact = static_cast<double>(n) * w / kWeightScale;
      ASSERT_LT(std::fabs(static_cast<double>(green) - exact), 1.0) << "w=" << w << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace cutover::module

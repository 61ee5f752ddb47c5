#include "agent/gates/row_checksum.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace cutover::gates {
namespace {

std::uint64_t HashOf(const std::function<void(RowHasher&)>& fill) {
  RowHasher hasher;
  fill(hasher);
  return hasher.FinishRow();
}

TEST(RowHasher, AnIntegralRealEqualsTheInteger) {
  EXPECT_EQ(HashOf([](RowHasher& h) { h.AddReal(3.0); }),
            HashOf([](RowHasher& h) { h.AddInteger(3); }));
  EXPECT_EQ(HashOf([](RowHasher& h) { h.AddReal(-0.0); }),
            HashOf([](RowHasher& h) { h.AddInteger(0); }));
}

TEST(RowHasher, TellsApartWhatDiffers) {
  const auto null = HashOf([](RowHasher& h) { h.AddNull(); });
  const auto empty = HashOf([](RowHasher& h) { h.AddText(""); });
  const auto zero = HashOf([](RowHasher& h) { h.AddInteger(0); });
  const auto zero_text = HashOf([](RowHasher& h) { h.AddText("0"); });
  EXPECT_NE(null, empty);
  EXPECT_NE(zero, zero_text);
  EXPECT_NE(null, zero);
  EXPECT_NE(HashOf([](RowHasher& h) { h.AddReal(0.1); }),
            HashOf([](RowHasher& h) { h.AddReal(0.1000001); }));
  // Field boundaries count: ("ab", "c") is not ("a", "bc").
  EXPECT_NE(HashOf([](RowHasher& h) {
              h.AddText("ab");
              h.AddText("c");
            }),
            HashOf([](RowHasher& h) {
              h.AddText("a");
              h.AddText("bc");
            }));
  // Integers beyond a double's precision stay exact.
  EXPECT_NE(HashOf([](RowHasher& h) { h.AddInteger(9007199254740993); }),
            HashOf([](RowHasher& h) { h.AddInteger(9007199254740992); }));
}

TEST(RowHasher, StartsAfreshAfterEachRow) {
  RowHasher hasher;
  hasher.AddText("x");
  const auto first = hasher.FinishRow();
  hasher.AddText("x");
  EXPECT_EQ(hasher.FinishRow(), first);
}

TEST(RowHasher, NansAreOneValue) {
  EXPECT_EQ(HashOf([](RowHasher& h) { h.AddReal(std::numeric_limits<double>::quiet_NaN()); }),
            HashOf([](RowHasher& h) { h.AddReal(-std::numeric_limits<double>::quiet_NaN()); }));
}

TEST(TableChecksum, DoesNotDependOnRowOrderButCountsDuplicates) {
  TableChecksum forward, backward, one, with_a_pair;
  for (std::uint64_t h : {11u, 22u, 33u}) forward.AddRow(h);
  for (std::uint64_t h : {33u, 11u, 22u}) backward.AddRow(h);
  EXPECT_EQ(forward, backward);
  // A XOR would cancel a duplicated pair; the sum keeps it.
  one.AddRow(11);
  for (std::uint64_t h : {11u, 22u, 22u}) with_a_pair.AddRow(h);
  EXPECT_NE(one.sum, with_a_pair.sum);
  EXPECT_EQ(forward.Hex().size(), 16u);
}

}  // namespace
}  // namespace cutover::gates

#include "agent/core/text.hpp"

#include <gtest/gtest.h>

namespace cutover::agent {
namespace {

TEST(ValidUtf8, KeepsValidTextAndReplacesEveryBadByte) {
  EXPECT_EQ(ValidUtf8("plain ascii"), "plain ascii");
  EXPECT_EQ(ValidUtf8("gr\xC3\xBCn \xE2\x86\x92 \xF0\x9F\x9A\x80"),
            "gr\xC3\xBCn \xE2\x86\x92 \xF0\x9F\x9A\x80");
  EXPECT_EQ(ValidUtf8("a\xFF"
                      "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ValidUtf8("\xC3"), "\xEF\xBF\xBD");                                  // cut short
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST(TailBuffer, KeepsTheLastBytesAndSaysHowManyWereCut) {
  TailBuffer tail(8);
  tail.Append("0123");
  EXPECT_EQ(tail.Text(), "0123");
  tail.Append("456789ab");
  EXPECT_EQ(tail.total(), 12u);
  EXPECT_EQ(tail.Text(), "[... 4 bytes cut]\n456789ab");
  tail.Append(std::string(100, 'x') + "end");
  EXPECT_EQ(tail.Text(), "[... 107 bytes cut]\nxxxxxend");
}

TEST(TailBuffer, NeverStartsInsideACharacter) {
  TailBuffer tail(3);
  tail.Append("a\xE2\x86\x92z");  // a → z: the cut falls inside the arrow
  EXPECT_EQ(tail.Text(), "[... 4 bytes cut]\nz");
}

TEST(Excerpt, CutsAtACharacterBoundaryAndSaysSo) {
  EXPECT_EQ(Excerpt("short", 10), "short");
  EXPECT_EQ(Excerpt("0123456789", 4), "0123...");
  EXPECT_EQ(Excerpt("ab\xE2\x86\x92", 4), "ab...");
}

}  // namespace
}  // namespace cutover::agent

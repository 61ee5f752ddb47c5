// The fleet's journal as a node last read it: what its controller rebuilds
// from while the database is out of reach.
#include "agent/fleet/journal_mirror.hpp"

#include <gtest/gtest.h>

namespace cutover::fleet {
namespace {

v1::Event Event(std::uint64_t sequence, const std::string& cutover, const std::string& kind,
                const std::string& rollout, const std::string& release = "") {
  v1::Event e;
  e.set_sequence(sequence);
  e.set_cutover(cutover);
  e.set_kind(kind);
  e.set_rollout_id(rollout);
  e.set_release(release);
  e.set_to_slot(v1::SLOT_GREEN);
  return e;
}

TEST(JournalMirrorTest, KeepsEachSequenceOnceInOrderWhateverTheOrderRead) {
  JournalMirror mirror;
  mirror.Add(Event(3, "app", "step_advanced", "r1"));
  mirror.Add(Event(1, "app", "rollout_started", "r1"));
  mirror.Add(Event(2, "api", "weight_set", ""));
  mirror.Add(Event(3, "app", "step_advanced", "r1"));  // read again (a tail and a restore)
  mirror.Add(Event(0, "app", "reverted", "r1"));       // not numbered: not the fleet's yet
  const auto all = mirror.ReadAll();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sequence(), 1u);
  EXPECT_EQ(all[2].sequence(), 3u);
  ASSERT_EQ(mirror.History("app", 10).size(), 2u);
  EXPECT_EQ(mirror.History("app", 10)[0].sequence(), 3u);
  ASSERT_EQ(mirror.Since("", 2, 10).size(), 2u);
  EXPECT_TRUE(mirror.Knows("api"));
  EXPECT_FALSE(mirror.Knows("nope"));
  const auto rollouts = mirror.LastRollouts();
  ASSERT_EQ(rollouts.size(), 1u);
  ASSERT_EQ(rollouts[0].events.size(), 2u);
  EXPECT_NE(rollouts[0].where[1].find("sequence 3"), std::string::npos) << rollouts[0].where[1];
}

// Bounded: what a rebuild needs stays however long the fleet runs.
TEST(JournalMirrorTest, KeepsTheLastRolloutsAndReleasesPastItsBound) {
  JournalMirror mirror;
  std::uint64_t s = 0;
  mirror.Add(Event(++s, "api", "rollout_started", "old", "1.0"));
  mirror.Add(Event(++s, "app", "rollout_started", "r9", "2.0"));
  mirror.Add(Event(++s, "app", "step_advanced", "r9"));
  for (std::size_t i = 0; i < 3 * JournalMirror::kKept; ++i)
    mirror.Add(Event(++s, "app", "warning", "other"));
  EXPECT_LE(mirror.ReadAll().size(), 2 * JournalMirror::kKept);
  const auto rollouts = mirror.LastRollouts();
  ASSERT_EQ(rollouts.size(), 2u);
  EXPECT_EQ(rollouts[0].events.front().rollout_id(), "old");
  ASSERT_EQ(rollouts[1].events.size(), 2u);
  EXPECT_EQ(rollouts[1].events[1].kind(), "step_advanced");
  const auto starts = mirror.LastRolloutStarts();
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1].release(), "2.0");
  EXPECT_EQ(mirror.History("", 1).front().sequence(), s);
}

}  // namespace
}  // namespace cutover::fleet

#include "agent/journal/journal_writer.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "support/gated_journal.hpp"
#include "support/process.hpp"

namespace cutover::agent {
namespace {

using namespace std::chrono_literals;

v1::Event Event(const std::string& kind) {
  v1::Event e;
  e.set_cutover("app");
  e.set_kind(kind);
  return e;
}

// Issue 15 #3: a decision must never wait for the journal. Submit numbers
// and queues; the write happens on the writer's thread.
TEST(JournalWriter, SubmitNeverWaitsForAWriteAndWaitWrittenDoes) {
  test::GatedJournal journal;
  JournalWriter writer(journal);
  journal.Close();
  v1::Event first = Event("weight_set");
  EXPECT_EQ(writer.Submit(first), 1u);
  ASSERT_TRUE(test::WaitFor([&] { return journal.waiting() == 1; }));  // blocked in a write
  for (int i = 0; i < 100; ++i) {  // and decisions go on being numbered and queued
    v1::Event e = Event("breach");
    writer.Submit(e);
  }
  v1::Event last = Event("reverted");
  EXPECT_EQ(writer.Submit(last), 102u);
  std::string result = "not yet";
  std::thread waiter([&] { result = writer.WaitWritten(102); });
  journal.Open();
  waiter.join();
  EXPECT_EQ(result, "");
  const auto written = journal.ReadAll();
  ASSERT_EQ(written.size(), 102u);
  for (std::size_t i = 0; i < written.size(); ++i) EXPECT_EQ(written[i].sequence(), i + 1);
  EXPECT_TRUE(writer.Stop(10s));
}

// Issue 15 #4: a failed write is told (the health and the metrics hang on
// it), its numbers are not given again, and the writer recovers by itself.
TEST(JournalWriter, AFailedWriteIsToldAndItsNumbersAreNotGivenAgain) {
  test::GatedJournal journal;
  JournalWriter writer(journal);
  std::mutex mutex;
  std::vector<JournalWriter::Outcome> outcomes;
  writer.Observe([&](const JournalWriter::Outcome& o) {
    std::lock_guard lock(mutex);
    outcomes.push_back(o);
  });
  journal.FailWrites(true);
  v1::Event lost = Event("weight_set");
  const std::uint64_t n = writer.Submit(lost);
  EXPECT_NE(writer.WaitWritten(n).find("No space left on device"), std::string::npos);
  EXPECT_TRUE(writer.failing());
  journal.FailWrites(false);
  v1::Event kept = Event("paused");
  EXPECT_EQ(writer.Submit(kept), n + 1);
  EXPECT_EQ(writer.WaitWritten(n + 1), "");
  EXPECT_FALSE(writer.failing());
  ASSERT_EQ(journal.ReadAll().size(), 1u);
  EXPECT_EQ(journal.ReadAll()[0].sequence(), n + 1);
  std::lock_guard lock(mutex);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].written);
  EXPECT_EQ(outcomes[0].first, n);
  EXPECT_TRUE(outcomes[1].written);
}

TEST(JournalWriter, StopWritesWhatIsQueuedAndGivesUpOnAJournalThatHangs) {
  test::GatedJournal journal;
  {
    JournalWriter writer(journal);
    for (int i = 0; i < 10; ++i) {
      v1::Event e = Event("weight_set");
      writer.Submit(e);
    }
    EXPECT_TRUE(writer.Stop(10s));
  }
  EXPECT_EQ(journal.ReadAll().size(), 10u);
  auto hanging = std::make_unique<JournalWriter>(journal);
  journal.Close();
  v1::Event e = Event("weight_set");
  hanging->Submit(e);
  ASSERT_TRUE(test::WaitFor([&] { return journal.waiting() == 1; }));
  EXPECT_FALSE(hanging->Stop(50ms));  // the caller may now exit without it
  journal.Open();
  hanging.reset();
}

TEST(JournalWriter, InlineWritesBeforeSubmitReturns) {
  test::GatedJournal journal;
  JournalWriter writer(journal, JournalWriter::Mode::kInline);
  v1::Event e = Event("weight_set");
  writer.Submit(e);
  EXPECT_EQ(journal.ReadAll().size(), 1u);
  EXPECT_EQ(writer.WaitWritten(1), "");
}

}  // namespace
}  // namespace cutover::agent

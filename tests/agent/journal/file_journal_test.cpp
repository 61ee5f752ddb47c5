#include "agent/journal/file_journal.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"

namespace cutover::agent {
namespace {

v1::Event MakeEvent(const std::string& cutover, const std::string& kind) {
  v1::Event e;
  e.set_cutover(cutover);
  e.set_kind(kind);
  e.mutable_time()->set_seconds(1700000000);
  e.set_weight_before(1.5);
  e.set_weight_after(0);
  e.mutable_measurement()->set_requests(412);
  e.mutable_measurement()->set_error_rate(0.125);
  return e;
}

TEST(FileJournal, AppendsNumbersAndReadsBack) {
  test::TempDir dir("journal");
  {
    FileJournal journal(dir.path());
    v1::Event a = MakeEvent("app", "weight_set");
    v1::Event b = MakeEvent("api", "reverted");
    journal.Append(a);
    journal.Append(b);
    EXPECT_EQ(a.sequence(), 1u);
    EXPECT_EQ(b.sequence(), 2u);
  }
  // One JSON object per line, with proto field names.
  const std::string text = test::ReadFile(dir / "journal.jsonl");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_NE(text.find("\"error_rate\":0.125"), std::string::npos) << text;

  FileJournal reopened(dir.path());
  auto all = reopened.ReadAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].kind(), "reverted");
  EXPECT_EQ(all[1].measurement().requests(), 412u);
  v1::Event c = MakeEvent("app", "paused");
  reopened.Append(c);
  EXPECT_EQ(c.sequence(), 3u);  // numbering continues after a restart

  auto history = reopened.History("app", 10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].kind(), "paused");  // newest first
  EXPECT_EQ(history[1].kind(), "weight_set");
  EXPECT_EQ(reopened.History("", 1).size(), 1u);
}

TEST(FileJournal, CutsATornLastLine) {
  test::TempDir dir("journal");
  {
    FileJournal journal(dir.path());
    v1::Event a = MakeEvent("app", "weight_set");
    journal.Append(a);
  }
  // The agent died mid-write.
  test::WriteFile(dir / "journal.jsonl",
                  test::ReadFile(dir / "journal.jsonl") + "{\"sequence\":\"2\",\"cut");
  FileJournal journal(dir.path());
  EXPECT_EQ(journal.ReadAll().size(), 1u);
  v1::Event b = MakeEvent("app", "paused");
  journal.Append(b);
  EXPECT_EQ(b.sequence(), 2u);
  auto all = journal.ReadAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].kind(), "paused");
}

TEST(FileJournal, UnwritableDirectoryIsAClearError) {
  try {
    FileJournal journal("/proc/cutover-journal");
    FAIL() << "expected an error";
  } catch (const JournalError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/cutover-journal"), std::string::npos);
  }
}

}  // namespace
}  // namespace cutover::agent

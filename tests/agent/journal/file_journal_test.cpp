#include "agent/journal/file_journal.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include "agent/core/event_kinds.hpp"
#include "support/process.hpp"
#include "support/stderr_capture.hpp"

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

// A file size limit (ulimit -f) on this process for as long as it lives:
// the full disk of a test.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a dead test
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

// Issue 15 #4: a failed write (full disk) left a torn fragment mid-file, the
// next entry was glued to it and lost, and its sequence number was reused.
TEST(FileJournal, AFailedWriteIsCutBackAndItsNumberIsNeverGivenAgain) {
  test::TempDir dir("journal");
  FileJournal journal(dir.path());
  v1::Event first = MakeEvent("app", "weight_set");
  journal.Append(first);
  const std::string before = test::ReadFile(dir / "journal.jsonl");
  v1::Event big = MakeEvent("app", "weight_set");
  big.set_reason(std::string(1000, 'r'));
  {
    FileSizeLimit full(before.size() + 100);  // room for a fragment, not the line
    EXPECT_THROW(journal.Append(big), JournalError);
    EXPECT_EQ(test::ReadFile(dir / "journal.jsonl"), before);  // nothing of it stays
  }
  EXPECT_EQ(big.sequence(), 2u);
  v1::Event next = MakeEvent("app", "paused");
  journal.Append(next);
  EXPECT_EQ(next.sequence(), 3u);  // 2 went to the lost event
  FileJournal reopened(dir.path());
  const auto all = reopened.ReadAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].sequence(), 1u);
  EXPECT_EQ(all[1].sequence(), 3u);
  EXPECT_EQ(all[1].kind(), "paused");
}

TEST(FileJournal, ReadsPagesByCutoverAndSequence) {
  test::TempDir dir("journal");
  FileJournal journal(dir.path());
  for (int i = 0; i < 30; ++i) {
    v1::Event e = MakeEvent(i % 3 == 0 ? "app" : "api", "weight_set");
    journal.Append(e);
  }
  const auto page = journal.Since("app", 5, 4);  // app holds 1, 4, 7, 10, ...
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page[0].sequence(), 7u);
  EXPECT_EQ(page[3].sequence(), 16u);
  EXPECT_EQ(journal.Since("", 29, 10).size(), 2u);
  EXPECT_TRUE(journal.Since("app", 31, 10).empty());
  EXPECT_EQ(journal.History("api", 2)[0].sequence(), 30u);
  EXPECT_TRUE(journal.Knows("api"));
  EXPECT_FALSE(journal.Knows("nope"));
  EXPECT_TRUE(journal.History("nope", 5).empty());
}

// Issue 15 #6: torn or unparsable lines and numbers that do not follow
// (repeated, or wrapped) are logged with their line, not silently dropped.
TEST(FileJournal, LinesItCannotUseAreLoggedWithTheirLineAndLeftOut) {
  test::TempDir dir("journal");
  {
    FileJournal journal(dir.path());
    v1::Event a = MakeEvent("app", "weight_set");
    journal.Append(a);
  }
  const std::string good = test::ReadFile(dir / "journal.jsonl");
  test::WriteFile(dir / "journal.jsonl",
                  good + "not json at all\n" + good +  // sequence 1 again
                      "{\"sequence\":\"9223372036854775807\",\"kind\":\"paused\"}\n" +
                      "{\"sequence\":\"2\",\"kind\":\"paused\"}\n{\"seq");
  std::unique_ptr<FileJournal> journal;
  const std::string log =
      test::CapturedStderr([&] { journal = std::make_unique<FileJournal>(dir.path()); });
  const std::string path = dir / "journal.jsonl";
  EXPECT_NE(log.find(path + ":2: not a journal event"), std::string::npos) << log;
  EXPECT_NE(log.find(path + ":3: sequence 1 does not follow 1"), std::string::npos) << log;
  EXPECT_NE(log.find(path + ":4: sequence 9223372036854775807 is out of range"), std::string::npos)
      << log;
  EXPECT_NE(log.find(path + ":6: cutting off a torn last line"), std::string::npos) << log;
  const auto all = journal->ReadAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].sequence(), 2u);
  v1::Event next = MakeEvent("app", "resumed");
  journal->Append(next);
  EXPECT_EQ(next.sequence(), 3u);
}

v1::Event RolloutEvent(const std::string& kind, const std::string& rollout) {
  v1::Event e = MakeEvent("app", kind);
  e.set_rollout_id(rollout);
  if (kind == event_kind::kRolloutStarted) e.mutable_plan()->add_steps()->set_percent(50);
  return e;
}

// Issue 15 #3: the journal is bounded; what a restart needs stays.
TEST(FileJournal, RotatesKeepingEachCutoversLastRollout) {
  test::TempDir dir("journal");
  FileJournal::Options options;
  options.rotate_bytes = 8 << 10;
  {
    FileJournal journal(dir.path(), options);
    for (const char* kind : {"rollout_started", "step_advanced", "paused"}) {
      v1::Event old = RolloutEvent(kind, "r1");
      journal.Append(old);
    }
    for (const char* kind : {"rollout_started", "step_advanced"}) {
      v1::Event e = RolloutEvent(kind, "r2");  // app's last rollout
      journal.Append(e);
    }
    const std::string log = test::CapturedStderr([&] {
      for (int i = 0; i < 200; ++i) {
        v1::Event e = MakeEvent("api", "weight_set");
        journal.Append(e);
      }
    });
    EXPECT_NE(log.find("rotated at"), std::string::npos) << log;
    EXPECT_TRUE(test::FileExists(journal.rotated_path()));
    EXPECT_LT(test::ReadFile(journal.path()).size(), 2 * options.rotate_bytes);
  }
  FileJournal reopened(dir.path(), options);
  const auto rollouts = reopened.LastRollouts();
  ASSERT_EQ(rollouts.size(), 1u);
  ASSERT_EQ(rollouts[0].events.size(), 2u);
  EXPECT_EQ(rollouts[0].events[0].rollout_id(), "r2");
  EXPECT_EQ(rollouts[0].events[0].sequence(), 4u);
  EXPECT_EQ(rollouts[0].events[1].kind(), "step_advanced");
  EXPECT_EQ(rollouts[0].where[0], dir / "journal.jsonl:1");
  v1::Event next = MakeEvent("app", "resumed");
  reopened.Append(next);
  EXPECT_EQ(next.sequence(), 206u);  // numbering goes on across a rotation
  // The events before the rotation are in journal.jsonl.1, not in reads.
  EXPECT_LT(reopened.History("api", 1000).size(), 200u);
  EXPECT_NE(test::ReadFile(reopened.rotated_path()).find("\"cutover\":\"api\""), std::string::npos);
}

}  // namespace
}  // namespace cutover::agent

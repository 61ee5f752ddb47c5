// The real cutover-agent when its journal cannot be trusted or written: a
// tampered journal at start, a disk that fills under it (a file size limit:
// the agent runs under prlimit, and the limit is lifted while it runs).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "support/agent.hpp"
#include "support/http.hpp"

namespace cutover::test {
namespace {

using namespace std::chrono_literals;

std::string WeightSetLine(std::uint64_t sequence, const std::string& reason) {
  return R"({"sequence":")" + std::to_string(sequence) +
         R"(","time":"2026-01-01T00:00:00Z","cutover":"app","kind":"weight_set","reason":")" +
         reason + R"(","step":-1,"weight_after":5,"actor":"unix"})" + "\n";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The first number after `name` (a metric line "name value").
double Metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

class JournalFailureTest : public ::testing::Test {
 protected:
  TempDir dir_{"cutover-journal-failure"};
  std::string state_ = MakeAppStateFile(dir_);
};

// Issue 15 #4: a failed journal write left a torn fragment the next entry
// was glued to (and lost), reused the sequence number, and nothing but a log
// line said so. Now: nothing of the failed write stays, no number is given
// twice (a watcher sees each once), health says NOT_SERVING and the metrics
// count it while the journal cannot be written, and both recover with it.
TEST_F(JournalFailureTest, AFullDiskShowsInHealthAndMetricsAndNoNumberIsGivenTwice) {
  constexpr std::size_t kLimit = 128 << 10;
  // A journal nearly at the limit, so that it, not the agent's log, fills.
  std::string journal;
  const std::string padding(400, 'p');
  for (std::uint64_t n = 1; journal.size() < kLimit - 3000; ++n)
    journal += WeightSetLine(n, padding);
  std::filesystem::create_directories(dir_ / "journal");
  WriteFile(dir_ / "journal/journal.jsonl", journal);

  AgentOptions o = LocalAgent(dir_, state_);
  const int metrics_port = FreePort();
  o.metrics = "127.0.0.1:" + std::to_string(metrics_port);
  // The soft limit only: lifting it later needs no privilege.
  o.command_prefix = {"prlimit", "--fsize=" + std::to_string(kLimit) + ":unlimited", "--"};
  AgentProcess agent(o, dir_ / "agent");
  agent.Start();
  auto stub = agent.UnixStub();
  ASSERT_EQ(Health(agent.UnixChannel(), "").serving, 1);

  // A watcher, counting every sequence it is shown.
  std::mutex mutex;
  std::vector<std::uint64_t> watched;
  grpc::ClientContext watch_context;
  v1::WatchEventsRequest watch;
  watch.set_cutover("app");
  auto reader = stub->WatchEvents(&watch_context, watch);
  std::thread watcher([&] {
    for (v1::Event e; reader->Read(&e);) {
      std::lock_guard lock(mutex);
      watched.push_back(e.sequence());
    }
  });
  struct Join {
    grpc::ClientContext& context;
    std::thread& thread;
    ~Join() {
      context.TryCancel();
      if (thread.joinable()) thread.join();
    }
  } join{watch_context, watcher};
  const auto set_weight = [&](double percent) {
    v1::SetWeightRequest req;
    req.set_cutover("app");
    req.set_percent(percent);
    req.set_reason(padding);
    v1::SetWeightResponse resp;
    return stub->SetWeight(Context().get(), req, &resp);
  };

  int calls = 0;
  const bool failing = WaitFor([&] {
    EXPECT_TRUE(set_weight(++calls % 2 ? 5 : 10).ok());  // the weight is stored regardless
    return Health(agent.UnixChannel(), "").serving == 2;
  });
  ASSERT_TRUE(failing) << agent.Stderr();
  EXPECT_EQ(Health(agent.UnixChannel(), "cutover.v1.CutoverService").serving, 2);
  HttpClient http;
  const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  std::string metrics = http.Get(url).body;
  EXPECT_GE(Metric(metrics, "cutover_journal_write_failures_total"), 1) << metrics;
  EXPECT_EQ(Metric(metrics, "cutover_journal_writable"), 0) << metrics;
  EXPECT_NE(agent.Stderr().find("not journaled (the decisions stand)"), std::string::npos);
  // Nothing of a failed write stays: every line is a whole event.
  for (const std::string& line : Lines(ReadFile(dir_ / "journal/journal.jsonl")))
    EXPECT_TRUE(line.front() == '{' && line.back() == '}') << line.substr(0, 80);

  // The disk has room again.
  const auto lifted =
      test::Run({"prlimit", "--pid", std::to_string(agent.pid()), "--fsize=unlimited"});
  ASSERT_EQ(lifted.exit_code, 0) << lifted.err;
  ASSERT_TRUE(set_weight(20).ok());
  ASSERT_TRUE(WaitFor([&] { return Health(agent.UnixChannel(), "").serving == 1; }));
  metrics = http.Get(url).body;
  EXPECT_EQ(Metric(metrics, "cutover_journal_writable"), 1) << metrics;

  const auto lines = Lines(ReadFile(dir_ / "journal/journal.jsonl"));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mutex);
    return !watched.empty() &&
           lines.back().find("\"sequence\":\"" + std::to_string(watched.back()) + "\"") !=
               std::string::npos;
  })) << lines.back();
  watch_context.TryCancel();
  watcher.join();
  std::lock_guard lock(mutex);
  // Every number the watcher saw, once; the journal holds the last one.
  std::set<std::uint64_t> distinct(watched.begin(), watched.end());
  EXPECT_EQ(distinct.size(), watched.size());
  EXPECT_TRUE(std::is_sorted(watched.begin(), watched.end()));
  EXPECT_EQ(watched.size(), static_cast<std::size_t>(calls) + 1);
}

// Issue 15 #6: a tampered line (step 99 of a two-step plan) crashed the agent
// at the next GetStatus. The agent refuses to start, naming the line.
TEST_F(JournalFailureTest, ATamperedJournalIsRefusedAtStartNamingTheLine) {
  std::filesystem::create_directories(dir_ / "journal");
  WriteFile(
      dir_ / "journal/journal.jsonl",
      std::string(
          R"({"sequence":"1","time":"2026-01-01T00:00:00Z","cutover":"app","kind":"rollout_started",)"
          R"("rollout_id":"r1","step":-1,"plan":{"steps":[{"percent":10,"hold":"60s"},)"
          R"({"percent":100,"hold":"60s"}],"analysis":{"window":"10s"}},"from_slot":"SLOT_BLUE",)"
          R"("to_slot":"SLOT_GREEN"})") +
          "\nnot an event\n" +
          R"({"sequence":"3","time":"2026-01-01T00:00:01Z","cutover":"app","kind":"step_advanced",)"
          R"("rollout_id":"r1","step":99,"weight_after":10})" +
          "\n");
  const AgentOptions o = LocalAgent(dir_, state_);
  const auto r = test::Run({AgentBinary(), "--state-file", o.state_file, "--journal", o.journal,
                            "--listen", "unix:" + o.socket});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string journal = dir_ / "journal/journal.jsonl";
  EXPECT_NE(r.err.find(journal + ":2: not a journal event"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(journal +
                       ":3: step_advanced.step: 99 is not a step of rollout r1's plan (2 steps)"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace cutover::test

// What does a journal read cost once the journal is long? Issue 15 #3: with
// 200,000 events GetHistory(limit=1) took 4.9 s, because every read parsed
// the whole file. Side by side in one run, on one file of EVENTS events
// (written the way the agent writes them, a rollout's worth per cutover in
// turn over CUTOVERS cutovers):
//   whole-file parse  what the journal did before: read every line, parse
//                     each, keep the newest `limit` of the cutover
//   index             FileJournal::History: the index (built once, when the
//                     journal is opened) finds the lines, only those are read
// for History(cutover, 1) and History(cutover, 100), READS times each; and
// the one-off cost of opening (the index) against one whole-file parse.
// Prints medians and the ratio whole-file / index.
//
// Usage: cutover-journal-read-bench [EVENTS] [READS] [CUTOVERS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "agent/journal/file_journal.hpp"
#include "support/process.hpp"

using namespace cutover;
using Clock = std::chrono::steady_clock;

namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Time(int times, const std::function<void()>& one) {
  std::vector<double> ms;
  for (int i = 0; i < times; ++i) {
    const auto start = Clock::now();
    one();
    ms.push_back(Ms(Clock::now() - start));
  }
  return Median(ms);
}

// The behaviour before the index: the whole file parsed on every read.
std::vector<v1::Event> WholeFileHistory(const std::string& path, const std::string& cutover,
                                        std::size_t limit) {
  std::ifstream in(path);
  std::deque<v1::Event> newest;
  std::string line;
  while (std::getline(in, line)) {
    v1::Event e;
    if (!agent::EventFromJson(line, &e) || e.cutover() != cutover) continue;
    newest.push_back(std::move(e));
    if (newest.size() > limit) newest.pop_front();
  }
  return {newest.rbegin(), newest.rend()};
}

}  // namespace

int main(int argc, char** argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int reads = argc > 2 ? std::atoi(argv[2]) : 5;
  const int cutovers = argc > 3 ? std::atoi(argv[3]) : 8;
  test::TempDir dir("journal-bench");
  {
    agent::FileJournal journal(dir.path());
    std::vector<v1::Event> batch;
    for (int i = 0; i < events; ++i) {
      v1::Event e;
      e.set_cutover("cutover-" + std::to_string((i / 50) % cutovers));
      e.set_kind(i % 50 == 0 ? "rollout_started" : "step_advanced");
      e.set_rollout_id("r" + std::to_string(i / 50));
      e.set_actor("agent");
      e.set_reason("step 2/4: 25.00% to green, hold 15m: 1200 requests, 0.1% errors, P99 40ms");
      e.set_weight_before(5);
      e.set_weight_after(25);
      e.mutable_time()->set_seconds(1'700'000'000 + i);
      journal.Number(e);
      batch.push_back(std::move(e));
      if (batch.size() == 1000) {
        journal.Write(batch);
        batch.clear();
      }
    }
    journal.Write(batch);
  }
  const std::string path = dir / "journal.jsonl";
  const std::string cutover = "cutover-0";
  std::printf("journal: %d events, %d cutovers, %s\n", events, cutovers, path.c_str());

  std::unique_ptr<agent::FileJournal> journal;
  const double open_ms =
      Time(1, [&] { journal = std::make_unique<agent::FileJournal>(dir.path()); });
  for (std::size_t limit : {std::size_t{1}, std::size_t{100}}) {
    std::size_t got_index = 0, got_whole = 0;
    const double index = Time(reads, [&] { got_index = journal->History(cutover, limit).size(); });
    const double whole =
        Time(reads, [&] { got_whole = WholeFileHistory(path, cutover, limit).size(); });
    if (got_index != got_whole) {
      std::fprintf(stderr, "the two disagree: %zu and %zu events\n", got_index, got_whole);
      return 1;
    }
    std::printf("History(limit=%-3zu)  whole-file parse %9.2f ms   index %8.3f ms   ratio %8.0fx\n",
                limit, whole, index, whole / index);
  }
  std::printf("open (index built once) %9.2f ms\n", open_ms);
  return 0;
}

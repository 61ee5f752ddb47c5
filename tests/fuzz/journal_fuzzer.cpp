// Journal files as a restarting agent reads them: any bytes as
// DIR/journal.jsonl, opened by FileJournal (lines checked, torn tails cut,
// the index built), each cutover's last rollout rebuilt by
// RolloutEngine::Restore (or refused with a RestoreError) and then used the
// way the controller uses it, reads paged as WatchEvents and GetHistory
// page them. Never a crash, never undefined behaviour, whatever the lines.
//
// FileJournal logs every line it leaves out; that goes to /dev/null unless
// CUTOVER_FUZZ_VERBOSE is set (set it to replay a crash with its log).
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "agent/engine/rollout_engine.hpp"
#include "agent/journal/file_journal.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace cutover;
using namespace cutover::agent;
using cutover::fuzz::Check;

namespace {

// stderr to /dev/null while alive (unless CUTOVER_FUZZ_VERBOSE).
class Quiet {
 public:
  Quiet() {
    if (std::getenv("CUTOVER_FUZZ_VERBOSE") != nullptr) return;
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
  ~Quiet() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_ = -1;
};

void UseRestored(RolloutEngine& engine) {
  const WallTime now = WallTime(std::chrono::seconds(1'800'000'000));
  engine.CheckWeightAfterRestore(now, state::Control{2500, 7});
  engine.ToProto(now);
  Observation obs;
  obs.now = now;
  obs.new_slot.requests = 100;
  obs.new_slot.responses_5xx = 50;
  engine.Tick(obs);
  engine.TakeGateRequest();
  engine.ToProto(now + std::chrono::hours(1));
  for (auto action : {&RolloutEngine::Pause, &RolloutEngine::Resume, &RolloutEngine::Abort}) {
    try {
      (engine.*action)(now, "fuzz", "fuzz");
    } catch (const PreconditionFailed&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = "/dev/shm/cutover-fuzz-journal." + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    const int fd =
        ::open((dir + "/journal.jsonl").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    Check(fd >= 0 && ::write(fd, data, size) == static_cast<ssize_t>(size), "journal written");
    ::close(fd);
  }
  Quiet quiet;
  FileJournal journal(dir);
  std::uint64_t previous = 0;
  for (const v1::Event& e : journal.ReadAll()) {
    Check(e.sequence() > previous, "an opened journal's sequences rise");
    previous = e.sequence();
  }
  Check(journal.last_sequence() == previous, "numbering goes on after the last line");
  journal.History("", 3);
  journal.Since("app", 2, 4);
  for (const JournaledRollout& rollout : journal.LastRollouts()) {
    Check(rollout.events.size() == rollout.where.size(), "every event has its place");
    try {
      if (auto engine = RolloutEngine::Restore(rollout.events, RolloutEngine::Options{}))
        UseRestored(*engine);
    } catch (const RestoreError& e) {
      Check(e.event() < rollout.events.size(), "a restore error names one of the events");
    }
  }
  return 0;
}

// A journal for tests of what waits on it: its writes block while the gate
// is closed and fail while it is told to fail; it keeps what it was given
// in memory. The decisions under test must go on while it blocks.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "agent/journal/journal.hpp"

namespace cutover::test {

class GatedJournal final : public agent::Journal {
 public:
  void Close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  void FailWrites(bool fail) {
    std::lock_guard lock(mutex_);
    fail_ = fail;
  }
  // How many writes are blocked at the gate now.
  int waiting() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

  void Write(const std::vector<v1::Event>& events) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.wait(lock, [&] { return open_; });
    --waiting_;
    if (fail_) throw agent::JournalError("journal gated: write failed: No space left on device");
    written_.insert(written_.end(), events.begin(), events.end());
  }
  std::vector<v1::Event> History(const std::string&, std::size_t) override { return {}; }
  std::vector<v1::Event> Since(const std::string&, std::uint64_t, std::size_t) override {
    return {};
  }
  bool Knows(const std::string&) override { return false; }
  std::vector<agent::JournaledRollout> LastRollouts() override { return {}; }
  std::vector<v1::Event> LastRolloutStarts() override { return {}; }
  std::vector<v1::Event> ReadAll() override {
    std::lock_guard lock(mutex_);
    return written_;
  }
  std::string Describe() const override { return "gated"; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  bool fail_ = false;
  int waiting_ = 0;
  std::vector<v1::Event> written_;
};

}  // namespace cutover::test

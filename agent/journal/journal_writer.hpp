// Writes the journal off the decision path. Submit numbers an event and
// queues it, without I/O, so a decision (a revert above all) never waits
// for a disk, a database or an fsync; one thread writes what is queued in
// order, a batch per flush. A caller that promised durability (an API call
// returning) waits for its event with WaitWritten, outside any lock the
// decisions need.
//
// A failed write loses its events (their numbers are not given again) and
// is told to every observer; the writer goes on with the next batch, so the
// journal recovers by itself when the disk or the database does.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/journal/journal.hpp"

namespace cutover::agent {

class JournalWriter {
 public:
  enum class Mode {
    kThread,  // a thread of its own writes (the agent)
    kInline,  // Submit writes before it returns (tests, tools)
  };
  // One batch's fate: events first..last were written, or not (error says why).
  struct Outcome {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    bool written = false;
    std::string error;
  };
  using Observer = std::function<void(const Outcome&)>;

  // At most `max_queued` events wait; past that an event is not journaled
  // (and that is an outcome like a failed write), so memory stays bounded
  // when the journal cannot keep up.
  static constexpr std::size_t kMaxQueued = 100000;
  static constexpr std::size_t kMaxBatch = 1000;

  explicit JournalWriter(Journal& journal, Mode mode = Mode::kThread,
                         std::size_t max_queued = kMaxQueued);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Told of every batch, on the writing thread; add them before the first Submit.
  void Observe(Observer observer);

  // Numbers `event` (its sequence is set) and queues a copy; returns the number.
  std::uint64_t Submit(v1::Event& event);
  // Waits until the event numbered `sequence` is written or failed: "" when
  // it is in the journal, else why not.
  std::string WaitWritten(std::uint64_t sequence);
  // Writes what is queued, then stops. False when that did not finish in
  // `timeout` (a disk that hangs): the caller must not destroy the journal.
  bool Stop(std::chrono::milliseconds timeout);

  // The last batch failed (and none has been written since).
  bool failing() const;

 private:
  void Run();
  void Write(std::vector<v1::Event> batch);
  void Decide(const Outcome& outcome);  // with mutex_ held
  bool Failed(std::uint64_t sequence, std::string* error) const;

  Journal& journal_;
  Mode mode_;
  std::size_t max_queued_;
  std::vector<Observer> observers_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the writer: work or stop
  std::condition_variable decided_;  // waiters: a batch's fate is known
  std::deque<v1::Event> queue_;
  std::uint64_t decided_through_ = 0;  // every event up to this one is written or failed
  std::deque<Outcome> failures_;       // the latest failed batches, for WaitWritten
  bool failing_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace cutover::agent

// The journal: every decision with the numbers behind it, append-only. The
// agent rebuilds its rollouts from it on restart, and GetHistory /
// WatchEvents read it.
//
// Numbering is apart from writing: an event gets its sequence number at
// once (no I/O: the decision path numbers it), and a writer makes numbered
// events durable in order (JournalWriter, off the decision path). A number
// is never given twice, not even when the write of its event failed, so a
// watcher never sees two events under one number. Reads never wait for a
// write and never read the whole journal.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/core/event_kinds.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A cutover's last rollout as journaled: its rollout_started and the
// events of that rollout after it, oldest first, each with where it is
// ("DIR/journal.jsonl:57") for a message about it.
struct JournaledRollout {
  std::vector<v1::Event> events;
  std::vector<std::string> where;
};

class Journal {
 public:
  // The largest sequence a journal holds: numbers above it are a damaged
  // (or tampered) line, and numbering stops well before wrapping.
  static constexpr std::uint64_t kMaxSequence = std::uint64_t{1} << 62;

  virtual ~Journal() = default;

  // Gives `event` the next sequence number and returns it. No I/O. A
  // journal several agents share (a fleet's) numbers in the transaction
  // that commits an event, before it is published: its Number returns the
  // number the event already carries.
  virtual std::uint64_t Number(v1::Event& event);
  // The last number given (0 before the first).
  std::uint64_t last_sequence() const { return last_sequence_.load(); }

  // Writes numbered events in order, durably (one flush for the batch), all
  // or none: a failed batch leaves nothing of itself behind, and the next
  // write starts on a clean line. Throws JournalError. One writer at a time.
  virtual void Write(const std::vector<v1::Event>& events) = 0;
  // Number and Write one event (a single writer: tools, tests).
  void Append(v1::Event& event);

  // Newest first: at most `limit` events of `cutover` (every cutover when empty).
  virtual std::vector<v1::Event> History(const std::string& cutover, std::size_t limit) = 0;
  // Oldest first: at most `max` events of `cutover` (every cutover when
  // empty) from sequence `since` on.
  virtual std::vector<v1::Event> Since(const std::string& cutover, std::uint64_t since,
                                       std::size_t max) = 0;
  // Whether the journal holds events of `cutover`.
  virtual bool Knows(const std::string& cutover) = 0;
  // Each cutover's last rollout: what a restarting agent replays.
  virtual std::vector<JournaledRollout> LastRollouts() = 0;
  // Each cutover's last rollout_started naming a release, per slot, oldest
  // first: the releases the slots run.
  virtual std::vector<v1::Event> LastRolloutStarts() = 0;
  // Every event the journal holds, oldest first (tools and tests: it reads
  // the whole journal).
  virtual std::vector<v1::Event> ReadAll() = 0;
  // Where it writes, for logs (never with a password).
  virtual std::string Describe() const = 0;

 protected:
  // Numbering goes on after `last` (what an opened journal holds).
  void NumberAfter(std::uint64_t last) { last_sequence_.store(last); }

 private:
  std::atomic<std::uint64_t> last_sequence_{0};
};

// One event as one JSON line (protobuf's JSON mapping, proto field names).
std::string EventToJson(const v1::Event& event);
bool EventFromJson(const std::string& json, v1::Event* event);

// Groups events, oldest first, into each cutover's last rollout: a
// rollout_started begins a cutover's rollout anew, a later event of the same
// cutover and rollout id joins it. `Item` is what is kept per event.
template <typename Item>
class LastRolloutGrouping {
 public:
  void Add(const std::string& cutover, const std::string& kind, const std::string& rollout_id,
           Item item);
  struct Group {
    std::string cutover;
    std::string rollout_id;
    std::vector<Item> items;
  };
  const std::vector<Group>& groups() const { return groups_; }

 private:
  std::vector<Group> groups_;  // one per cutover, in the order first seen
};

// `--journal DIR` or `--journal postgresql://...`.
std::unique_ptr<Journal> OpenJournal(const std::string& where);

// ------------------------------------------------------------------ inline

template <typename Item>
void LastRolloutGrouping<Item>::Add(const std::string& cutover, const std::string& kind,
                                    const std::string& rollout_id, Item item) {
  Group* group = nullptr;
  for (Group& g : groups_)
    if (g.cutover == cutover) group = &g;
  if (kind == event_kind::kRolloutStarted) {
    if (group == nullptr) group = &groups_.emplace_back(Group{cutover, {}, {}});
    group->rollout_id = rollout_id;
    group->items.clear();
    group->items.push_back(std::move(item));
  } else if (group != nullptr && !rollout_id.empty() && rollout_id == group->rollout_id) {
    group->items.push_back(std::move(item));
  }
}

}  // namespace cutover::agent

#include "agent/fleet/journal_mirror.hpp"

#include <set>
#include <utility>

#include "agent/core/event_kinds.hpp"
#include "agent/journal/pg_journal.hpp"

namespace cutover::fleet {

void JournalMirror::Add(const v1::Event& event) {
  if (event.sequence() == 0) return;  // not the fleet's (yet)
  std::lock_guard lock(mutex_);
  events_.emplace(event.sequence(), event);
  if (events_.size() > 2 * kKept) PruneLocked();
}

void JournalMirror::Write(const std::vector<v1::Event>& events) {
  for (const v1::Event& e : events) Add(e);
}

std::vector<v1::Event> JournalMirror::History(const std::string& cutover, std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<v1::Event> out;
  for (auto it = events_.rbegin(); it != events_.rend() && out.size() < limit; ++it)
    if (cutover.empty() || it->second.cutover() == cutover) out.push_back(it->second);
  return out;
}

std::vector<v1::Event> JournalMirror::Since(const std::string& cutover, std::uint64_t since,
                                            std::size_t max) {
  std::lock_guard lock(mutex_);
  std::vector<v1::Event> out;
  for (auto it = events_.lower_bound(since); it != events_.end() && out.size() < max; ++it)
    if (cutover.empty() || it->second.cutover() == cutover) out.push_back(it->second);
  return out;
}

bool JournalMirror::Knows(const std::string& cutover) {
  std::lock_guard lock(mutex_);
  for (const auto& [sequence, e] : events_)
    if (e.cutover() == cutover) return true;
  return false;
}

std::vector<const v1::Event*> JournalMirror::LastRolloutEventsLocked() const {
  agent::LastRolloutGrouping<const v1::Event*> grouping;
  for (const auto& [sequence, e] : events_) grouping.Add(e.cutover(), e.kind(), e.rollout_id(), &e);
  std::vector<const v1::Event*> out;
  for (const auto& group : grouping.groups())
    out.insert(out.end(), group.items.begin(), group.items.end());
  return out;
}

std::vector<agent::JournaledRollout> JournalMirror::LastRollouts() {
  std::vector<v1::Event> events;
  {
    std::lock_guard lock(mutex_);
    for (const v1::Event* e : LastRolloutEventsLocked()) events.push_back(*e);
  }
  return agent::PgJournal::GroupLastRollouts(events, Describe() + ",");
}

// Each (cutover, slot)'s last rollout_started naming a release, oldest first.
std::vector<const v1::Event*> JournalMirror::LastRolloutStartsLocked() const {
  std::map<std::pair<std::string, int>, const v1::Event*> last;
  for (const auto& [sequence, e] : events_)
    if (e.kind() == agent::event_kind::kRolloutStarted && !e.release().empty())
      last[{e.cutover(), e.to_slot()}] = &e;
  std::map<std::uint64_t, const v1::Event*> ordered;
  for (const auto& [key, e] : last) ordered[e->sequence()] = e;
  std::vector<const v1::Event*> out;
  for (const auto& [sequence, e] : ordered) out.push_back(e);
  return out;
}

std::vector<v1::Event> JournalMirror::LastRolloutStarts() {
  std::lock_guard lock(mutex_);
  std::vector<v1::Event> out;
  for (const v1::Event* e : LastRolloutStartsLocked()) out.push_back(*e);
  return out;
}

std::vector<v1::Event> JournalMirror::ReadAll() {
  std::lock_guard lock(mutex_);
  std::vector<v1::Event> out;
  out.reserve(events_.size());
  for (const auto& [sequence, e] : events_) out.push_back(e);
  return out;
}

void JournalMirror::PruneLocked() {
  std::set<std::uint64_t> keep;
  for (const v1::Event* e : LastRolloutEventsLocked()) keep.insert(e->sequence());
  for (const v1::Event* e : LastRolloutStartsLocked()) keep.insert(e->sequence());
  std::size_t newest = 0;
  for (auto it = events_.rbegin(); it != events_.rend() && newest < kKept; ++it, ++newest)
    keep.insert(it->first);
  for (auto it = events_.begin(); it != events_.end();)
    it = keep.count(it->first) ? std::next(it) : events_.erase(it);
}

}  // namespace cutover::fleet

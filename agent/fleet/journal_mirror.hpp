// The fleet's journal as this node last read it, in memory: what its
// controller rebuilds the rollouts from, and GetHistory and WatchEvents
// read, while the fleet's database is out of reach, so a node cut off right
// after a decision still guards it. It keeps each cutover's last rollout
// (what a rebuild replays), each slot's last named release and the newest
// kKept events; anything older is the database's alone.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent/journal/journal.hpp"

namespace cutover::fleet {

class JournalMirror final : public agent::Journal {
 public:
  static constexpr std::size_t kKept = 4096;

  // Keeps `event` (numbered by the fleet's database), once per sequence, in
  // whatever order they are read.
  void Add(const v1::Event& event);

  void Write(const std::vector<v1::Event>& events) override;
  std::vector<v1::Event> History(const std::string& cutover, std::size_t limit) override;
  std::vector<v1::Event> Since(const std::string& cutover, std::uint64_t since,
                               std::size_t max) override;
  bool Knows(const std::string& cutover) override;
  std::vector<agent::JournaledRollout> LastRollouts() override;
  std::vector<v1::Event> LastRolloutStarts() override;
  std::vector<v1::Event> ReadAll() override;
  std::string Describe() const override { return "the fleet's journal as this node last read it"; }

 private:
  std::vector<const v1::Event*> LastRolloutEventsLocked() const;
  std::vector<const v1::Event*> LastRolloutStartsLocked() const;
  void PruneLocked();

  std::mutex mutex_;
  std::map<std::uint64_t, v1::Event> events_;  // by sequence
};

}  // namespace cutover::fleet

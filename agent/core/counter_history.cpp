#include "agent/core/counter_history.hpp"

#include <set>

namespace cutover::agent {

void CounterHistory::Add(SteadyTime at, const std::vector<state::RecordSnapshot>& records) {
  std::set<std::string> present;
  for (const auto& record : records) {
    present.insert(record.name);
    auto it = histories_.find(record.name);
    if (it == histories_.end())
      it = histories_
               .emplace(record.name,
                        std::array<SlotHistory, state::kSlotCount>{SlotHistory(retention_),
                                                                   SlotHistory(retention_)})
               .first;
    for (std::size_t s = 0; s < state::kSlotCount; ++s) it->second[s].Add(at, record.slots[s]);
  }
  for (auto it = histories_.begin(); it != histories_.end();)
    it = present.count(it->first) ? std::next(it) : histories_.erase(it);
}

void CounterHistory::SetRetention(std::chrono::nanoseconds retention) {
  retention_ = retention;
  for (auto& [name, slots] : histories_)
    for (auto& h : slots) h.SetRetention(retention);
}

WindowStats CounterHistory::Window(const std::string& cutover, state::Slot slot,
                                   const WindowQuery& query) const {
  auto it = histories_.find(cutover);
  if (it == histories_.end()) return WindowStats{};
  return it->second[static_cast<std::size_t>(slot)].Window(query);
}

}  // namespace cutover::agent

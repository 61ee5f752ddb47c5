#include "agent/fleet/local_guard.hpp"

#include <algorithm>

#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/units.hpp"
#include "agent/engine/judge.hpp"

namespace cutover::fleet {

namespace ek = agent::event_kind;
using agent::Nanos;

LocalGuard::LocalGuard(std::string node, LocalWeights& weights, const agent::Clock& clock,
                       Hand hand)
    : node_(std::move(node)),
      weights_(weights),
      clock_(clock),
      hand_(std::move(hand)),
      history_(std::chrono::seconds(10)) {}

void LocalGuard::OnTick(const std::vector<state::RecordSnapshot>& records,
                        const std::map<std::string, v1::Rollout>& rollouts) {
  Observe(std::chrono::steady_clock::now(), clock_.Now(), records, rollouts);
}

bool LocalGuard::Guards(const v1::Rollout& r) const {
  if (r.state() != v1::ROLLOUT_STATE_RUNNING || r.step() < 0 || reverted_.count(r.id()) != 0)
    return false;
  if (r.plan().on_breach() == v1::BREACH_ACTION_PAUSE) return false;
  return std::none_of(r.plan().gates().begin(), r.plan().gates().end(),
                      [](const v1::Gate& g) { return g.has_reversibility(); });
}

void LocalGuard::Observe(agent::SteadyTime at, agent::WallTime now,
                         const std::vector<state::RecordSnapshot>& records,
                         const std::map<std::string, v1::Rollout>& rollouts) {
  history_.Add(at, records);
  const agent::SteadyTime previous = last_at_;
  last_at_ = at;
  Nanos longest = std::chrono::seconds(10);
  std::set<std::string> present;
  // Named, not bound: clang 14 cannot capture a structured binding (a C++20
  // rule it lacks), and the lambdas below use both.
  for (const auto& entry : rollouts) {
    const std::string& cutover = entry.first;
    const v1::Rollout& r = entry.second;
    present.insert(r.id());
    if (!Guards(r)) continue;
    const Nanos window = agent::FromProto(r.plan().analysis().window());
    longest = std::max(longest, window);
    auto record = std::find_if(records.begin(), records.end(),
                               [&](const auto& rec) { return rec.name == cutover; });
    if (record == records.end()) continue;
    const state::Slot from = agent::FromProto(r.from_slot());
    const std::uint32_t back = agent::GreenBpFor(from, state::kWeightScale);
    if (record->control.weight_bp == back) continue;  // nothing here to send back
    Watch& watch = watches_[r.id()];
    if (watch.epoch != record->control.epoch) {
      watch.epoch = record->control.epoch;
      watch.evidence_after = previous;
      watch.failing = 0;
    }
    const agent::WindowQuery query = agent::JudgeQuery(r.plan().analysis(), watch.evidence_after);
    const agent::Verdict verdict =
        agent::JudgeWindow(r.plan().analysis(), history_.Window(cutover, state::Other(from), query),
                           history_.Window(cutover, from, query));
    if (!verdict.failing()) {
      if (verdict.healthy()) watch.failing = 0;
      continue;
    }
    // As the engine counts: distinct failing windows, not ticks.
    if (watch.failing == 0 || now - watch.last_counted >= window) {
      ++watch.failing;
      watch.last_counted = now;
    }
    if (watch.failing < std::max<std::uint32_t>(r.plan().analysis().failure_threshold(), 1))
      continue;
    // This node's traffic goes back first; then the fleet hears of it.
    const auto stored = weights_.Store(cutover, back);
    reverted_.insert(r.id());
    const std::string reason = "breach on node " + node_ + " (node-local guard): " + verdict.reason;
    auto event = [&](const char* kind, std::uint32_t after) {
      v1::Event e;
      *e.mutable_time() = agent::ToProtoTimestamp(now);
      e.set_cutover(cutover);
      e.set_kind(kind);
      e.set_reason(reason);
      e.set_rollout_id(r.id());
      e.set_step(r.step());
      e.set_weight_before(agent::BpToPercent(record->control.weight_bp));
      e.set_weight_after(agent::BpToPercent(after));
      e.set_actor("agent");
      *e.mutable_measurement() = verdict.measurement;
      return e;
    };
    agent::LogWarning(cutover + ": " + reason + "; reverted here to " +
                      agent::FormatBpPercent(back) + " green" +
                      (stored ? "" : " [the state file could not be written]"));
    hand_({event(ek::kBreach, record->control.weight_bp), event(ek::kReverted, back)});
  }
  history_.SetRetention(longest + longest / 10);
  for (auto it = watches_.begin(); it != watches_.end();)
    it = present.count(it->first) ? std::next(it) : watches_.erase(it);
}

}  // namespace cutover::fleet

#include "agent/notify/notification.hpp"

#include "agent/core/event_kinds.hpp"
#include "agent/core/json.hpp"
#include "agent/core/units.hpp"

namespace cutover::agent {

namespace {

std::string SlotOf(v1::Slot s) {
  return s == v1::SLOT_GREEN ? "green" : s == v1::SLOT_BLUE ? "blue" : "?";
}

}  // namespace

bool Notifiable(const v1::Event& event) { return event.kind() != event_kind::kAgentStarted; }

std::string Severity(const v1::Event& event) {
  const std::string& k = event.kind();
  if (k == event_kind::kBreach || k == event_kind::kReverted) return "critical";
  if (k == event_kind::kGateFailed || k == event_kind::kInconclusive || k == event_kind::kPaused ||
      k == event_kind::kAborted)
    return "warning";
  for (const auto& g : event.gates())
    if (g.warning() || !g.passed()) return "warning";
  return "info";
}

std::string NotificationText(const v1::Event& e) {
  const std::string& k = e.kind();
  const std::string weights =
      "green " + FormatPercent(e.weight_before()) + " -> " + FormatPercent(e.weight_after());
  std::string text = e.cutover() + ": ";
  if (k == event_kind::kRolloutStarted) {
    text += "rollout " + e.rollout_id() + " started, " + SlotOf(e.from_slot()) + " -> " +
            SlotOf(e.to_slot()) + " in " + std::to_string(e.plan().steps_size()) + " steps";
  } else if (k == event_kind::kStepAdvanced) {
    text += "step " + std::to_string(e.step()) + ": " + weights;
  } else if (k == event_kind::kBreach) {
    text += "BREACH at step " + std::to_string(e.step());
  } else if (k == event_kind::kReverted) {
    text += "REVERTED: " + weights;
  } else if (k == event_kind::kWeightSet) {
    text += "weight set: " + weights;
  } else {
    text += k;
    if (e.weight_before() != e.weight_after()) text += ": " + weights;
  }
  if (!e.reason().empty()) text += " (" + e.reason() + ")";
  if (!e.actor().empty() && e.actor() != "agent") text += " by " + e.actor();
  return text;
}

std::string NotificationJson(const v1::Event& event) {
  v1::Event facts = event;
  facts.clear_plan();  // the gate specs and webhooks stay in the journal
  return "{\"text\":" + JsonString(NotificationText(event)) +
         ",\"cutover\":" + JsonString(event.cutover()) + ",\"kind\":" + JsonString(event.kind()) +
         ",\"severity\":" + JsonString(Severity(event)) + ",\"event\":" + ProtoToJson(facts) + "}";
}

}  // namespace cutover::agent

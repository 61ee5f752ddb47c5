#include "agent/server/gate_runner.hpp"

#include <chrono>
#include <stdexcept>

#include "agent/core/url.hpp"
#include "agent/gates/factory.hpp"

namespace cutover::agent {

GateFactory DefaultGateFactory() {
  return [](const google::protobuf::RepeatedPtrField<v1::Gate>& specs) {
    auto set = std::make_shared<GateSet>();
    for (auto& g : gates::MakeGates(specs)) set->push_back(std::move(g));
    return set;
  };
}

void RedactPlan(v1::Plan* plan) {
  gates::RedactGateSpecs(plan->mutable_gates());
  for (auto& url : *plan->mutable_notify()) url = RedactWebhookUrl(url);
}

gates::GateOutcome EvaluateGate(gates::Gate& gate, const gates::GateContext& context) {
  const auto start = std::chrono::steady_clock::now();
  try {
    return gate.Evaluate(context);
  } catch (const std::exception& e) {
    gates::GateOutcome failed;
    failed.name = gate.name();
    failed.detail = std::string("gate threw: ") + e.what();
    failed.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    return failed;
  }
}

std::vector<gates::GateOutcome> EvaluateGates(GateSet& gates, const gates::GateContext& context) {
  std::vector<gates::GateOutcome> outcomes;
  for (auto& gate : gates) {
    const bool applies = context.before_revert      ? gate->checks_reverts()
                         : context.before_promotion ? gate->checks_promotion()
                                                    : gate->checks_steps();
    if (applies) outcomes.push_back(EvaluateGate(*gate, context));
  }
  return outcomes;
}

void GateRunner::Submit(std::shared_ptr<GateSet> gates, gates::GateContext context, Done done) {
  context.cancel = &cancel_;
  worker_.Submit([gates = std::move(gates), context = std::move(context), done = std::move(done)] {
    done(EvaluateGates(*gates, context));
  });
}

void GateRunner::Stop() {
  cancel_ = true;
  worker_.Stop();
}

}  // namespace cutover::agent

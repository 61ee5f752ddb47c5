#include "agent/server/metrics.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace cutover::agent {
namespace {

std::optional<double> Value(prometheus::Registry& registry, const std::string& family,
                            const std::string& cutover) {
  for (const auto& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric)
      for (const auto& label : m.label)
        if (label.name == "cutover" && label.value == cutover)
          return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  return std::nullopt;
}

// Issue 15 #8: cutover_reverts_total appeared at the first revert, at 1, so
// an increase() alert never fired on the first one.
TEST(Metrics, EveryCutoverSeriesExistsAtZeroFromTheFirstTick) {
  Metrics metrics("");
  state::RecordSnapshot record;
  record.name = "app";
  metrics.OnTick({record}, {});
  EXPECT_EQ(Value(*metrics.registry(), "cutover_reverts_total", "app"), 0.0);
  EXPECT_EQ(Value(*metrics.registry(), "cutover_decisions_total", "app"), 0.0);
  EXPECT_EQ(Value(*metrics.registry(), "cutover_rollout_step", "app"), 0.0);
  EXPECT_EQ(Value(*metrics.registry(), "cutover_rollout_state", "app"), 0.0);
}

}  // namespace
}  // namespace cutover::agent

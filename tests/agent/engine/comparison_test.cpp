// analysis.compare fed cumulative counters the way the controller feeds it.
#include "agent/engine/comparison.hpp"

#include <gtest/gtest.h>

namespace cutover::agent {
namespace {

v1::Analysis Compare(bool latency = true, bool promote_early = false) {
  v1::Analysis a;
  a.mutable_window()->set_seconds(10);
  a.set_max_error_rate(0.05);
  a.mutable_compare()->set_method(v1::COMPARE_METHOD_SEQUENTIAL);
  a.mutable_compare()->set_alpha(0.01);
  a.mutable_compare()->set_latency(latency);
  a.mutable_compare()->set_promote_early(promote_early);
  return a;
}

// Cumulative counters of one slot, growing tick by tick.
struct Counters {
  state::SlotSnapshot s;
  void Serve(std::uint64_t ok, std::uint64_t errors, std::uint64_t latency_us = 1000) {
    s.requests += ok + errors;
    s.responses[1] += ok;
    s.responses[4] += errors;
    s.latency[state::LatencyBucket(latency_us)] += ok + errors;
  }
};

TEST(Comparison, ErrorsOnTheNewSlotBeyondItsShareRevert) {
  Comparison c(Compare(), 3);
  c.BeginStep();
  Counters n, o;
  c.Observe(1, n.s, o.s);  // the base
  for (int tick = 0; tick < 30 && c.finding() == Comparison::Finding::kNone; ++tick) {
    n.Serve(48, 2);  // 4% errors on the new slot
    o.Serve(50, 0);
    c.Observe(1, n.s, o.s);
  }
  EXPECT_EQ(c.finding(), Comparison::Finding::kErrorsWorse);
  v1::Measurement m;
  c.Fill(&m);
  EXPECT_GE(m.compare_statistic(), 100.0);
  EXPECT_DOUBLE_EQ(m.compare_bound(), 100.0);
  EXPECT_GT(m.compare_new_errors(), 0u);
  EXPECT_EQ(m.compare_old_errors(), 0u);
  EXPECT_NE(c.Reason(c.finding()).find("above the old slot's"), std::string::npos);
}

TEST(Comparison, ATickInWhichTheEpochChangedIsNoEvidence) {
  Comparison c(Compare(), 3);
  c.BeginStep();
  Counters n, o;
  c.Observe(1, n.s, o.s);
  n.Serve(0, 40);  // a burst of errors while the weight changed mid-tick
  o.Serve(40, 0);
  c.Observe(2, n.s, o.s);
  v1::Measurement m;
  c.Fill(&m);
  EXPECT_EQ(m.compare_new_errors(), 0u);
  EXPECT_DOUBLE_EQ(m.compare_statistic(), 1.0);
  n.Serve(0, 4);  // the next tick, in epoch 2, counts
  o.Serve(4, 0);
  c.Observe(2, n.s, o.s);
  c.Fill(&m);
  EXPECT_EQ(m.compare_new_errors(), 4u);
}

TEST(Comparison, NothingCountsBeforeTheFirstStep) {
  Comparison c(Compare(), 3);
  Counters n, o;
  c.Observe(1, n.s, o.s);
  n.Serve(0, 50);
  o.Serve(50, 0);
  c.Observe(1, n.s, o.s);
  EXPECT_EQ(c.finding(), Comparison::Finding::kNone);
}

TEST(Comparison, SlowerThanTheOldSlotsP99IsTheLatencyFinding) {
  Comparison c(Compare(), 1);
  c.BeginStep();
  Counters n, o;
  c.Observe(1, n.s, o.s);
  // The old slot: 2 ms, with 1% at 40 ms, long enough to set the cut.
  for (int tick = 0; tick < 10; ++tick) {
    o.Serve(99, 0, 2000);
    o.Serve(1, 0, 40000);
    n.Serve(100, 0, 2000);
    c.Observe(1, n.s, o.s);
  }
  EXPECT_EQ(c.finding(), Comparison::Finding::kNone);
  // Now the new slot answers a fifth of its requests in 200 ms.
  for (int tick = 0; tick < 30 && c.finding() == Comparison::Finding::kNone; ++tick) {
    o.Serve(100, 0, 2000);
    n.Serve(80, 0, 2000);
    n.Serve(20, 0, 200000);
    c.Observe(1, n.s, o.s);
  }
  EXPECT_EQ(c.finding(), Comparison::Finding::kLatencyWorse);
  v1::Measurement m;
  c.Fill(&m);
  EXPECT_GT(m.latency_cut_ms(), 2.0);
  EXPECT_GT(m.latency_new_slow(), m.latency_old_slow());
}

TEST(Comparison, LatencyOffIgnoresSlowRequests) {
  Comparison c(Compare(/*latency=*/false), 1);
  c.BeginStep();
  Counters n, o;
  c.Observe(1, n.s, o.s);
  for (int tick = 0; tick < 40; ++tick) {
    o.Serve(100, 0, 2000);
    n.Serve(50, 0, 2000);
    n.Serve(50, 0, 900000);
    c.Observe(1, n.s, o.s);
  }
  EXPECT_EQ(c.finding(), Comparison::Finding::kNone);
}

TEST(Comparison, PromotesEarlyOnlyWhenAskedAndShown) {
  Comparison off(Compare(true, /*promote_early=*/false), 2);
  Comparison on(Compare(true, /*promote_early=*/true), 2);
  off.BeginStep();
  on.BeginStep();
  Counters n, o;
  off.Observe(1, n.s, o.s);
  on.Observe(1, n.s, o.s);
  int ticks = 0;
  while (!on.promote_ready() && ticks < 100) {
    n.Serve(20, 0);
    o.Serve(20, 0);
    on.Observe(1, n.s, o.s);
    off.Observe(1, n.s, o.s);
    ++ticks;
  }
  EXPECT_TRUE(on.promote_ready());
  EXPECT_FALSE(off.promote_ready());
  // Clean traffic below 5% at alpha 0.01 takes about a hundred requests, not one.
  EXPECT_GT(ticks * 20, 50);
  // A new step starts its own evidence.
  on.BeginStep();
  EXPECT_FALSE(on.promote_ready());
}

}  // namespace
}  // namespace cutover::agent

#include "agent/fleet/counter_pool.hpp"

#include <gtest/gtest.h>

#include "agent/core/counter_history.hpp"

namespace cutover::fleet {
namespace {

using state::Slot;

// A node's counters for cutover "app": green served `requests`, `errors` of
// them 5xx, all in the bucket of ~`latency_bucket`.
NodeCounters Node(std::uint64_t requests, std::uint64_t errors, std::size_t latency_bucket = 10) {
  SlotPair slots{};
  auto& green = slots[static_cast<std::size_t>(Slot::kGreen)];
  green.requests = requests;
  green.responses[1] = requests - errors;
  green.responses[4] = errors;
  green.latency[latency_bucket] = requests;
  slots[static_cast<std::size_t>(Slot::kBlue)].requests = 1000 + requests;
  return {{"app", slots}};
}

std::uint64_t PooledGreen(const CounterPooling& pool) {
  return (*pool.Pooled("app"))[static_cast<std::size_t>(Slot::kGreen)].requests;
}

TEST(CounterPooling, AddsWhatEveryNodeServedSinceItsLastSnapshot) {
  CounterPooling pool;
  pool.Update({{"a", Node(100, 0)}, {"b", Node(5000, 0)}});  // baselines: nothing counted
  EXPECT_EQ(pool.Pooled("app"), nullptr);
  pool.Update({{"a", Node(150, 5)}, {"b", Node(5020, 1)}});
  EXPECT_EQ(PooledGreen(pool), 70u);
  const auto& green = (*pool.Pooled("app"))[static_cast<std::size_t>(Slot::kGreen)];
  EXPECT_EQ(green.Responses5xx(), 6u);
  EXPECT_EQ(green.latency[10], 70u);
  pool.Update({{"a", Node(160, 5)}, {"b", Node(5020, 1)}});
  EXPECT_EQ(PooledGreen(pool), 80u);
}

TEST(CounterPooling, ANodeThatJoinsOrComesBackAddsNothingForItsFirstSnapshot) {
  CounterPooling pool;
  pool.Update({{"a", Node(100, 0)}});
  pool.Update({{"a", Node(110, 0)}});
  EXPECT_EQ(PooledGreen(pool), 10u);
  pool.Update({{"a", Node(120, 0)}, {"c", Node(90000, 0)}});  // c joins with a large history
  EXPECT_EQ(PooledGreen(pool), 20u);
  pool.Update({{"a", Node(130, 0)}});                         // c is no longer live
  pool.Update({{"a", Node(140, 0)}, {"c", Node(99000, 0)}});  // ... and back, 9000 later
  EXPECT_EQ(PooledGreen(pool), 40u);
  pool.Update({{"a", Node(140, 0)}, {"c", Node(99005, 0)}});
  EXPECT_EQ(PooledGreen(pool), 45u);
}

TEST(CounterPooling, CountersThatGoBackwardsStartThatNodeAgain) {
  CounterPooling pool;
  pool.Update({{"a", Node(500, 0)}});
  pool.Update({{"a", Node(510, 0)}});
  pool.Update({{"a", Node(3, 0)}});  // nginx made the record again
  EXPECT_EQ(PooledGreen(pool), 10u);
  pool.Update({{"a", Node(13, 0)}});
  EXPECT_EQ(PooledGreen(pool), 20u);
}

TEST(CounterPooling, PooledCountersOnlyGrowSoWindowsOverThemAreTheFleetsWindows) {
  CounterPooling pool;
  agent::CounterHistory history(std::chrono::seconds(10));
  state::RecordSnapshot local;
  local.name = "app";
  const auto t0 = agent::SteadyTime(std::chrono::seconds(100));
  // Node a fast and clean, node b slow and failing: the pooled P99 is b's.
  for (int i = 0; i <= 4; ++i) {
    pool.Update({{"a", Node(1000 + 100 * i, 0, 5)}, {"b", Node(10 * i, 2 * i, 30)}});
    history.Add(t0 + std::chrono::seconds(i), pool.Apply({local}));
  }
  const auto w = history.Window("app", Slot::kGreen, std::chrono::seconds(4));
  EXPECT_EQ(w.requests, 440u);
  EXPECT_EQ(w.responses_5xx, 8u);
  EXPECT_GT(w.p99_ms, w.p50_ms);  // a true quantile of the summed histograms
}

TEST(CounterPooling, RecordsThePoolHasNotSeenStartAtZero) {
  CounterPooling pool;
  state::RecordSnapshot local;
  local.name = "other";
  local.slots[1].requests = 777;
  EXPECT_EQ(pool.Apply({local})[0].slots[1].requests, 0u);
}

TEST(CounterCodec, RoundTripsEveryField) {
  state::RecordSnapshot r;
  r.name = "app";
  auto& g = r.slots[static_cast<std::size_t>(Slot::kGreen)];
  g.requests = 1;
  g.responses = {2, 3, 4, 5, 6};
  g.failures = 7;
  g.failovers = 8;
  g.writes = 9;
  g.latency_sum_us = 10;
  g.latency[0] = 11;
  g.latency[state::kLatencyBuckets - 1] = 12;
  g.waits_started = 13;
  g.waits_ended = 14;
  g.abandoned = 15;
  g.no_live_peer = 16;
  g.duration_sum_us = 17;
  const NodeCounters back = DecodeCounters(EncodeCounters({r}));
  ASSERT_EQ(back.count("app"), 1u);
  const auto& d = back.at("app")[static_cast<std::size_t>(Slot::kGreen)];
  EXPECT_EQ(d.requests, 1u);
  EXPECT_EQ(d.responses, g.responses);
  EXPECT_EQ(d.failures, 7u);
  EXPECT_EQ(d.failovers, 8u);
  EXPECT_EQ(d.writes, 9u);
  EXPECT_EQ(d.latency_sum_us, 10u);
  EXPECT_EQ(d.latency, g.latency);
  EXPECT_EQ(d.waits_started, 13u);
  EXPECT_EQ(d.waits_ended, 14u);
  EXPECT_EQ(d.abandoned, 15u);
  EXPECT_EQ(d.no_live_peer, 16u);
  EXPECT_EQ(d.duration_sum_us, 17u);
  EXPECT_TRUE(DecodeCounters("\xff not protobuf").empty());
}

}  // namespace
}  // namespace cutover::fleet

#include "agent/core/window.hpp"

#include <gtest/gtest.h>

#include "agent/core/counter_history.hpp"

namespace cutover::agent {
namespace {

using namespace std::chrono_literals;

state::SlotSnapshot Totals(std::uint64_t requests, std::uint64_t e5xx, std::uint64_t fast,
                           std::uint64_t slow) {
  state::SlotSnapshot s;
  s.requests = requests;
  s.responses[4] = e5xx;
  s.responses[1] = requests - e5xx;
  s.latency[state::LatencyBucket(1000)] = fast;    // ~1 ms
  s.latency[state::LatencyBucket(500000)] = slow;  // ~500 ms
  return s;
}

TEST(SlotHistory, WindowIsTheDeltaOverTheWindow) {
  SlotHistory h(60s);
  const SteadyTime t0{};
  // 100 requests per second, healthy, for 30 s; then 10 s of 50% 5xx.
  std::uint64_t req = 0, err = 0;
  for (int i = 0; i <= 30; ++i) {
    h.Add(t0 + std::chrono::seconds(i), Totals(req, err, req, 0));
    req += 100;
  }
  WindowStats w = h.Window(10s);
  EXPECT_EQ(w.requests, 1000u);
  EXPECT_EQ(w.responses_5xx, 0u);
  EXPECT_EQ(w.span, 10s);
  EXPECT_DOUBLE_EQ(w.requests_per_second(), 100.0);
  std::uint64_t fast = req;
  for (int i = 31; i <= 40; ++i) {
    err += 50;
    h.Add(t0 + std::chrono::seconds(i), Totals(req, err, fast, 0));
    req += 100;
  }
  w = h.Window(10s);
  EXPECT_EQ(w.responses_5xx, 500u);
  EXPECT_DOUBLE_EQ(w.error_rate(), 0.5);
}

TEST(SlotHistory, P99IsATrueQuantileOfTheWindow) {
  SlotHistory h(60s);
  const SteadyTime t0{};
  // Long ago: only slow requests. In the window: 98% fast, 2% slow.
  h.Add(t0, Totals(0, 0, 0, 0));
  h.Add(t0 + 1s, Totals(1000, 0, 0, 1000));
  h.Add(t0 + 20s, Totals(1000, 0, 0, 1000));
  h.Add(t0 + 30s, Totals(2000, 0, 980, 1020));
  WindowStats w = h.Window(10s);
  EXPECT_EQ(w.requests, 1000u);
  EXPECT_LT(w.p50_ms, 2.0);
  EXPECT_GT(w.p99_ms, 300.0);  // the slow 2% decide the P99
  EXPECT_LT(w.p99_ms, 600.0);
}

TEST(SlotHistory, CountersGoingBackwardsRestartTheHistory) {
  SlotHistory h(60s);
  const SteadyTime t0{};
  h.Add(t0, Totals(5000, 0, 0, 0));
  h.Add(t0 + 1s, Totals(6000, 0, 0, 0));
  h.Add(t0 + 2s, Totals(10, 0, 0, 0));
  EXPECT_EQ(h.Window(10s).requests, 0u);
  h.Add(t0 + 3s, Totals(110, 0, 0, 0));
  EXPECT_EQ(h.Window(10s).requests, 100u);
}

TEST(SlotHistory, StaysBoundedWhateverTheTick) {
  SlotHistory h(10s);
  const SteadyTime t0{};
  for (int i = 0; i < 100000; ++i) h.Add(t0 + std::chrono::milliseconds(i), Totals(i, 0, 0, 0));
  // 10 s of 1 ms ticks thinned to about kMaxSamples; the window still spans 10 s.
  WindowStats w = h.Window(10s);
  EXPECT_GE(w.span, 9900ms);
  EXPECT_LE(w.span, 10100ms);
  EXPECT_NEAR(static_cast<double>(w.requests), 10000.0, 100.0);
}

TEST(CounterHistory, KeepsEachCutoverAndSlotApartAndForgetsGoneRecords) {
  CounterHistory sampler(60s);
  const SteadyTime t0{};
  state::RecordSnapshot a;
  a.name = "a";
  state::RecordSnapshot b;
  b.name = "b";
  sampler.Add(t0, {a, b});
  a.slots[1].requests = 50;
  b.slots[0].requests = 7;
  sampler.Add(t0 + 1s, {a, b});
  EXPECT_EQ(sampler.Window("a", state::Slot::kGreen, 10s).requests, 50u);
  EXPECT_EQ(sampler.Window("a", state::Slot::kBlue, 10s).requests, 0u);
  EXPECT_EQ(sampler.Window("b", state::Slot::kBlue, 10s).requests, 7u);
  sampler.Add(t0 + 2s, {a});
  EXPECT_EQ(sampler.Window("b", state::Slot::kBlue, 10s).requests, 0u);
}

state::SlotSnapshot Waits(std::uint64_t requests, std::uint64_t started, std::uint64_t ended) {
  state::SlotSnapshot s = Totals(requests, 0, requests, 0);
  s.waits_started = started;
  s.waits_ended = ended;
  return s;
}

// Fresh evidence: a window never reaches back past the sample the weight
// in force was first seen in, however long the window.
TEST(SlotHistory, AWindowDoesNotReachBackPastTheEvidence) {
  SlotHistory h(60s);
  const SteadyTime t0{};
  // 10 s of 50% errors (the last rollout's), then the weight changes at 10 s.
  for (int i = 0; i <= 10; ++i) h.Add(t0 + std::chrono::seconds(i), Totals(i * 100, i * 50, 0, 0));
  WindowQuery q{30s};
  q.evidence_after = t0 + 10s;
  EXPECT_EQ(h.Window(q).requests, 0u) << "nothing after the store yet";
  EXPECT_EQ(h.Window(q).span, 0s);
  h.Add(t0 + 11s, Totals(1100, 500, 0, 0));
  EXPECT_EQ(h.Window(q).span, 0s) << "one sample is a base, not a window";
  h.Add(t0 + 12s, Totals(1200, 500, 0, 0));
  const WindowStats w = h.Window(q);
  EXPECT_EQ(w.span, 1s);
  EXPECT_EQ(w.requests, 100u);
  EXPECT_EQ(w.responses_5xx, 0u) << "the old errors are not this step's";
  EXPECT_EQ(h.Window(30s).responses_5xx, 500u) << "without the clamp they would be";
}

TEST(SlotHistory, StalledCountsAttemptsWaitingLongerThanTheLimit) {
  SlotHistory h(60s);
  const SteadyTime t0{};
  // 10 attempts a second start; from 5 s none ends (the slot froze).
  std::uint64_t started = 0, ended = 0;
  for (int i = 0; i <= 8; ++i) {
    h.Add(t0 + std::chrono::seconds(i), Waits(ended, started, ended));
    started += 10;
    if (i < 5) ended += 10;
  }
  WindowQuery q{10s};
  q.stall_after = 2s;
  const WindowStats w = h.Window(q);
  // At 8 s: started by 6 s = 60, ended = 50: 10 waited longer than 2 s.
  EXPECT_EQ(w.stalled, 10u);
  EXPECT_EQ(w.waiting, 30u);
  q.stall_after = 0s;
  EXPECT_EQ(h.Window(q).stalled, 0u) << "no limit, no stalls";
}

TEST(SlotHistory, WaitsLeakedBeforeTheEvidenceAreNotStalls) {
  SlotHistory h(60s);
  const SteadyTime t0{};
  // 7 waits leaked long ago (a worker killed mid-attempt); traffic flows.
  for (int i = 0; i <= 10; ++i)
    h.Add(t0 + std::chrono::seconds(i), Waits(i * 10, 7 + i * 10, i * 10));
  WindowQuery q{10s};
  q.stall_after = 2s;
  EXPECT_EQ(h.Window(q).waiting, 7u);
  EXPECT_EQ(h.Window(q).stalled, 0u);
}

TEST(SlotHistory, EndsOfFastAttemptsHideAPartialStall) {
  // The bound is a lower bound: with only two counters, ends of fast
  // attempts may be the stuck ones' for all a reader can tell.
  SlotHistory h(60s);
  const SteadyTime t0{};
  h.Add(t0, Waits(0, 0, 0));
  h.Add(t0 + 1s, Waits(0, 5, 0));        // 5 start and hang
  h.Add(t0 + 4s, Waits(100, 105, 100));  // 100 more start and end quickly
  WindowQuery q{10s};
  q.stall_after = 2s;
  EXPECT_EQ(h.Window(q).waiting, 5u);
  EXPECT_EQ(h.Window(q).stalled, 0u);
}

}  // namespace
}  // namespace cutover::agent

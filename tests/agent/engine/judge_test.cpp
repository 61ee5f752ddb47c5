#include "agent/engine/judge.hpp"

#include <gtest/gtest.h>

namespace cutover::agent {
namespace {

TEST(JudgeWindow, FailuresCountAsErrorsAndAsTried) {
  v1::Analysis analysis;
  analysis.mutable_window()->set_seconds(10);
  analysis.set_min_requests(10);
  analysis.set_max_error_rate(0.05);
  WindowStats w;
  w.requests = 0;
  w.failures = 20;  // green refuses connections: nothing served, all tried
  Verdict v = JudgeWindow(analysis, w, WindowStats{});
  EXPECT_TRUE(v.failing()) << v.reason;
  EXPECT_DOUBLE_EQ(v.measurement.error_rate(), 1.0);
  EXPECT_EQ(v.measurement.errors(), 20u);
}

}  // namespace
}  // namespace cutover::agent

namespace cutover::agent {
namespace {

v1::Analysis WithMaxP99(std::uint64_t min_requests, int max_p99_ms) {
  v1::Analysis a;
  a.mutable_window()->set_seconds(10);
  a.set_min_requests(min_requests);
  a.set_max_error_rate(0.05);
  a.mutable_max_p99()->set_nanos(0);
  a.mutable_max_p99()->set_seconds(max_p99_ms / 1000);
  a.mutable_max_p99()->set_nanos((max_p99_ms % 1000) * 1'000'000);
  return a;
}

WindowStats Served(std::uint64_t n, std::uint64_t latency_us = 2000) {
  WindowStats w;
  w.requests = n;
  w.latency[state::LatencyBucket(latency_us)] = n;
  w.p99_ms = latency_us / 1000.0;
  return w;
}

// The hung green: too few requests completed for min_requests, but
// the ones still waiting already decide the P99. Before, min_requests ran
// first and the window stayed inconclusive for as long as green hung.
TEST(JudgeWindow, AStallIsFailingWhateverMinRequestsSays) {
  const v1::Analysis a = WithMaxP99(/*min_requests=*/50, /*max_p99_ms=*/1000);
  WindowStats w = Served(10);
  w.stalled = 3;
  w.waiting = 5;
  const Verdict v = JudgeWindow(a, w, Served(1000));
  ASSERT_TRUE(v.failing()) << v.reason;
  EXPECT_EQ(v.measurement.signal(), "stall");
  EXPECT_EQ(v.measurement.stalled(), 3u);
  EXPECT_EQ(v.measurement.waiting(), 5u);
  EXPECT_EQ(v.measurement.min_stalled(), 3u);
  EXPECT_GE(v.measurement.p99_ms(), 1000.0);
  EXPECT_NE(v.reason.find("3 requests have waited longer than 1s"), std::string::npos) << v.reason;
}

TEST(JudgeWindow, OneRequestWaitingIsNamedInTheSingular) {
  v1::Analysis a = WithMaxP99(/*min_requests=*/10, /*max_p99_ms=*/1000);
  WindowStats w = Served(50);
  w.stalled = 1;
  const Verdict p99 = JudgeWindow(a, w, Served(1000));
  ASSERT_TRUE(p99.failing()) << p99.reason;
  EXPECT_EQ(p99.measurement.signal(), "p99");
  EXPECT_NE(p99.reason.find("(1 request is still waiting)"), std::string::npos) << p99.reason;
  a.set_min_stalled(1);
  const Verdict stall = JudgeWindow(a, w, Served(1000));
  ASSERT_TRUE(stall.failing()) << stall.reason;
  EXPECT_EQ(stall.reason.rfind("1 request has waited longer than 1s", 0), 0u) << stall.reason;
}

TEST(JudgeWindow, FewerStalledThanMinStalledWaitForMore) {
  v1::Analysis a = WithMaxP99(50, 1000);
  WindowStats w = Served(10);
  w.stalled = 2;
  EXPECT_FALSE(JudgeWindow(a, w, Served(1000)).failing());
  a.set_min_stalled(2);
  EXPECT_TRUE(JudgeWindow(a, w, Served(1000)).failing());
}

TEST(JudgeWindow, StalledUnderOnePercentOfTheWindowIsNoStall) {
  const v1::Analysis a = WithMaxP99(50, 1000);
  WindowStats w = Served(1000);
  w.stalled = 5;  // 0.5%: the P99 is still the completed requests'
  const Verdict v = JudgeWindow(a, w, Served(1000));
  EXPECT_TRUE(v.healthy()) << v.reason;
  w.stalled = 11;  // 1.1%
  EXPECT_EQ(JudgeWindow(a, w, Served(1000)).measurement.signal(), "stall");
}

TEST(JudgeWindow, WithoutMaxP99StallsAreNotJudged) {
  v1::Analysis a = WithMaxP99(50, 1000);
  a.clear_max_p99();
  WindowStats w = Served(10);
  w.stalled = 10;
  EXPECT_FALSE(JudgeWindow(a, w, Served(1000)).failing());
}

TEST(JudgeWindow, StalledRequestsCountInTheP99) {
  WindowStats w = Served(900, 2000);
  w.stalled = 0;
  EXPECT_LT(P99WithStalledMs(w, 500), 3.0);
  w.stalled = 10;  // 1.1% waiting longer than 500 ms
  EXPECT_GE(P99WithStalledMs(w, 500), 500.0);
}

TEST(JudgeWindow, AbandonedRequestsAreErrors) {
  v1::Analysis a = WithMaxP99(10, 1000);
  WindowStats w = Served(90);
  w.failures = 10;  // the module counts an abandoned request as a failure too
  w.abandoned = 10;
  const Verdict v = JudgeWindow(a, w, Served(1000));
  ASSERT_TRUE(v.failing()) << v.reason;
  EXPECT_EQ(v.measurement.signal(), "error_rate");
  EXPECT_EQ(v.measurement.abandoned(), 10u);
  EXPECT_EQ(v.measurement.errors(), 10u);
}

TEST(JudgeWindow, WarningLevelsAreReportedWithoutFailing) {
  v1::Analysis a = WithMaxP99(10, 1000);
  a.set_warn_error_rate(0.01);
  a.mutable_warn_p99()->set_nanos(100'000'000);  // 100 ms
  a.set_max_error_ratio_vs_blue(10);
  a.set_warn_error_ratio_vs_blue(2);
  WindowStats w = Served(97, 200000);  // 200 ms: above the warning, below the maximum
  w.responses_5xx = 3;
  w.requests = 100;
  WindowStats old = Served(1000);
  old.responses_5xx = 10;  // 1%: the new slot's 3% is 3 times that
  const Verdict v = JudgeWindow(a, w, old);
  EXPECT_TRUE(v.healthy()) << v.reason;
  ASSERT_EQ(v.warnings.size(), 3u);
  for (const auto& level : v.warnings) EXPECT_TRUE(level.crossed) << level.signal;
  EXPECT_EQ(v.warnings[0].signal, "error_rate");
  EXPECT_EQ(v.warnings[1].signal, "p99");
  EXPECT_EQ(v.warnings[2].signal, "error_ratio_vs_blue");
  EXPECT_NE(v.warnings[0].reason.find("above the warning level 1.00%"), std::string::npos);
}

TEST(JudgeWindow, NoWarningsFromAnInconclusiveWindow) {
  v1::Analysis a = WithMaxP99(50, 1000);
  a.set_warn_error_rate(0.01);
  WindowStats w = Served(5);
  w.responses_5xx = 5;
  const Verdict v = JudgeWindow(a, w, Served(1000));
  EXPECT_EQ(v.kind, Verdict::Kind::kInconclusive);
  EXPECT_TRUE(v.warnings.empty());
}

}  // namespace
}  // namespace cutover::agent

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

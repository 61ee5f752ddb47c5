#include "agent/analysis/prometheus.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/prometheus_server.hpp"

namespace cutover::agent::analysis {
namespace {

using namespace std::chrono_literals;

TEST(ParseQueryAnswer, OneSeriesIsOneValue) {
  const auto a = ParseQueryAnswer(200, R"({"status":"success","data":{"resultType":"vector",
      "result":[{"metric":{"job":"green"},"value":[1700000000.123,"1.5e+09"]}]}})");
  ASSERT_TRUE(a.measured) << a.detail;
  EXPECT_DOUBLE_EQ(a.value, 1.5e9);
  EXPECT_EQ(a.detail, "1.5e+09");
}

TEST(ParseQueryAnswer, AScalarIsOneValue) {
  const auto a = ParseQueryAnswer(
      200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"2"]}})");
  ASSERT_TRUE(a.measured) << a.detail;
  EXPECT_DOUBLE_EQ(a.value, 2);
}

TEST(ParseQueryAnswer, NothingOrTooMuchIsInconclusive) {
  struct Case {
    long status;
    std::string body;
    std::string says;
  };
  const std::vector<Case> cases = {
      {200, R"({"status":"success","data":{"resultType":"vector","result":[]}})", "no series"},
      {200,
       R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}})",
       "returned 2 series; a check needs one"},
      {200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})", "a matrix"},
      {200, R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{},"value":[1,"NaN"]}]}})",
       "the value is NaN"},
      {200, R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{},"value":[1,"+Inf"]}]}})",
       "the value is +Inf"},
      {400, R"({"status":"error","errorType":"bad_data","error":"parse error"})",
       "HTTP 400, bad_data: parse error"},
      {503, "no healthy upstream", "HTTP 503: the answer is not JSON"},
      {200, R"({"status":"success"})", "no data.resultType"},
      {200, "[]", "not a JSON object"},
  };
  for (const auto& c : cases) {
    const auto a = ParseQueryAnswer(c.status, c.body);
    EXPECT_FALSE(a.measured) << c.body;
    EXPECT_NE(a.detail.find(c.says), std::string::npos) << a.detail;
  }
}

TEST(QueryPrometheus, AsksTheQueryApiAndReadsItsAnswer) {
  test::PrometheusServer prometheus;
  prometheus.SetValue(0.25);
  const std::string promql = R"(sum(rate(http_requests_total{job="green",code=~"5.."}[1m])))";
  const auto a = QueryPrometheus(prometheus.url() + "/", promql, 2s);
  ASSERT_TRUE(a.measured) << a.detail;
  EXPECT_DOUBLE_EQ(a.value, 0.25);
  EXPECT_EQ(prometheus.last_query(), promql) << "sent URL-encoded, received whole";
  prometheus.SetMode(test::PrometheusServer::Mode::kBadQuery);
  EXPECT_NE(QueryPrometheus(prometheus.url(), "sum(", 2s).detail.find("bad_data"),
            std::string::npos);
}

TEST(QueryPrometheus, AnUnreachableApiIsInconclusiveWithTheReason) {
  const auto a = QueryPrometheus("http://127.0.0.1:" + std::to_string(test::FreePort()), "up", 2s);
  EXPECT_FALSE(a.measured);
  EXPECT_NE(a.detail.find("query failed"), std::string::npos) << a.detail;
}

}  // namespace
}  // namespace cutover::agent::analysis

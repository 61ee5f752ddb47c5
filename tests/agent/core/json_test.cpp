#include "agent/core/json.hpp"

#include <gtest/gtest.h>

#include "agent/core/validation.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {
namespace {

template <typename Message>
std::string ErrorOf(const std::string& json) {
  Message m;
  try {
    JsonToProto(json, &m);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(JsonToProto, ReadsProtoAndJsonNames) {
  v1::StartRolloutRequest r;
  JsonToProto(R"({"cutover": "app", "plan": {"steps": [{"percent": 5, "hold": "300s"}],
                  "onBreach": "BREACH_ACTION_PAUSE", "analysis": {"min_requests": "50"}}})",
              &r);
  EXPECT_EQ(r.cutover(), "app");
  EXPECT_EQ(r.plan().steps(0).hold().seconds(), 300);
  EXPECT_EQ(r.plan().on_breach(), v1::BREACH_ACTION_PAUSE);
  EXPECT_EQ(r.plan().analysis().min_requests(), 50u);
}

TEST(JsonToProto, NamesTheFieldOfEveryProblem) {
  EXPECT_EQ(ErrorOf<v1::SetWeightRequest>(R"({"percnt": 5})"), "percnt: unknown field");
  EXPECT_EQ(ErrorOf<v1::SetWeightRequest>(R"({"percent": "abc"})"),
            "percent: \"abc\" is not a number");
  EXPECT_EQ(ErrorOf<v1::SetWeightRequest>(R"({"cutover": 5})"), "cutover: 5 is not a string");
  EXPECT_EQ(ErrorOf<v1::StartRolloutRequest>(R"({"plan": {"steps": [{"percnt": 1}]}})"),
            "plan.steps[0].percnt: unknown field");
  const std::string hold =
      ErrorOf<v1::StartRolloutRequest>(R"({"plan": {"steps": [{"percent": 1, "hold": "5x"}]}})");
  EXPECT_EQ(hold.rfind("plan.steps[0].hold: ", 0), 0u) << hold;
  EXPECT_NE(hold.find("\"10s\""), std::string::npos) << hold;
  const std::string breach =
      ErrorOf<v1::StartRolloutRequest>(R"({"plan": {"on_breach": "BOGUS"}})");
  EXPECT_EQ(breach,
            "plan.on_breach: \"BOGUS\" is not one of BREACH_ACTION_UNSPECIFIED, "
            "BREACH_ACTION_REVERT, BREACH_ACTION_PAUSE");
  EXPECT_EQ(ErrorOf<v1::SetWeightRequest>("[1]"), "body: must be a JSON object");
  EXPECT_EQ(ErrorOf<v1::SetWeightRequest>(R"({"percent": 5,)").rfind("body: not valid JSON: ", 0),
            0u);
}

TEST(ProtoToJson, PrintsProtoNamesAndZeroes) {
  v1::SetWeightRequest r;
  r.set_cutover("app");
  EXPECT_EQ(ProtoToJson(r), R"({"cutover":"app","percent":0,"reason":""})");
}

TEST(JsonString, EscapesForJsonNotForHtml) {
  EXPECT_EQ(JsonString("a \"b\" \\ -> <c>\n\x01"), R"("a \"b\" \\ -> <c>\n\u0001")");
  EXPECT_EQ(JsonString("\xFF"), "\"\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace cutover::agent

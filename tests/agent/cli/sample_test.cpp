// `cutoverctl sample` as a process against real HTTP servers whose split is
// known exactly, so the counts, not just the verdict, can be checked.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cutoverctl.hpp"
#include "support/split_server.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;

// The count of one header value in a --json sample answer (0 when absent).
std::uint64_t CountOf(const json& sample, const std::string& value) {
  for (const auto& s : sample["split"])
    if (s["value"] == value) return s["count"].get<std::uint64_t>();
  return 0;
}

TEST(Sample, PassesAtTheTrueSplit) {
  SplitServer server({{{"blue", 4}, {"green", 1}}});
  const auto r = Cutoverctl({"sample", server.url(), "--requests", "2000", "--concurrency", "8",
                             "--expect", "green=20", "--tolerance", "2"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find("2000 requests, 2000 answered, 0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("green             400    20.00%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blue              1600   80.00%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("observed 20.00% (95% CI 18.31 .. 21.81) PASS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verdict: PASS"), std::string::npos) << r.out;
  EXPECT_EQ(server.requests(), 2000u);
}

TEST(Sample, FailsAtAWrongExpectation) {
  SplitServer server({{{"blue", 4}, {"green", 1}}});
  const auto r = Cutoverctl(
      {"sample", server.url(), "--requests", "1000", "--expect", "green=30", "--tolerance", "2"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  EXPECT_NE(r.out.find("FAIL, expectation outside the CI"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verdict: FAIL"), std::string::npos) << r.out;
}

TEST(Sample, JsonCarriesCountsIntervalsAndVerdicts) {
  SplitServer server({{{"blue", 3}, {"green", 1}}});
  const auto r =
      Cutoverctl({"--json", "sample", server.url(), "--requests", "1200", "--concurrency", "6",
                  "--expect", "green=25", "--expect", "blue=75", "--tolerance", "1.5"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["answered"], 1200);
  EXPECT_EQ(CountOf(j, "green"), 300u);
  EXPECT_EQ(CountOf(j, "blue"), 900u);
  EXPECT_EQ(j["statuses"]["200"], 1200);
  EXPECT_EQ(j["error_count"], 0);
  EXPECT_EQ(j["verdict"], "pass");
  ASSERT_EQ(j["expectations"].size(), 2u);
  for (const auto& e : j["expectations"]) {
    EXPECT_EQ(e["pass"], true);
    EXPECT_LT(e["ci95"]["low"].get<double>(), e["observed"].get<double>());
    EXPECT_GT(e["ci95"]["high"].get<double>(), e["observed"].get<double>());
  }
  // Keep-alive: no more connections than requests in flight.
  EXPECT_GE(j["connections"].get<int>(), 1);
  EXPECT_LE(j["connections"].get<int>(), 6);
}

TEST(Sample, CountsMissingAndRepeatedHeadersAsSuch) {
  SplitServerOptions options{{{"blue", 1}, {"green", 1}}};
  options.missing_every = 10;
  options.repeated_every = 7;
  SplitServer server(options);
  const auto r = Cutoverctl({"--json", "sample", server.url(), "--requests", "700"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  const json j = json::parse(r.out);
  // Of 700 answers, 70 lack the header; 100 are multiples of 7, 10 of those
  // (multiples of 70) lack it, so 90 carry it twice.
  EXPECT_EQ(j["missing"], 70);
  EXPECT_EQ(j["repeated"], 90);
  EXPECT_EQ(CountOf(j, "(missing)"), 70u);
  EXPECT_EQ(CountOf(j, "(repeated)"), 90u);
  EXPECT_EQ(CountOf(j, "blue") + CountOf(j, "green"), 540u);
  EXPECT_EQ(j["verdict"], nullptr);
}

TEST(Sample, CountsStatuses) {
  SplitServerOptions options{{{"blue", 1}}};
  options.status_503_every = 4;
  SplitServer server(options);
  const auto r = Cutoverctl({"--json", "sample", server.url(), "--requests", "400", "--expect",
                             "blue=100", "--tolerance", "0"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["statuses"]["503"], 100);
  EXPECT_EQ(j["statuses"]["200"], 300);
}

TEST(Sample, CountsTransportErrorsAndFailsWhenNothingAnswers) {
  const std::string closed = "http://127.0.0.1:" + std::to_string(FreePort()) + "/";
  auto r = Cutoverctl({"--json", "sample", closed, "--requests", "20", "--concurrency", "4"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["answered"], 0);
  EXPECT_EQ(j["error_count"], 20);
  EXPECT_EQ(j["errors"]["Couldn't connect to server"], 20);
  r = Cutoverctl({"sample", closed, "--requests", "5", "--expect", "green=0"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  EXPECT_NE(r.out.find("failed: Couldn't connect to server x5"), std::string::npos) << r.out;
}

TEST(Sample, CountsTheHeaderItIsToldToAndSendsRequestHeaders) {
  SplitServerOptions options{{{"a", 1}, {"b", 1}}};
  options.header = "X-Served-By";
  SplitServer server(options);
  auto r = Cutoverctl(
      {"--json", "sample", server.url(), "--requests", "100", "--header", "x-served-by"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  json j = json::parse(r.out);
  EXPECT_EQ(CountOf(j, "a"), 50u);
  EXPECT_EQ(CountOf(j, "b"), 50u);
  r = Cutoverctl({"--json", "sample", server.url(), "--requests", "50", "--header", "X-Served-By",
                  "--request-header", "X-Force-Slot: green"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  j = json::parse(r.out);
  EXPECT_EQ(CountOf(j, "green"), 50u);
}

TEST(Sample, WarnsWhenTheSampleIsTooSmall) {
  SplitServer server({{{"blue", 4}, {"green", 1}}});
  const auto r = Cutoverctl(
      {"sample", server.url(), "--requests", "100", "--expect", "green=20", "--tolerance", "2"});
  EXPECT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find("note: the 95% CI is wider than +/-2.00 points"), std::string::npos)
      << r.out;
}

TEST(Cutoverctl, ExitCodesAsAProcess) {
  EXPECT_EQ(Cutoverctl({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Cutoverctl({"status", "--frobnicate"}).exit_code, 2);
  TempDir dir("cutover-ctl");
  const auto r = Cutoverctl({"status"}, {{"CUTOVER_AGENT", "unix:" + dir / "none.sock"}});
  EXPECT_EQ(r.exit_code, 3) << Said(r);
  EXPECT_NE(r.err.find(dir / "none.sock"), std::string::npos) << r.err;
  EXPECT_EQ(Cutoverctl({"--help"}).exit_code, 0);
}

// Issue 15 #22: a number with hundreds of digits in a plan is a bad plan
// naming its file and line, exit 2 (it escaped as "cutoverctl: stod", exit 1).
TEST(Cutoverctl, APlanNumberWithHundredsOfDigitsIsABadPlanExit2) {
  TempDir dir("cutover-ctl");
  WriteFile(dir / "plan.yaml",
            "steps: [{percent: 50, hold: 1m}]\nanalysis:\n  window: 10s\n"
            "  max_error_ratio_vs_blue: " +
                std::string(400, '9') + "\n");
  const auto r = Cutoverctl({"preflight", "--offline", dir / "plan.yaml"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find(dir / "plan.yaml:4: analysis.max_error_ratio_vs_blue"), std::string::npos)
      << Said(r);
}

// Issue 15 #5/#23: the arguments the agent bounds are bounded here by the
// same rules, a usage error before any call (the agent here is not even up).
TEST(Cutoverctl, RefusesWhatTheAgentWouldRefuseBeforeCallingIt) {
  TempDir dir("cutover-ctl");
  const std::map<std::string, std::string> env = {{"CUTOVER_AGENT", "unix:" + dir / "none.sock"}};
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"set-weight", "app", "5", "--reason", std::string(2000, 'r')},
            "--reason: at most 1024 bytes"},
           {{"rollout", "abort", "app", "--reason", std::string(1025, 'r')},
            "--reason: at most 1024 bytes"},
           {{"history", "app", "--limit", "50000"}, "from 1 to 10000"},
           {{"status", std::string(64, 'c')}, "CUTOVER: longer than 63 bytes"},
       }) {
    const auto r = Cutoverctl(args, env);
    EXPECT_EQ(r.exit_code, 2) << args[0] << "\n" << Said(r);
    EXPECT_NE(r.err.find(says), std::string::npos) << args[0] << "\n" << Said(r);
  }
}

}  // namespace
}  // namespace cutover::test

// The http gate against real HTTP servers on loopback (the tests' Backend).
#include <gtest/gtest.h>

#include "support/backend.hpp"
#include "support/gate_specs.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

std::string Url(const Backend& b, const std::string& path) {
  return "http://" + b.address() + path;
}

TEST(HttpGate, PassesOnA2xxAndFailsOnAnythingElseSayingWhatItGot) {
  Backend green("green");
  auto ok = EvaluateOnce(HttpSpec(Url(green, "/health")));
  EXPECT_TRUE(ok.passed) << ok.detail;
  EXPECT_EQ(ok.name, "http");
  EXPECT_EQ(ok.detail, "GET " + Url(green, "/health") + " answered 200");

  green.SetPathStatus("/health", 503);
  auto failing = EvaluateOnce(HttpSpec(Url(green, "/health")));
  EXPECT_FALSE(failing.passed);
  EXPECT_EQ(failing.detail,
            "GET " + Url(green, "/health") + " answered 503, expected a 2xx status");
  EXPECT_EQ(failing.output, "green\n");  // the start of the body it answered
  EXPECT_TRUE(EvaluateOnce(HttpSpec(Url(green, "/other"))).passed);
}

TEST(HttpGate, ChecksTheExactStatusAndTheBodyWhenAsked) {
  Backend green("green");
  EXPECT_FALSE(EvaluateOnce(HttpSpec(Url(green, "/"), 204)).passed);
  green.SetPathStatus("/", 404);
  EXPECT_TRUE(EvaluateOnce(HttpSpec(Url(green, "/gone"), 404)).passed);
  green.SetPathStatus("/", 200);
  auto matched = EvaluateOnce(HttpSpec(Url(green, "/"), 200, "(?m)^gr.en$"));
  EXPECT_TRUE(matched.passed) << matched.detail;
  EXPECT_NE(matched.detail.find("body matches \"(?m)^gr.en$\""), std::string::npos)
      << matched.detail;
  EXPECT_FALSE(EvaluateOnce(HttpSpec(Url(green, "/"), 200, "^gr.en$")).passed);  // "green\n"
  auto unmatched = EvaluateOnce(HttpSpec(Url(green, "/"), 200, "blue"));
  EXPECT_FALSE(unmatched.passed);
  EXPECT_EQ(unmatched.detail,
            "GET " + Url(green, "/") + " answered 200 but its body has no match for \"blue\"");
}

TEST(HttpGate, FailsWhenNothingAnswersOrTheTimeoutPasses) {
  const int closed = FreePort();
  auto refused = EvaluateOnce(HttpSpec("http://127.0.0.1:" + std::to_string(closed) + "/health"));
  EXPECT_FALSE(refused.passed);
  EXPECT_NE(refused.detail.find("failed: "), std::string::npos) << refused.detail;

  Backend stuck("stuck");
  stuck.Hold();
  auto late = EvaluateOnce(WithTimeout(HttpSpec(Url(stuck, "/health")), 300ms));
  stuck.Release();
  EXPECT_FALSE(late.passed);
  EXPECT_EQ(late.detail, "GET " + Url(stuck, "/health") + " failed: timed out after 300ms");
}

TEST(HttpGate, ASlotPlaceholderAsksEveryPeerOfThatSlot) {
  Backend green1("green1"), green2("green2"), blue("blue");
  gates::GateContext context;
  context.cutover = "app";
  context.green_peers = {green1.address(), green2.address()};
  context.blue_peers = {blue.address()};
  context.new_slot = "green";
  auto all = EvaluateOnce(HttpSpec("http://{green}/health"), context);
  EXPECT_TRUE(all.passed) << all.detail;
  EXPECT_EQ(all.detail, "GET http://{green}/health: all 2 green peers answered a 2xx status");

  green2.SetPathStatus("/health", 503);
  for (const char* url : {"http://{green}/health", "http://{new}/health"}) {
    auto one_down = EvaluateOnce(HttpSpec(url), context);
    EXPECT_FALSE(one_down.passed) << url;
    EXPECT_EQ(one_down.detail, "1 of 2 green peers failed: GET " + Url(green2, "/health") +
                                   " answered 503, expected a 2xx status");
  }
  auto live = EvaluateOnce(HttpSpec("http://{live}/health"), context);
  EXPECT_TRUE(live.passed) << live.detail;
  EXPECT_EQ(live.detail, "GET " + Url(blue, "/health") + " answered 200");  // blue's one peer
}

TEST(HttpGate, APlaceholderWithoutPeersFails) {
  auto no_cutover = EvaluateOnce(HttpSpec("http://{new}/health"));
  EXPECT_FALSE(no_cutover.passed);
  EXPECT_EQ(no_cutover.detail,
            "http://{new}/health: {new} needs a cutover to know which slot it is "
            "(preflight: --cutover)");
  gates::GateContext context;
  context.cutover = "app";
  context.new_slot = "green";
  auto no_peer = EvaluateOnce(HttpSpec("http://{green}/health"), context);
  EXPECT_FALSE(no_peer.passed);
  EXPECT_EQ(no_peer.detail,
            "http://{green}/health: cutover \"app\" has no green peer in the state file");
}

TEST(HttpGate, NeverShowsThePasswordOrQueryValuesOfItsUrl) {
  Backend green("green");
  green.SetPathStatus("/health", 500);
  auto outcome = EvaluateOnce(
      HttpSpec("http://probe:Pw-Secret@" + green.address() + "/health?token=Tok-Secret"));
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.detail.find("Secret"), std::string::npos) << outcome.detail;
  EXPECT_NE(outcome.detail.find("probe:***@"), std::string::npos) << outcome.detail;
}

}  // namespace
}  // namespace cutover::test

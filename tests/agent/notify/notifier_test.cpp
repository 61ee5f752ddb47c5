// The notifier against real loopback webhooks (the tests' Backend): order,
// retries, a webhook that hangs or is gone, a full queue, plan webhooks.
#include "agent/notify/notifier.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/core/event_kinds.hpp"
#include "agent/notify/notification.hpp"
#include "support/backend.hpp"
#include "support/process.hpp"

namespace cutover::agent {
namespace {

using namespace std::chrono_literals;
using test::Backend;
using test::WaitFor;

v1::Event Event(std::uint64_t sequence, const std::string& kind,
                const std::string& rollout = "r1") {
  v1::Event e;
  e.set_sequence(sequence);
  e.set_cutover("app");
  e.set_kind(kind);
  e.set_rollout_id(rollout);
  e.set_weight_before(5);
  e.set_weight_after(kind == event_kind::kReverted ? 0 : 25);
  e.set_actor("agent");
  return e;
}

std::string Hook(const Backend& b) { return "http://" + b.address() + "/hook"; }

std::vector<std::string> KindsReceived(const Backend& b) {
  std::vector<std::string> kinds;
  for (const auto& r : b.received()) kinds.push_back(nlohmann::json::parse(r.body)["kind"]);
  return kinds;
}

// Counts what the notifier reports, as metrics does.
struct Counts {
  std::mutex mutex;
  std::map<std::string, int> by_result;
  std::function<void(const std::string&)> Callback() {
    return [this](const std::string& r) {
      std::lock_guard lock(mutex);
      ++by_result[r];
    };
  }
  int operator[](const std::string& r) {
    std::lock_guard lock(mutex);
    return by_result[r];
  }
};

NotifierOptions Fast(std::vector<std::string> urls, Counts& counts) {
  NotifierOptions o;
  o.urls = std::move(urls);
  o.first_backoff = 5ms;
  o.max_backoff = 20ms;
  o.timeout = 2s;
  o.count = counts.Callback();
  return o;
}

TEST(Notification, IsSlackCompatibleJsonWithTheEventAndNoPlan) {
  v1::Event e = Event(12, event_kind::kReverted);
  e.set_reason("breach: error rate 14.29% above the maximum 5.00%");
  e.mutable_plan()->add_notify("https://hooks.slack.com/services/SECRET");
  e.mutable_plan()->add_gates()->mutable_sql()->set_dsn("postgresql://u:pw-secret@db/app");
  const std::string json = NotificationJson(e);
  EXPECT_EQ(json.find("SECRET"), std::string::npos) << json;
  EXPECT_EQ(json.find("pw-secret"), std::string::npos) << json;
  const auto body = nlohmann::json::parse(json);
  EXPECT_EQ(body["text"],
            "app: REVERTED: green 5.00% -> 0.00% (breach: error rate 14.29% above the maximum "
            "5.00%)");
  EXPECT_EQ(body["kind"], "reverted");
  EXPECT_EQ(body["cutover"], "app");
  EXPECT_EQ(body["severity"], "critical");
  EXPECT_EQ(body["event"]["sequence"], "12");
  EXPECT_FALSE(body["event"].contains("plan"));
  EXPECT_EQ(json.rfind("{\"text\":", 0), 0u);  // text first, for humans reading the raw body

  EXPECT_FALSE(Notifiable(Event(1, event_kind::kAgentStarted, "")));
  EXPECT_TRUE(Notifiable(Event(2, event_kind::kWeightSet, "")));
  EXPECT_EQ(Severity(Event(3, event_kind::kGateFailed)), "warning");
  EXPECT_EQ(Severity(Event(4, event_kind::kStepAdvanced)), "info");
  v1::Event by_hand = Event(5, event_kind::kPaused);
  by_hand.set_actor("unix");
  by_hand.set_reason("looking");
  EXPECT_EQ(NotificationText(by_hand), "app: paused: green 5.00% -> 25.00% (looking) by unix");
}

TEST(Notifier, PostsEveryEventInOrder) {
  Backend hook("hook");
  Counts counts;
  Notifier notifier(Fast({Hook(hook)}, counts));
  const std::vector<std::string> kinds = {"rollout_started", "step_advanced", "breach", "reverted"};
  for (std::size_t i = 0; i < kinds.size(); ++i) notifier.OnEvent(Event(i + 2, kinds[i]));
  notifier.OnEvent(Event(1, event_kind::kAgentStarted, ""));  // not told
  ASSERT_TRUE(WaitFor([&] { return hook.received().size() >= 4; }));
  EXPECT_EQ(KindsReceived(hook), kinds);
  for (const auto& r : hook.received()) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/hook");
    EXPECT_EQ(r.content_type, "application/json");
  }
  EXPECT_EQ(counts["sent"], 4);
  notifier.Stop();
  EXPECT_EQ(hook.received().size(), 4u);
}

TEST(Notifier, RetriesWithBackoffUntilTheWebhookAnswers) {
  Backend hook("hook");
  hook.SetStatus(503);
  Counts counts;
  Notifier notifier(Fast({Hook(hook)}, counts));
  notifier.OnEvent(Event(2, event_kind::kRolloutStarted));
  ASSERT_TRUE(WaitFor([&] { return hook.received().size() >= 2; }));
  hook.SetStatus(200);
  ASSERT_TRUE(WaitFor([&] { return counts["sent"] == 1; }));
  EXPECT_GE(counts["retried"], 1);
  EXPECT_EQ(counts["failed"], 0);
  for (const auto& r : hook.received())
    EXPECT_EQ(nlohmann::json::parse(r.body)["kind"], "rollout_started");  // the same one again
}

TEST(Notifier, GivesUpOnAPermanentRefusalAndOnADeadWebhook) {
  Backend refusing("refusing");
  refusing.SetStatus(404);
  const std::string dead = "http://127.0.0.1:" + std::to_string(test::FreePort()) + "/hook";
  Counts counts;
  NotifierOptions o = Fast({Hook(refusing), dead}, counts);
  o.attempts = 3;
  Notifier notifier(o);
  notifier.OnEvent(Event(2, event_kind::kReverted));
  ASSERT_TRUE(WaitFor([&] { return counts["failed"] == 2; }));
  EXPECT_EQ(refusing.received().size(), 1u);  // a 404 is not asked again
  EXPECT_EQ(counts["retried"], 2);            // the dead one: 3 attempts
  EXPECT_EQ(counts["sent"], 0);
}

TEST(Notifier, AHangingWebhookDelaysNeitherTheCallerNorTheOtherWebhooks) {
  Backend stuck("stuck"), live("live");
  stuck.Hold();
  Counts counts;
  Notifier notifier(Fast({Hook(stuck), Hook(live)}, counts));
  for (std::uint64_t i = 0; i < 5; ++i) notifier.OnEvent(Event(i + 2, event_kind::kStepAdvanced));
  // Every OnEvent returned while the stuck webhook holds the first POST.
  ASSERT_TRUE(WaitFor([&] { return stuck.arrived() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return live.received().size() == 5; }));
  EXPECT_EQ(stuck.received().size(), 0u);
  stuck.Release();
  ASSERT_TRUE(WaitFor([&] { return stuck.received().size() == 5; }));
}

TEST(Notifier, AFullQueueDropsItsOldestAndCountsThem) {
  Backend stuck("stuck");
  stuck.Hold();
  Counts counts;
  NotifierOptions o = Fast({Hook(stuck)}, counts);
  o.queue_limit = 2;
  Notifier notifier(o);
  notifier.OnEvent(Event(2, "rollout_started"));
  ASSERT_TRUE(WaitFor([&] { return stuck.arrived() == 1; }));  // taken: the queue is empty
  for (const char* kind : {"step_advanced", "inconclusive", "breach", "reverted"})
    notifier.OnEvent(Event(3, kind));
  EXPECT_EQ(counts["dropped"], 2);
  stuck.Release();
  ASSERT_TRUE(WaitFor([&] { return stuck.received().size() == 3; }));
  EXPECT_EQ(KindsReceived(stuck),
            (std::vector<std::string>{"rollout_started", "breach", "reverted"}));
}

TEST(Notifier, APlansWebhookHearsOnlyItsRolloutAndAHoldOnce) {
  Backend agent_hook("agent"), plan_hook("plan");
  Counts counts;
  Notifier notifier(Fast({Hook(agent_hook)}, counts));
  v1::Plan plan;
  plan.add_notify(Hook(plan_hook));
  notifier.OnRolloutPlan("r1", plan);
  v1::Event held = Event(3, event_kind::kGateFailed);
  held.add_gates()->set_name("http");
  notifier.OnEvent(Event(2, event_kind::kRolloutStarted));
  notifier.OnEvent(held);
  held.set_sequence(4);
  notifier.OnEvent(held);  // the same hold, one window later: not told again
  notifier.OnEvent(Event(5, event_kind::kWeightSet, ""));  // no rollout: the agent's webhook only
  notifier.OnEvent(Event(6, event_kind::kStepAdvanced, "r2"));
  held.set_sequence(7);
  notifier.OnEvent(Event(7, event_kind::kStepAdvanced));
  held.set_sequence(8);
  notifier.OnEvent(held);  // a new hold after the step
  notifier.OnEvent(Event(9, event_kind::kCompleted));
  notifier.OnEvent(Event(10, event_kind::kPaused));  // r1 ended: its webhook is done with
  ASSERT_TRUE(WaitFor([&] { return agent_hook.received().size() == 8; }));
  ASSERT_TRUE(WaitFor([&] { return plan_hook.received().size() == 5; }));
  EXPECT_EQ(KindsReceived(plan_hook),
            (std::vector<std::string>{"rollout_started", "gate_failed", "step_advanced",
                                      "gate_failed", "completed"}));
  EXPECT_EQ(
      KindsReceived(agent_hook),
      (std::vector<std::string>{"rollout_started", "gate_failed", "weight_set", "step_advanced",
                                "step_advanced", "gate_failed", "completed", "paused"}));
}

TEST(Notifier, StopDeliversWhatIsQueuedWithinItsGrace) {
  Backend hook("hook");
  Counts counts;
  Notifier notifier(Fast({Hook(hook)}, counts));
  for (std::uint64_t i = 0; i < 3; ++i) notifier.OnEvent(Event(i + 2, event_kind::kStepAdvanced));
  notifier.Stop(10s);
  EXPECT_EQ(hook.received().size(), 3u);
  notifier.OnEvent(Event(9, event_kind::kReverted));  // after Stop: dropped quietly
  EXPECT_EQ(counts["sent"], 3);
}

}  // namespace
}  // namespace cutover::agent

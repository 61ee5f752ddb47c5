#include "agent/cli/render.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/cli/agent_client.hpp"

namespace cutover::cli {
namespace {

namespace v1 = cutover::v1;

v1::Cutover SampleCutover() {
  v1::Cutover c;
  c.set_name("app");
  c.set_blue_upstream("app_blue");
  c.set_green_upstream("app_green");
  c.set_blue_percent(75);
  c.set_green_percent(25);
  c.set_epoch(9);
  c.set_live_slot(v1::SLOT_BLUE);
  c.mutable_blue()->set_requests(120345);
  c.mutable_blue()->set_requests_per_second(902.14);
  c.mutable_blue()->set_p99_ms(12.34);
  c.mutable_green()->set_requests(30211);
  c.mutable_green()->set_requests_per_second(312.4);
  c.mutable_green()->set_error_rate(0.0012);
  c.mutable_green()->set_p99_ms(15.0);
  c.mutable_green()->set_responses_5xx(36);
  auto* r = c.mutable_rollout();
  r->set_id("r-1");
  r->set_state(v1::ROLLOUT_STATE_RUNNING);
  for (double p : {1.0, 5.0, 25.0, 50.0, 75.0, 100.0}) {
    auto* s = r->mutable_plan()->add_steps();
    s->set_percent(p);
    s->mutable_hold()->set_seconds(900);
  }
  r->set_step(2);
  r->set_from_slot(v1::SLOT_BLUE);
  r->set_to_slot(v1::SLOT_GREEN);
  r->mutable_hold_elapsed()->set_seconds(252);
  r->mutable_hold_remaining()->set_seconds(648);
  r->set_step_healthy_requests(1234);
  r->set_last_decision("step_advanced to 25.00%: 523 requests, 0.19% 5xx, p99 15ms");
  r->set_release("v1.3.0");
  c.mutable_green()->set_release("v1.3.0");
  return c;
}

// What the judge measured over the plan's window, with the plan's thresholds.
v1::Measurement SampleJudged() {
  v1::Measurement m;
  m.mutable_window()->set_seconds(10);
  m.set_requests(234);
  m.set_errors(12);
  m.set_error_rate(0.0521);
  m.set_p99_ms(12.3);
  m.set_blue_error_rate(0.001);
  m.set_max_error_rate(0.05);
  m.set_max_p99_ms(200);
  m.set_max_error_ratio_vs_blue(2);
  m.set_min_requests(50);
  return m;
}

TEST(Table, PadsColumnsToTheWidestCell) {
  Table t({"A", "LONGER"});
  t.Add({"wide cell", "x"});
  EXPECT_EQ(t.Render(), "A          LONGER\nwide cell  x\n");
}

TEST(RenderCutover, ShowsSlotsWeightsAndTheRollout) {
  const std::string text = RenderCutover(SampleCutover());
  EXPECT_NE(text.find("cutover app  epoch 9  live slot blue"), std::string::npos) << text;
  EXPECT_NE(text.find("green  app_green  v1.3.0   25.00%  312.4  0.12%     15.0ms"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("blue   app_blue   -        75.00%  902.1  0.00%     12.3ms"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("rollout r-1: running, blue -> green (release v1.3.0), step 3/6 (25.00% to green), "
                "hold 4m12s of 15m, 1234 healthy requests"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("last decision: step_advanced to 25.00%"), std::string::npos) << text;
}

TEST(RenderCutover, SaysWhenTheHoldIsOver) {
  auto c = SampleCutover();
  c.mutable_rollout()->mutable_hold_elapsed()->set_seconds(901);
  EXPECT_NE(RenderCutover(c).find("hold 15m1s of 15m (done)"), std::string::npos)
      << RenderCutover(c);
}

TEST(RenderCutover, SaysWhenThereIsNoRollout) {
  auto c = SampleCutover();
  c.clear_rollout();
  EXPECT_NE(RenderCutover(c).find("rollout: none"), std::string::npos);
}

TEST(RenderCutoverList, OneRowPerCutover) {
  v1::ListCutoversResponse list;
  *list.add_cutovers() = SampleCutover();
  auto* other = list.add_cutovers();
  other->set_name("api");
  other->set_blue_percent(100);
  const std::string text = RenderCutoverList(list);
  EXPECT_NE(text.find("app      app_blue  app_green  75.00% / 25.00%"), std::string::npos) << text;
  EXPECT_NE(text.find("running, step 3/6 (25.00% to green)"), std::string::npos) << text;
  EXPECT_NE(text.find("api"), std::string::npos) << text;
  EXPECT_NE(RenderCutoverList({}).find("no cutovers"), std::string::npos);
}

TEST(RenderWatch, FrameHasProgressBarSplitAndDecision) {
  const std::string frame = RenderWatchFrame(SampleCutover());
  EXPECT_NE(frame.find("split blue 75.00% / green 25.00%"), std::string::npos) << frame;
  EXPECT_NE(frame.find("hold   [########----------------------] 4m12s of 15m"), std::string::npos)
      << frame;
  EXPECT_NE(frame.find("last decision:"), std::string::npos) << frame;
  const std::string line = RenderWatchLine(SampleCutover());
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_NE(
      line.find("app split 75.00/25.00 running step 3/6 (25.00% to green) release v1.3.0 hold "
                "4m12s of 15m green 5xx 0.12% p99 15.0ms"),
      std::string::npos)
      << line;
}

TEST(JudgedText, ShowsTheJudgesOwnNumbersOnlyWhenTheySaySomething) {
  v1::Measurement m = SampleJudged();
  m.set_stalled(4);
  m.set_min_stalled(3);
  m.set_warn_error_rate(0.01);
  m.set_signal("stall");
  m.set_compare_statistic(3.5);
  m.set_compare_bound(100);
  const std::string text = JudgedText(m);
  EXPECT_NE(text.find("5xx 5.21% (warn 1.00%, max 5.00%)"), std::string::npos) << text;
  EXPECT_NE(text.find("signal stall"), std::string::npos) << text;
  EXPECT_NE(text.find("stalled 4 (min 3)"), std::string::npos) << text;
  EXPECT_NE(text.find("compare statistic 3.50, compare bound 100.00"), std::string::npos) << text;
  EXPECT_EQ(text.find("latency"), std::string::npos) << "zero and unset: not shown\n" << text;
  EXPECT_EQ(text.find("metric"), std::string::npos) << text;
}

TEST(JudgedText, PairsEachNumberWithItsThresholds) {
  EXPECT_EQ(JudgedText(SampleJudged()),
            "window 10s, requests 234 (min 50), errors 12, 5xx 5.21% (max 5.00%), p99 12.3ms "
            "(max 200.0ms), old slot 5xx 0.10%, 5xx ratio to old slot at most 2.00x");
  // Thresholds at zero are "no limit" and are not shown.
  v1::Measurement m = SampleJudged();
  m.set_max_p99_ms(0);
  m.set_max_error_ratio_vs_blue(0);
  EXPECT_EQ(JudgedText(m).find("max 200"), std::string::npos) << JudgedText(m);
  EXPECT_EQ(JudgedText(m).find("ratio"), std::string::npos) << JudgedText(m);
}

TEST(RenderWatch, FrameShowsTheJudgedWindowAndTheReleases) {
  v1::Cutover c = SampleCutover();
  *c.mutable_rollout()->mutable_judged() = SampleJudged();
  c.mutable_blue()->set_release("v1.2.9");
  const std::string frame = RenderWatchFrame(c);
  EXPECT_NE(frame.find("judged green: window 10s, requests 234 (min 50), errors 12, 5xx 5.21% "
                       "(max 5.00%)"),
            std::string::npos)
      << frame;
  EXPECT_NE(frame.find("release v1.3.0"), std::string::npos) << frame;
  EXPECT_NE(frame.find("green  v1.3.0   312.4"), std::string::npos) << frame;
  EXPECT_NE(frame.find("blue   v1.2.9   902.1"), std::string::npos) << frame;
  EXPECT_NE(RenderWatchLine(c).find("judged: window 10s"), std::string::npos);
}

TEST(Table, NarrowsItsWidestColumnsToFitAWidth) {
  Table t({"SEQ", "KIND", "REASON"});
  t.Add({"1", "breach", "error rate 14.29% above the maximum 5.00% (9 errors in 63 requests)"});
  t.Add({"2", "reverted", "breach: error rate 14.29% above the maximum 5.00%"});
  const std::string fitted = t.Render(40);
  for (std::size_t start = 0; start < fitted.size();) {
    const auto end = fitted.find('\n', start);
    EXPECT_LE(DisplayWidth(fitted.substr(start, end - start)), 40u) << fitted;
    start = end + 1;
  }
  // The narrow columns keep their text; the wide one is cut, and says so.
  EXPECT_NE(fitted.find("2    reverted  breach: error rate 14.29\u2026\n"), std::string::npos)
      << fitted;
  // No width: the whole table.
  EXPECT_NE(t.Render().find("(9 errors in 63 requests)"), std::string::npos);
}

TEST(RenderCutover, ListsPeersWithTheirStates) {
  v1::Cutover c = SampleCutover();
  auto* p = c.add_peers();
  p->set_slot(v1::SLOT_GREEN);
  p->set_address("10.0.0.22:8000");
  p->set_state(v1::PEER_STATE_DRAIN);
  p->set_requests(17);
  const std::string text = RenderCutover(c);
  EXPECT_NE(text.find("PEER            SLOT   STATE  REQUESTS"), std::string::npos) << text;
  EXPECT_NE(text.find("10.0.0.22:8000  green  drain  17"), std::string::npos) << text;
}

TEST(ProgressBar, FillsByFraction) {
  EXPECT_EQ(ProgressBar(0, 4), "[----]");
  EXPECT_EQ(ProgressBar(0.5, 4), "[##--]");
  EXPECT_EQ(ProgressBar(2, 4), "[####]");
}

TEST(RenderHistory, ShowsWeightChangesAndMeasurements) {
  v1::GetHistoryResponse h;
  auto* e = h.add_events();
  e->set_sequence(12);
  e->mutable_time()->set_seconds(1'795'000'000);
  e->set_kind("reverted");
  e->set_rollout_id("r-1");
  e->set_step(2);
  e->set_weight_before(25);
  e->set_weight_after(0);
  e->set_actor("agent");
  e->set_reason("5xx rate above 1%");
  e->mutable_measurement()->mutable_window()->set_seconds(10);
  e->mutable_measurement()->set_requests(523);
  e->mutable_measurement()->set_error_rate(0.05);
  e->mutable_measurement()->set_max_error_rate(0.01);
  const std::string text = RenderHistory(h);
  EXPECT_NE(text.find("reverted"), std::string::npos) << text;
  EXPECT_NE(text.find("25.00% -> 0.00%"), std::string::npos) << text;
  EXPECT_NE(text.find("window 10s: 523 req, 5xx 5.00% (max 1.00%)"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-11-18T"), std::string::npos) << text;
  EXPECT_NE(RenderHistory({}).find("no events"), std::string::npos);
}

TEST(RenderHistory, ShowsWhatGatesSaw) {
  v1::GetHistoryResponse h;
  auto* e = h.add_events();
  e->set_kind("gate_failed");
  auto* g = e->add_gates();
  g->set_name("replication_lag");
  g->set_passed(false);
  g->set_detail("lag 12s > 5s");
  g = e->add_gates();
  g->set_name("parity");
  g->set_passed(true);
  const std::string text = RenderHistory(h);
  EXPECT_NE(text.find("gates: replication_lag FAIL (lag 12s > 5s), parity pass"), std::string::npos)
      << text;
}

TEST(RenderPreflight, GoAndNoGo) {
  v1::PreflightResponse p;
  auto* g = p.add_gates();
  g->set_name("replication_lag");
  g->set_passed(false);
  g->set_detail("lag 12s > 5s");
  EXPECT_NE(RenderPreflight(p).find("replication_lag  FAIL"), std::string::npos);
  EXPECT_NE(RenderPreflight(p).find("verdict: NO-GO"), std::string::npos);
  p.set_go(true);
  EXPECT_NE(RenderPreflight(p).find("verdict: GO"), std::string::npos);
}

v1::Sync SampleSync() {
  v1::Sync s;
  s.set_cutover("app");
  s.set_state(v1::SYNC_STATE_RUNNING);
  s.mutable_spec()->set_blue("sqlite:///var/lib/app/app.db");
  s.mutable_spec()->set_green("postgresql://app:***@db/app");
  s.mutable_spec()->set_on_conflict(v1::SYNC_CONFLICT_POLICY_GREEN_WINS);
  s.add_tables("customers");
  s.add_tables("orders");
  auto* b2g = s.mutable_blue_to_green();
  b2g->set_pending(3);
  b2g->set_applied(1200);
  b2g->set_lag_ms(12.5);
  b2g->set_streaming(true);
  b2g->set_position("4711");
  auto* g2b = s.mutable_green_to_blue();
  g2b->set_applied(37);
  g2b->set_streaming(true);
  g2b->set_position("0/16B3748");
  s.set_conflicts(1);
  s.mutable_last_conflict()->set_table("orders");
  s.mutable_last_conflict()->set_key("id=42");
  s.mutable_last_conflict()->set_resolution("green's row kept");
  auto* proof = s.mutable_last_revert();
  proof->set_rollout_id("r-1");
  proof->set_reverted_sequence(41);
  proof->set_to_slot(v1::SLOT_BLUE);
  proof->set_in_flight(37);
  proof->set_applied(37);
  proof->mutable_took()->set_nanos(84'000'000);
  proof->set_done(true);
  return s;
}

TEST(RenderSync, ShowsBothDirectionsConflictsAndTheLastRevertsProof) {
  const std::string out = RenderSync(SampleSync());
  for (const char* part :
       {"sync app: running", "on_conflict green_wins", "tables: customers, orders",
        "postgresql://app:***@db/app", "blue_to_green  3        1200     12.5ms  yes        4711",
        "green_to_blue  0        37       0ms     yes        0/16B3748",
        "conflicts: 1 (last: orders id=42", "green's row kept",
        "last revert: 37 green writes in flight at the revert, all applied to blue 84 ms later, "
        "0 lost (rollout r-1, journal 41)"})
    EXPECT_NE(out.find(part), std::string::npos) << part << "\n" << out;
  v1::Sync none;
  none.set_cutover("app");
  EXPECT_NE(RenderSync(none).find("no sync for cutover app"), std::string::npos);
}

TEST(RenderWatch, ShowsTheSyncAndTheProofOfThisRolloutsRevert) {
  v1::Cutover c = SampleCutover();
  c.mutable_rollout()->set_state(v1::ROLLOUT_STATE_REVERTED);
  *c.mutable_sync() = SampleSync();
  const std::string frame = RenderWatchFrame(c);
  EXPECT_NE(frame.find("sync running: blue->green 3 pending, lag 12.5ms; green->blue 0 pending"),
            std::string::npos)
      << frame;
  EXPECT_NE(frame.find("revert: 37 green writes in flight at the revert"), std::string::npos)
      << frame;
  EXPECT_NE(RenderWatchLine(c).find("| revert: 37 green writes"), std::string::npos);
  // Another rollout's proof is not this one's.
  c.mutable_sync()->mutable_last_revert()->set_rollout_id("r-0");
  EXPECT_EQ(RenderWatchFrame(c).find("revert:"), std::string::npos);
  EXPECT_EQ(RevertProofOf(c), nullptr);
}

TEST(RenderHistory, ShowsTheRevertProofAndConflicts) {
  v1::GetHistoryResponse h;
  auto* proof = h.add_events();
  proof->set_kind("revert_synced");
  proof->set_reason(
      "37 green writes in flight at the revert, all applied to blue 84 ms later, 0 lost");
  *proof->mutable_revert_proof() = SampleSync().last_revert();
  auto* conflict = h.add_events();
  conflict->set_kind("sync_conflict");
  *conflict->mutable_sync_conflict() = SampleSync().last_conflict();
  const std::string out = RenderHistory(h);
  EXPECT_NE(out.find("in flight 37, applied 37, lost 0, took 84ms"), std::string::npos) << out;
  EXPECT_NE(out.find("orders id=42: green's row kept"), std::string::npos) << out;
}

TEST(ProtoToJson, UsesProtoNamesAndPrintsZeros) {
  const auto json = nlohmann::json::parse(ProtoToJson(SampleCutover()));
  EXPECT_EQ(json["name"], "app");
  EXPECT_DOUBLE_EQ(json["green_percent"].get<double>(), 25.0);
  EXPECT_EQ(json["blue"]["responses_5xx"], "0");  // uint64 is a string in proto JSON
  EXPECT_EQ(json["rollout"]["state"], "ROLLOUT_STATE_RUNNING");
}

TEST(MapStatus, ExitCodesFollowTheDesign) {
  EXPECT_EQ(MapStatus(grpc::StatusCode::UNAVAILABLE), kExitUnreachable);
  EXPECT_EQ(MapStatus(grpc::StatusCode::DEADLINE_EXCEEDED), kExitUnreachable);
  EXPECT_EQ(MapStatus(grpc::StatusCode::CANCELLED), kExitUnreachable);
  EXPECT_EQ(MapStatus(grpc::StatusCode::INVALID_ARGUMENT), kExitUsage);
  EXPECT_EQ(MapStatus(grpc::StatusCode::NOT_FOUND), kExitUsage);
  EXPECT_EQ(MapStatus(grpc::StatusCode::UNAUTHENTICATED), kExitUsage);
  EXPECT_EQ(MapStatus(grpc::StatusCode::FAILED_PRECONDITION), kExitFailed);
  EXPECT_EQ(MapStatus(grpc::StatusCode::INTERNAL), kExitFailed);
}

TEST(RenderPlan, ShowsStallsWarningsTheComparisonAndMetrics) {
  v1::Plan plan;
  auto* s = plan.add_steps();
  s->set_percent(100);
  s->mutable_hold()->set_seconds(60);
  auto* a = plan.mutable_analysis();
  a->mutable_window()->set_seconds(10);
  a->set_max_error_rate(0.05);
  a->set_warn_error_rate(0.01);
  a->mutable_max_p99()->set_nanos(200'000'000);
  a->mutable_warn_p99()->set_nanos(150'000'000);
  a->mutable_compare()->set_method(v1::COMPARE_METHOD_SEQUENTIAL);
  a->mutable_compare()->set_promote_early(true);
  auto* m = a->add_metrics();
  m->set_name("green_memory");
  m->set_prometheus("http://prom:9090");
  m->set_query("sum(rss)");
  m->set_max(2e9);
  m->set_warn_max(1.5e9);
  const std::string text = RenderPlan(plan);
  EXPECT_NE(text.find("stall: 3 requests waiting longer than the maximum P99"), std::string::npos)
      << text;
  EXPECT_NE(text.find("warn (no action): 5xx above 1.00%, P99 above 150ms"), std::string::npos)
      << text;
  EXPECT_NE(text.find("compare: sequential, alpha 0.01 (reverts at 100), errors and latency, "
                      "promotes early once 5xx is shown below 5.00%"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("metric green_memory: sum(rss) on http://prom:9090, max 2e+09, warn above "
                      "1.5e+09, every 10s (timeout 5s), pause after 4 failed queries in a row"),
            std::string::npos)
      << text;
}

TEST(RenderCutover, SaysWhenTheModulePredatesTheWaitingCounters) {
  auto c = SampleCutover();
  EXPECT_NE(RenderCutover(c).find("predates the waiting counters"), std::string::npos);
  c.mutable_green()->set_waits_counted(true);
  EXPECT_EQ(RenderCutover(c).find("predates the waiting counters"), std::string::npos);
}

TEST(RenderCutover, ShowsWhatTheJudgeSees) {
  auto c = SampleCutover();
  auto* m = c.mutable_rollout()->mutable_judged();
  m->set_waiting(12);
  m->set_stalled(4);
  m->set_compare_statistic(3.5);
  m->set_compare_bound(100);
  m->set_compare_new_errors(9);
  m->set_compare_expected_new_errors(4.2);
  c.mutable_rollout()->add_warnings("p99");
  const std::string text = RenderCutover(c);
  EXPECT_NE(text.find("waiting: 12 requests, 4 longer than the maximum P99"), std::string::npos)
      << text;
  EXPECT_NE(text.find("compare: errors 3.5 (9 new vs 4.2 expected), latency 0; reverts at 100"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("warnings: p99"), std::string::npos) << text;
}

}  // namespace
}  // namespace cutover::cli

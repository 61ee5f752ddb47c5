// conf/ against the real agent and CLI: the plans are ones cutoverctl
// accepts; every query of the Grafana dashboard and the Prometheus alerts
// parses (promtool) and reads only metrics cutover-agent exports, checked
// against a live scrape of the real agent after a real revert; the
// dashboard's panels and annotations use the data source it asks for.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "support/backend.hpp"
#include "support/http.hpp"
#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

const std::string kSource = CUTOVER_SOURCE_DIR;

TEST(ConfPlans, AreValidForCutoverctl) {
  for (const char* plan : {"conf/plans/conservative.yaml", "conf/plans/fast.yaml"}) {
    auto r = test::Run({CUTOVERCTL_BINARY, "preflight", "--offline", kSource + "/" + plan});
    EXPECT_EQ(r.exit_code, 0) << plan << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("100.00%"), std::string::npos) << r.out;  // ends on the new slot
  }
}

// The cutover_* names a PromQL expression reads (histogram series mapped
// back to their family).
std::set<std::string> MetricNamesIn(const std::string& expr) {
  std::set<std::string> names;
  static const std::regex kName(R"(\bcutover_[a-z_]+)");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it) {
    std::string name = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (name.ends_with(suffix) && name.find("_seconds") != std::string::npos)
        name.resize(name.size() - std::string(suffix).size());
    names.insert(name);
  }
  return names;
}

nlohmann::json Dashboard() {
  return nlohmann::json::parse(ReadFile(kSource + "/conf/grafana/cutover-dashboard.json"));
}

// Every PromQL expression of the dashboard (panels, then annotations).
std::vector<std::string> DashboardQueries() {
  std::vector<std::string> out;
  const auto dashboard = Dashboard();
  for (const auto& panel : dashboard.at("panels"))
    for (const auto& target : panel.at("targets")) out.push_back(target.at("expr"));
  for (const auto& annotation : dashboard.at("annotations").at("list"))
    out.push_back(annotation.at("expr"));
  return out;
}

std::set<std::string> MetricsTheConfQueries() {
  std::set<std::string> names;
  for (const auto& expr : DashboardQueries()) names.merge(MetricNamesIn(expr));
  const YAML::Node rules = YAML::LoadFile(kSource + "/conf/prometheus/cutover-alerts.yaml");
  for (const auto& group : rules["groups"])
    for (const auto& rule : group["rules"])
      names.merge(MetricNamesIn(rule["expr"].as<std::string>()));
  return names;
}

// Families in a Prometheus text exposition ("# TYPE name kind").
std::set<std::string> ExportedFamilies(const std::string& scrape) {
  std::set<std::string> families;
  std::istringstream lines(scrape);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string hash, type, name;
    if (words >> hash >> type >> name && hash == "#" && type == "TYPE") families.insert(name);
  }
  return families;
}

TEST(ConfMonitoring, DashboardQueriesParseAsPromQL) {
  // Grafana's variables as Grafana would expand them, then promtool's own
  // parser over every expression (a rules file of recording rules).
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  int n = 0;
  for (std::string expr : DashboardQueries()) {
    for (const auto& [from, to] : {std::pair{"$__rate_interval", "1m"}, std::pair{"$__range", "1h"},
                                   std::pair{"$__interval", "30s"}, std::pair{"$cutover", "app"}})
      for (auto at = expr.find(from); at != std::string::npos; at = expr.find(from))
        expr.replace(at, std::string(from).size(), to);
    nlohmann::json quoted = expr;
    rules += "      - record: dashboard:query" + std::to_string(++n) +
             "\n        expr: " + quoted.dump() + "\n";
  }
  TempDir dir("dashboard-promql");
  WriteFile(dir / "rules.yaml", rules);
  const auto r = test::Run({"promtool", "check", "rules", dir / "rules.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << rules;
  EXPECT_GE(n, 14);
}

TEST(ConfMonitoring, DashboardUsesTheDataSourceItAsksFor) {
  const auto dashboard = Dashboard();
  // One way to pick the data source: the `datasource` variable; no import
  // input that nothing uses.
  EXPECT_FALSE(dashboard.contains("__inputs")) << "an __inputs entry the panels do not use";
  bool variable = false;
  for (const auto& v : dashboard.at("templating").at("list"))
    variable = variable || (v.at("name") == "datasource" && v.at("type") == "datasource" &&
                            v.at("query") == "prometheus");
  EXPECT_TRUE(variable);
  const nlohmann::json expected = {{"type", "prometheus"}, {"uid", "${datasource}"}};
  for (const auto& panel : dashboard.at("panels")) {
    EXPECT_EQ(panel.at("datasource"), expected) << panel.at("title");
    for (const auto& target : panel.at("targets"))
      EXPECT_EQ(target.at("datasource"), expected) << panel.at("title");
  }
  for (const auto& annotation : dashboard.at("annotations").at("list"))
    EXPECT_EQ(annotation.at("datasource"), expected) << annotation.at("name");
}

TEST(ConfMonitoring, DashboardShowsFailuresFailoversWritesAndAnnotatesDecisions) {
  const auto queried = MetricsTheConfQueries();
  for (const char* metric : {"cutover_upstream_failures_total", "cutover_failovers_total",
                             "cutover_writes_total", "cutover_release_info"})
    EXPECT_TRUE(queried.contains(metric)) << metric;
  const auto dashboard = Dashboard();  // alive for the loop, not a temporary
  std::string annotations;
  for (const auto& a : dashboard.at("annotations").at("list"))
    annotations += a.at("expr").get<std::string>() + "\n";
  for (const std::string kind : {"step_advanced", "paused", "reverted"})
    EXPECT_NE(annotations.find("kind=\"" + kind + "\""), std::string::npos) << kind << "\n"
                                                                            << annotations;
}

TEST(ConfMonitoring, QueriesOnlyMetricsTheAgentExports) {
  const auto queried = MetricsTheConfQueries();
  ASSERT_GE(queried.size(), 6u);

  // A cutover whose green answers 500s, rolled out until the agent reverts
  // it: by then every family the dashboard and alerts read has a series.
  Backend blue("blue"), green("green");
  green.SetStatus(500);
  const int port = FreePort();
  Nginx nginx("upstream app_blue { server " + blue.address() + "; }\n" +
              "upstream app_green { server " + green.address() + "; }\n" +
              "upstream app { cutover blue=app_blue green=app_green; }\n" +
              "server { listen 127.0.0.1:" + std::to_string(port) +
              "; location / { proxy_pass http://app; } }\n");
  nginx.Start(port);

  TempDir dir("conf-agent");
  const int metrics_port = FreePort();
  const std::string socket = "unix:" + (dir / "agent.sock");
  Process agent({CUTOVER_AGENT_BINARY, "--state-file", nginx.state_path(), "--listen", socket,
                 "--journal", dir / "journal", "--metrics",
                 "127.0.0.1:" + std::to_string(metrics_port), "--tick", "100ms"},
                dir / "agent");
  ASSERT_TRUE(WaitFor([&] { return UnixSocketAnswers(dir / "agent.sock"); })) << agent.Stderr();

  WriteFile(dir / "plan.yaml",
            "steps:\n  - {percent: 50, hold: 1h}\n"
            "analysis: {window: 1s, min_requests: 5, max_error_rate: 5%}\n"
            "on_breach: revert\n");
  auto started = test::Run({CUTOVERCTL_BINARY, "--agent", socket, "rollout", "start", "app",
                            dir / "plan.yaml", "--release", "v1.3.0"});
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;

  HttpClient http;
  std::string scrape;
  const bool reverted = WaitFor([&] {
    for (int i = 0; i < 10; ++i) http.Get("http://127.0.0.1:" + std::to_string(port) + "/");
    scrape = http.Get("http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics").body;
    return scrape.find("cutover_reverts_total{cutover=\"app\"} 1") != std::string::npos;
  });
  ASSERT_TRUE(reverted) << scrape << agent.Stderr();

  const auto exported = ExportedFamilies(scrape);
  for (const auto& name : queried)
    EXPECT_TRUE(exported.contains(name)) << name << " is queried by conf/ but not exported";
  // The step as people count it, and the release of the slot that was rolled to.
  EXPECT_NE(scrape.find("cutover_rollout_step{cutover=\"app\"} 1"), std::string::npos) << scrape;
  EXPECT_NE(
      scrape.find("cutover_release_info{cutover=\"app\",release=\"v1.3.0\",slot=\"green\"} 1"),
      std::string::npos)
      << scrape;
}

}  // namespace
}  // namespace cutover::test

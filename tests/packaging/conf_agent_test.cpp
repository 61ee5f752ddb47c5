// conf/ against the real agent and CLI: the plans are ones cutoverctl
// accepts, and every metric the Grafana dashboard and the Prometheus alerts
// query is one cutover-agent exports, revert counter included.
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

std::set<std::string> MetricsTheConfQueries() {
  std::set<std::string> names;
  const auto dashboard =
      nlohmann::json::parse(ReadFile(kSource + "/conf/grafana/cutover-dashboard.json"));
  for (const auto& panel : dashboard.at("panels"))
    for (const auto& target : panel.at("targets"))
      names.merge(MetricNamesIn(target.at("expr").get<std::string>()));
  for (const auto& annotation : dashboard.at("annotations").at("list"))
    names.merge(MetricNamesIn(annotation.at("expr").get<std::string>()));
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
  auto started = test::Run(
      {CUTOVERCTL_BINARY, "--agent", socket, "rollout", "start", "app", dir / "plan.yaml"});
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
}

}  // namespace
}  // namespace cutover::test

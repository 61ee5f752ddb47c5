// The demo's load generator through real nginx with the cutover module: it
// must tell the slots apart, tally each weight it saw (by its epoch), and
// leave its writes in the slot that answered them. The demo's summary is only as true as this.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/demo_app.hpp"
#include "support/http.hpp"
#include "support/nginx.hpp"

namespace cutover::test {
namespace {

struct StepRow {
  std::string epoch, green_percent;
  std::uint64_t requests = 0, blue = 0, green = 0, blue_5xx = 0, green_5xx = 0, blue_writes = 0,
                green_writes = 0;
};

// The rows of the load's report table, header and footer left out.
std::vector<StepRow> ParseReport(const std::string& report) {
  std::vector<StepRow> rows;
  std::istringstream lines(report);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    StepRow r;
    in >> r.epoch;
    if (r.epoch.empty() || !std::isdigit(static_cast<unsigned char>(r.epoch[0]))) continue;
    in >> r.green_percent >> r.requests >> r.blue >> r.green >> r.blue_5xx >> r.green_5xx >>
        r.blue_writes >> r.green_writes;
    if (in) rows.push_back(r);
  }
  return rows;
}

std::size_t OrderCount(HttpClient& http, const DemoApp& app) {
  auto r = http.Get(app.Url("/orders?limit=1000"));
  EXPECT_EQ(r.status, 200);
  return nlohmann::json::parse(r.body).at("orders").size();
}

TEST(DemoLoad, TalliesEachSlotAndStepThroughTheModule) {
  TempDir dir("demo-load");
  const std::string blue_db = "sqlite:" + (dir / "blue.db");
  const std::string green_db = "sqlite:" + (dir / "green.db");
  for (const auto& db : {blue_db, green_db})
    ASSERT_EQ(RunDemoApp({"seed", "--db", db, "--orders", "3", "--customers", "10"}).exit_code, 0);
  DemoApp blue(dir, "blue", blue_db);
  DemoApp green(dir, "green", green_db);

  const int port = FreePort();
  Nginx nginx("upstream app_blue { server " + blue.Address() + "; }\n" +
              "upstream app_green { server " + green.Address() + "; }\n" +
              "upstream app { cutover blue=app_blue green=app_green weight=50; }\n" +
              "server {\n  listen 127.0.0.1:" + std::to_string(port) + ";\n" +
              "  location / {\n    proxy_pass http://app;\n" +
              "    add_header X-Cutover-Weight $cutover_weight always;\n" +
              "    add_header X-Cutover-Epoch $cutover_epoch always;\n  }\n}\n");
  nginx.Start(port);

  auto load = RunDemoApp({"load", "--url", "http://127.0.0.1:" + std::to_string(port), "--rate",
                          "200", "--duration", "2", "--write-share", "0.5", "--workers", "4",
                          "--events", dir / "events", "--report", dir / "report"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(ReadFile(dir / "report"), load.out);  // the same table, printed and kept

  const auto rows = ParseReport(load.out);
  ASSERT_EQ(rows.size(), 1u) << load.out;  // one weight all along: one row
  const StepRow& step = rows[0];
  EXPECT_EQ(step.green_percent, "50");
  EXPECT_EQ(load.out.rfind("epoch ", 0), 0u) << load.out;  // rows named by epoch, not "step"
  ASSERT_GT(step.requests, 100u);
  EXPECT_EQ(step.blue + step.green, step.requests);  // every answer named its slot
  EXPECT_GT(step.blue, step.requests / 4);
  EXPECT_GT(step.green, step.requests / 4);
  EXPECT_EQ(step.blue_5xx + step.green_5xx, 0u);
  // Exactly every other request was a POST, and each landed where it said.
  EXPECT_EQ(step.blue_writes + step.green_writes, step.requests / 2);
  HttpClient http;
  EXPECT_EQ(OrderCount(http, blue), 3 + step.blue_writes);
  EXPECT_EQ(OrderCount(http, green), 3 + step.green_writes);
  EXPECT_NE(load.out.find("no answer at all: 0"), std::string::npos) << load.out;

  // The weight was announced once, with the epoch and weight nginx reported:
  // the epoch the report's row is named by.
  const std::string events = ReadFile(dir / "events");
  EXPECT_NE(events.find(" weight=50\n"), std::string::npos) << events;
  EXPECT_NE(events.find(" epoch=" + step.epoch + " "), std::string::npos) << events;
  EXPECT_EQ(std::count(events.begin(), events.end(), '\n'), 1);
}

}  // namespace
}  // namespace cutover::test

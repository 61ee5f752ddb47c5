// The web view (GET / of cutover-agent --http) in headless Chromium against
// the real agent over TCP, with real nginx and backends: it loads the
// cutover, shows a revert live (its DOM follows the rollout and the event
// stream while green fails), puts user text on the page as text only, and
// acts through the JSON routes with the token it is given, showing the API's
// refusal without one; and, on the demo's stack with a sync running, the
// sync's panel. A screenshot of the reverted view is kept as
// build/test-artifacts/web-view.png.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "support/chromium.hpp"
#include "support/demo_site.hpp"
#include "support/http.hpp"
#include "support/postgres_suite.hpp"
#include "support/stack.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;

constexpr const char* kToken = "web-view-token";
constexpr const char* kApp = "[data-cutover=\"app\"]";

// A JavaScript string literal.
std::string Js(const std::string& s) { return json(s).dump(); }

// A fraction as the page shows it: 0.0521 -> "5.21%".
std::string Rate(double fraction) {
  char out[32];
  std::snprintf(out, sizeof out, "%.2f%%", fraction * 100);
  return out;
}

// The page in headless Chromium: how a test reads and drives it.
class WebViewPage {
 protected:
  explicit WebViewPage(std::function<std::string()> agent_log) : agent_log_(std::move(agent_log)) {}

  // The page at `url`, over TCP as an operator's browser reaches it.
  void OpenAt(const std::string& url) {
    browser_.Navigate(url);
    ASSERT_TRUE(browser_.WaitUntil(std::string("document.body.dataset.ready === 'true' && "
                                               "!!document.querySelector('") +
                                   kApp + "')"))
        << Diagnostics();
  }
  // textContent of the first match of `selector` inside the app's section.
  std::string Text(const std::string& selector) {
    const auto v =
        browser_.Evaluate("(document.querySelector(" + Js(std::string(kApp) + " " + selector) +
                          ") || {}).textContent");
    return v.is_string() ? v.get<std::string>() : "<no " + selector + ">";
  }
  bool TextIs(const std::string& selector, const std::string& text) {
    return browser_.WaitUntil("(document.querySelector(" + Js(std::string(kApp) + " " + selector) +
                              ") || {}).textContent === " + Js(text));
  }
  void Click(const std::string& selector) {
    browser_.Evaluate("document.querySelector(" + Js(selector) + ").click()");
  }
  void Type(const std::string& selector, const std::string& text) {
    browser_.Evaluate("document.querySelector(" + Js(selector) + ").focus()");
    browser_.InsertText(text);
  }
  std::string Diagnostics() {
    std::string out = "\npage text:\n";
    try {
      out += browser_.Evaluate("document.body.innerText").dump();
    } catch (const std::exception& e) {
      out += e.what();
    }
    out += "\npage reports:";
    for (const auto& r : browser_.Reports()) out += "\n  " + r;
    return out + "\nagent:\n" + agent_log_();
  }
  // Nothing the page did was blocked by its own policy or threw.
  void ExpectACleanPage() {
    for (const auto& r : browser_.Reports()) {
      EXPECT_EQ(r.find("Content Security Policy"), std::string::npos) << r;
      EXPECT_EQ(r.rfind("javascript exception", 0), std::string::npos) << r;
    }
  }

  std::function<std::string()> agent_log_;
  TempDir browser_dir_{"web-view"};
  Chromium browser_{browser_dir_};
};

class WebViewTest : public ::testing::Test, protected WebViewPage {
 protected:
  WebViewTest()
      : WebViewPage([this] { return stack_.AgentLog(); }),
        stack_({.token = kToken, .http = true}),
        unix_(stack_.http_socket()) {}

  // The API itself, over the unix socket (trusted): how the test sets the scene.
  json Post(const std::string& path, const std::string& body) {
    auto r = unix_.Post("http://localhost" + path, body);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json Get(const std::string& path) {
    auto r = unix_.Get("http://localhost" + path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // The newest event of `kind` in the journal.
  json Newest(const std::string& kind) {
    const json history = Get("/v1/cutovers/app/history?limit=50");
    for (const auto& e : history["events"])
      if (e["kind"] == kind) return e;
    return json();
  }
  void Open() { OpenAt(stack_.http_url("/")); }

  Stack stack_;
  HttpClient unix_;
};

TEST_F(WebViewTest, LoadsTheCutoverAndShowsARevertLive) {
  const std::string reason = "<img id=injected src=x onerror=\"window.pwned=1\"> by hand";
  Post("/v1/cutovers/app:setWeight", json{{"percent", 0}, {"reason", reason}}.dump());
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Text("[data-field=split]"), "blue 100% · green 0%");
  EXPECT_EQ(Text("[data-field=live]"), "blue");
  EXPECT_EQ(Text("[data-field=rollout-state]"), "none");
  EXPECT_EQ(Text("[data-field=upstreams]").rfind("blue app_blue · green app_green", 0), 0u);
  // A reason is text on the page, never markup.
  EXPECT_EQ(Text("tr[data-kind=weight_set] [data-col=reason]"), reason);
  EXPECT_EQ(browser_.Evaluate("document.getElementById('injected') === null && "
                              "window.pwned === undefined"),
            true);

  Load load(stack_.url(), 300, std::chrono::seconds(50), 15000);
  Post("/v1/cutovers/app:startRollout", R"({"release": "v2-web", "plan": {
      "steps": [{"percent": 50, "hold": "3600s"}, {"percent": 100, "hold": "0s"}],
      "analysis": {"window": "1s", "min_requests": "20", "max_error_rate": 0.05,
                   "warn_error_rate": 0.02, "max_p99": "2s"}}})");
  // The poll and the stream bring the rollout in without a reload.
  EXPECT_TRUE(TextIs("[data-field=step]", "step 1/2 · 50%")) << Text("[data-field=step]");
  EXPECT_TRUE(TextIs("[data-field=split]", "blue 50% · green 50%")) << Diagnostics();
  EXPECT_EQ(Text("[data-field=rollout-state]"), "running");
  EXPECT_EQ(Text("[data-field=release]"), "release v2-web");
  EXPECT_EQ(Text("[data-field=hold-text]").rfind("hold ", 0), 0u) << Text("[data-field=hold-text]");
  EXPECT_EQ(Text("[data-field=thresholds]"),
            "thresholds for green: max error rate 5.00% · warn 2.00% · max P99 2000 ms · window 1s "
            "· min 20 requests");
  EXPECT_TRUE(browser_.WaitUntil("/ in 1s/.test(document.querySelector('" + std::string(kApp) +
                                 " [data-field=judged]').textContent)"))
      << Text("[data-field=judged]");
  ASSERT_TRUE(WaitFor([&] { return load.green() >= 100; }));
  // Green's own rate, measured by the module, reaches its row.
  EXPECT_TRUE(
      browser_.WaitUntil("parseFloat((document.querySelector('" + std::string(kApp) +
                         " tr[data-slot=green] [data-metric=rate]') || {}).textContent) > 0"))
      << Diagnostics();

  stack_.green().SetStatus(500);
  ASSERT_TRUE(browser_.WaitUntil(std::string("!!document.querySelector('") + kApp +
                                 " tr[data-kind=reverted]')"))
      << Diagnostics();
  EXPECT_TRUE(TextIs("[data-field=rollout-state]", "reverted"));
  EXPECT_TRUE(TextIs("[data-field=split]", "blue 100% · green 0%"));
  load.Stop();

  // The log's row has the event's own numbers, beside the plan's thresholds.
  const json reverted = Newest("reverted");
  ASSERT_TRUE(reverted.is_object());
  const std::string row = "tr[data-sequence=\"" + reverted["sequence"].get<std::string>() + "\"]";
  EXPECT_EQ(Text(row + " [data-col=kind]"), "reverted");
  const std::string numbers = Text(row + " [data-col=numbers]");
  const double error_rate = reverted["measurement"]["error_rate"];
  EXPECT_GT(error_rate, 0.05);
  EXPECT_EQ(numbers.rfind("error " + Rate(error_rate) + " (max 5.00%, warn 2.00%)", 0), 0u)
      << numbers;
  EXPECT_NE(numbers.find(" requests in 1s (min 20)"), std::string::npos) << numbers;
  EXPECT_EQ(Text(row + " td:nth-child(4)"), "1");  // step 1 of 2, numbered from 1
  EXPECT_EQ(Text(row + " td:nth-child(5)"), "50% → 0%");
  EXPECT_EQ(Text(row + " [data-col=reason]"), reverted["reason"].get<std::string>());
  EXPECT_TRUE(
      !!browser_
            .Evaluate(std::string("!!document.querySelector('") + kApp + " tr[data-kind=breach]')")
            .get<bool>());
  // No action applies to an ended rollout.
  EXPECT_EQ(browser_.Evaluate(std::string("[...document.querySelectorAll('") + kApp +
                              " [data-action]')].every((b) => b.disabled)"),
            true);

  const std::string shot = std::string(CUTOVER_BINARY_DIR) + "/test-artifacts/web-view.png";
  browser_.Screenshot(shot);
  EXPECT_EQ(ReadFile(shot).substr(0, 8), "\x89PNG\r\n\x1a\n");
  ExpectACleanPage();
}

TEST_F(WebViewTest, ActsWithItsTokenAndShowsTheRefusalWithout) {
  Post("/v1/cutovers/app:startRollout", R"({"plan": {
      "steps": [{"percent": 10, "hold": "3600s"}, {"percent": 100, "hold": "3600s"}],
      "analysis": {"window": "10s", "min_requests": "1000000", "max_error_rate": 0.05}}})");
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(TextIs("[data-field=rollout-state]", "running")) << Diagnostics();
  const std::string pause = std::string(kApp) + " [data-action=pause]";
  EXPECT_EQ(browser_.Evaluate("document.querySelector(" + Js(pause) + ").disabled"), false);

  // Without a token, over TCP: refused, and the page says what the API said.
  HttpClient tcp;
  const auto refused = tcp.Post(stack_.http_url("/v1/cutovers/app:pauseRollout"), "{}");
  ASSERT_EQ(refused.status, 401) << refused.body;
  const std::string message = json::parse(refused.body)["error"]["message"];
  Click(pause);
  EXPECT_TRUE(
      TextIs("[data-field=message]", "pause refused: UNAUTHENTICATED (HTTP 401): " + message))
      << Text("[data-field=message]");
  EXPECT_EQ(
      browser_.Evaluate("document.querySelector(" +
                        Js(std::string(kApp) + " [data-field=message]") + ").getAttribute('role')"),
      "alert");
  EXPECT_EQ(Get("/v1/cutovers/app")["cutover"]["rollout"]["state"], "ROLLOUT_STATE_RUNNING");

  // With the token typed into the page: kept for the tab, sent as the bearer.
  Type("#token", kToken);
  Click("#token-save");
  EXPECT_TRUE(browser_.WaitUntil("sessionStorage.getItem('cutover.token') === " + Js(kToken)));
  EXPECT_EQ(browser_.Evaluate("document.getElementById('token').value"), "");
  EXPECT_EQ(browser_.Evaluate("document.getElementById('token-state').textContent"),
            "token set for this tab");
  Type(std::string(kApp) + " [data-field=reason]", "held from the web view");
  Click(pause);
  EXPECT_TRUE(TextIs("[data-field=rollout-state]", "paused")) << Text("[data-field=message]");
  EXPECT_TRUE(TextIs("[data-field=message]", "pause: done, rollout paused"));
  EXPECT_EQ(Get("/v1/cutovers/app")["cutover"]["rollout"]["state"], "ROLLOUT_STATE_PAUSED");
  const json paused = Newest("paused");
  EXPECT_EQ(paused["reason"], "held from the web view");
  EXPECT_EQ(paused["actor"].get<std::string>().rfind("ipv4:127.0.0.1:", 0), 0u) << paused;
  // The live log has it, with the reason typed.
  EXPECT_TRUE(TextIs("tr[data-kind=paused] [data-col=reason]", "held from the web view"));

  // The tab keeps its token across a reload; abort from the reloaded page.
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(browser_.Evaluate("document.getElementById('token-state').textContent"),
            "token set for this tab");
  ASSERT_TRUE(TextIs("[data-field=rollout-state]", "paused"));
  Click(std::string(kApp) + " [data-action=abort]");
  EXPECT_TRUE(TextIs("[data-field=rollout-state]", "aborted")) << Text("[data-field=message]");
  EXPECT_TRUE(TextIs("[data-field=split]", "blue 100% · green 0%"));
  EXPECT_EQ(Get("/v1/cutovers/app")["cutover"]["rollout"]["state"], "ROLLOUT_STATE_ABORTED");
  ExpectACleanPage();
}

// The demo's stack with a sync running between its SQLite and PostgreSQL.
class WebViewSyncTest : public LogicalPostgresSuite, protected WebViewPage {
 protected:
  WebViewSyncTest()
      : WebViewPage([this] { return site_ ? site_->agent().Log() : std::string(); }) {}
  void SetUp() override {
    DemoSiteOptions options;
    options.http = true;
    options.token = kToken;
    site_ = std::make_unique<DemoSite>(pg(), "web_view_sync", options);
  }
  void TearDown() override { site_.reset(); }

  std::unique_ptr<DemoSite> site_;
};

TEST_F(WebViewSyncTest, ShowsTheSyncsStateAndEachDirectionsCounters) {
  HttpClient api(site_->http_socket());
  const json spec = {
      {"spec",
       {{"blue", site_->blue_dsn()}, {"green", site_->green_dsn()}, {"tables", {"orders"}}}}};
  const auto started = api.Post("http://localhost/v1/cutovers/app:startSync", spec.dump(),
                                {{"Content-Type", "application/json"}});
  ASSERT_EQ(started.status, 200) << started.body << site_->agent().Log();
  ASSERT_NO_FATAL_FAILURE(OpenAt(site_->http_url("/")));
  EXPECT_TRUE(TextIs("[data-field=sync-state]", "running")) << Diagnostics();
  EXPECT_EQ(Text("[data-field=sync-tables]"), "orders");
  EXPECT_EQ(Text("[data-field=sync-conflicts]"), "0");

  // An order on green reaches blue; the page follows the counters.
  HttpClient http;
  ASSERT_EQ(http.Post(site_->green().Url("/orders"),
                      R"({"customer_id": 4, "item": "teapot", "quantity": 1})",
                      {{"Content-Type", "application/json"}})
                .status,
            201);
  const std::string g2b = "tr[data-direction=green_to_blue] ";
  EXPECT_TRUE(TextIs(g2b + "[data-metric=applied]", "1")) << Diagnostics();
  EXPECT_TRUE(TextIs(g2b + "[data-metric=pending]", "0"));
  EXPECT_EQ(Text("tr[data-direction=blue_to_green] [data-metric=applied]"), "0");
  EXPECT_EQ(Text("tr[data-direction=green_to_blue] th"), "green → blue");
  const json sync = json::parse(api.Get("http://localhost/v1/cutovers/app/sync").body)["sync"];
  EXPECT_EQ(Text(g2b + "[data-metric=position]"), sync["green_to_blue"]["position"]) << sync;
  EXPECT_EQ(Text(g2b + "[data-metric=lag]").substr(Text(g2b + "[data-metric=lag]").size() - 3),
            " ms");

  // Stopped: the panel says so, with why.
  const auto stopped = api.Post("http://localhost/v1/cutovers/app:stopSync",
                                R"({"reason": "done"})", {{"Content-Type", "application/json"}});
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_TRUE(TextIs("[data-field=sync-state]", "stopped")) << Diagnostics();
  EXPECT_EQ(Text("[data-field=sync-reason]"),
            json::parse(stopped.body)["sync"]["reason"].get<std::string>());
  ExpectACleanPage();
}

}  // namespace
}  // namespace cutover::test

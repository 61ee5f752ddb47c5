// The web view's page, served through the real Router and HttpServer on a
// loopback port and fetched with libcurl: its type, its security headers
// (a Content-Security-Policy whose hashes are those of the page's own inline
// script and style, checked with the openssl tool), and what the page must
// not contain. tests/integration/web_view_test.cpp runs it in Chromium.
#include "agent/http/web.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "agent/http/server.hpp"
#include "support/http.hpp"
#include "support/process.hpp"

namespace cutover::agent::http {
namespace {

// The text between the page's only <tag> and </tag>.
std::string Inline(const std::string& page, const std::string& tag) {
  const auto open = page.find("<" + tag + ">");
  const auto close = page.find("</" + tag + ">");
  if (open == std::string::npos || close == std::string::npos) return "";
  const auto start = open + tag.size() + 2;
  return page.substr(start, close - start);
}

// 'sha256-BASE64' of `text`, by the openssl tool.
std::string OpensslHash(const std::string& text) {
  auto r = test::Run({"sh", "-c", "openssl dgst -sha256 -binary | openssl base64 -A"}, {}, text);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return "'sha256-" + r.out + "'";
}

class WebPageTest : public ::testing::Test {
 protected:
  WebPageTest() {
    AddWebRoutes(router_);
    server_ = std::make_unique<HttpServer>(router_, HttpServerOptions{});
    server_->Listen("127.0.0.1:" + std::to_string(port_));
    server_->Start();
    EXPECT_TRUE(test::WaitFor([&] { return test::TcpPortAnswers(port_); }));
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  Router router_;
  int port_ = test::FreePort();
  std::unique_ptr<HttpServer> server_;
  test::HttpClient client_;
};

TEST_F(WebPageTest, ServesThePageAtRootAndUiWithItsSecurityHeaders) {
  for (const std::string path : {"/", "/ui"}) {
    SCOPED_TRACE(path);
    auto r = client_.Get(Url(path));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.body, std::string(WebPage()));
    EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.Header("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.Header("Cache-Control"), "no-store");

    // Scripts and styles: exactly the page's own inline ones, by hash.
    const std::string csp = r.Header("Content-Security-Policy");
    EXPECT_EQ(csp, WebPageContentSecurityPolicy());
    const std::string script = Inline(r.body, "script");
    const std::string style = Inline(r.body, "style");
    ASSERT_GT(script.size(), 1000u);
    ASSERT_GT(style.size(), 100u);
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src " + OpensslHash(script) + ";"), std::string::npos) << csp;
    EXPECT_NE(csp.find("style-src " + OpensslHash(style) + ";"), std::string::npos) << csp;
    EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  }
  // The JSON routes' 404 is untouched for anything else.
  auto other = client_.Get(Url("/index.html"));
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.Header("Content-Type"), "application/json");
}

TEST(WebPage, ParsesNothingItIsSentAsHtmlAndLoadsNothingFromElsewhere) {
  const std::string page(WebPage());
  // What the API says (reasons are user text) only ever becomes text nodes.
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                           "eval(", "new Function", "setAttribute(\"style\""})
    EXPECT_EQ(page.find(sink), std::string::npos) << sink;
  for (const char* external : {"<script src", "<link", "http://", "https://", "@import"})
    EXPECT_EQ(page.find(external), std::string::npos) << external;
}

TEST(WebPage, ListensForEveryEventKindTheJournalHas) {
  // EventSource hands an SSE "event: KIND" only to a listener of that kind:
  // a kind missing from the page's list would never reach its log.
  const std::string kinds =
      test::ReadFile(std::string(CUTOVER_SOURCE_DIR) + "/agent/core/event_kinds.hpp");
  const std::string page(WebPage());
  const auto list_start = page.find("const KINDS = [");
  ASSERT_NE(list_start, std::string::npos);
  const std::string list = page.substr(list_start, page.find("];", list_start) - list_start);
  const std::regex constant("char k[A-Za-z]+\\[\\] = \"([a-z_]+)\";");
  int found = 0;
  for (std::sregex_iterator it(kinds.begin(), kinds.end(), constant), end; it != end; ++it) {
    ++found;
    EXPECT_NE(list.find("\"" + (*it)[1].str() + "\""), std::string::npos) << (*it)[1];
  }
  EXPECT_GE(found, 15);
}

}  // namespace
}  // namespace cutover::agent::http

#include "agent/core/url.hpp"

#include <gtest/gtest.h>

namespace cutover::agent {
namespace {

TEST(SplitUrl, TakesHttpAndHttpsApart) {
  auto u = SplitUrl("HTTPS://user:pw@[::1]:8443/a/b?x=1&y#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->userinfo, "user:pw");
  EXPECT_EQ(u->authority, "[::1]:8443");
  EXPECT_EQ(u->path, "/a/b");
  EXPECT_EQ(u->query, "x=1&y");
  EXPECT_EQ(u->fragment, "frag");
  EXPECT_FALSE(SplitUrl("ftp://host/"));
  EXPECT_FALSE(SplitUrl("http:///path"));
  EXPECT_FALSE(SplitUrl("host:80/path"));
}

TEST(HttpUrlProblem, SaysWhatIsWrongWithoutQuotingTheUrl) {
  EXPECT_FALSE(HttpUrlProblem("http://127.0.0.1:8000/health"));
  EXPECT_EQ(HttpUrlProblem(""), "must not be empty");
  EXPECT_EQ(HttpUrlProblem("http://a b/"), "must not contain spaces or control characters");
  EXPECT_EQ(HttpUrlProblem("gopher://secret-token@x/"),
            "must be an http:// or https:// URL with a host");
}

TEST(RedactUrl, MasksThePasswordAndEveryQueryValue) {
  EXPECT_EQ(RedactUrl("http://10.0.0.2:8000/health"), "http://10.0.0.2:8000/health");
  EXPECT_EQ(RedactUrl("https://ops:s3cret@h/x?token=abc&v=2&flag"),
            "https://ops:***@h/x?token=***&v=***&flag");
  EXPECT_EQ(RedactUrl("https://ops@h/"), "https://ops@h/");
  EXPECT_EQ(RedactUrl("weird://s3cret"), "weird://***");
}

TEST(RedactWebhookUrl, KeepsOnlySchemeAndAuthority) {
  EXPECT_EQ(RedactWebhookUrl("https://hooks.slack.com/services/T000/B000/XXXX"),
            "https://hooks.slack.com/***");
  EXPECT_EQ(RedactWebhookUrl("http://127.0.0.1:9000/"), "http://127.0.0.1:9000/");
  EXPECT_EQ(RedactWebhookUrl("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
  EXPECT_EQ(RedactWebhookUrl("http://u:p@h"), "http://h/***");
  EXPECT_EQ(RedactWebhookUrl("http://h/?k=v"), "http://h/***");
}

TEST(PercentDecode, DecodesWhatItCanAndKeepsTheRest) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
}

}  // namespace
}  // namespace cutover::agent

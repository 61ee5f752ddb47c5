// Bad directives fail `nginx -t` with nginx's words, file and line.
#include <gtest/gtest.h>

#include <regex>

#include "module_fixture.hpp"

namespace cutover::test {
namespace {

// ---------------------------------------------------------------- bad directives

struct BadConfig {
  std::string name;
  std::string http_body;
  std::string message;
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

class BadDirectiveTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadDirectiveTest, FailsNginxDashTWithFileAndLine) {
  const BadConfig& c = GetParam();
  Nginx nginx(c.http_body, 1);
  auto r = nginx.Test();
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("[emerg]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected: " << c.message << "\n" << r.err;
  // nginx names the file and line: "... in /path/nginx.conf:NN"
  EXPECT_TRUE(std::regex_search(r.err, std::regex("nginx\\.conf:[0-9]+"))) << r.err;
  EXPECT_FALSE(FileExists(nginx.state_path())) << "a failed test must not create the state file";
}

const std::string kSlots =
    "  upstream b { server 127.0.0.1:1; }\n  upstream g { server 127.0.0.1:2; }\n";

INSTANTIATE_TEST_SUITE_P(
    Module, BadDirectiveTest,
    ::testing::Values(
        BadConfig{"UnknownUpstream", kSlots + "  upstream app { cutover blue=b green=nope; }\n",
                  "unknown upstream \"nope\""},
        BadConfig{"WeightAbove100",
                  kSlots + "  upstream app { cutover blue=b green=g weight=101; }\n",
                  "invalid weight \"101\""},
        BadConfig{"NegativeWeight",
                  kSlots + "  upstream app { cutover blue=b green=g weight=-1; }\n",
                  "invalid weight \"-1\""},
        BadConfig{"ThreeDecimals",
                  kSlots + "  upstream app { cutover blue=b green=g weight=1.234; }\n",
                  "invalid weight \"1.234\""},
        BadConfig{"SameUpstreamTwice", kSlots + "  upstream app { cutover blue=b green=b; }\n",
                  "blue= and green= name the same upstream \"b\""},
        BadConfig{"SameUpstreamTwiceInAnotherCase",
                  kSlots + "  upstream app { cutover blue=b green=B; }\n",
                  "blue= and green= name the same upstream \"b\""},
        BadConfig{"CutoverAsSlot",
                  kSlots + "  upstream inner { cutover blue=b green=g; }\n"
                           "  upstream app { cutover blue=inner green=g; }\n",
                  "upstream \"inner\" is itself a cutover and cannot be a slot"},
        BadConfig{"UnknownParameter",
                  kSlots + "  upstream app { cutover blue=b green=g colour=red; }\n",
                  "invalid parameter \"colour=red\""},
        BadConfig{"MissingGreen", kSlots + "  upstream app { cutover blue=b; }\n",
                  "\"cutover\" needs both blue= and green="},
        BadConfig{"BadFailover",
                  kSlots + "  upstream app { cutover blue=b green=g failover=maybe; }\n",
                  "invalid value \"failover=maybe\""},
        BadConfig{"ServersInside",
                  kSlots + "  upstream app { server 127.0.0.1:3; cutover blue=b green=g; }\n",
                  "cannot have \"server\" directives"},
        BadConfig{"ServersAfter",
                  kSlots + "  upstream app { cutover blue=b green=g; server 127.0.0.1:3; }\n",
                  "cannot have \"server\" directives"},
        BadConfig{"DuplicateCutover",
                  kSlots + "  upstream app { cutover blue=b green=g; cutover blue=b green=g; }\n",
                  "\"cutover\" directive is duplicate"},
        BadConfig{"CutoverOutsideUpstream", kSlots + "  server { cutover blue=b green=g; }\n",
                  "\"cutover\" directive is not allowed here"},
        BadConfig{"BadHeaderName", kSlots + "  cutover_header \"X Bad\";\n",
                  "invalid header name \"X Bad\""}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace cutover::test

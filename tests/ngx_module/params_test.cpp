// The `cutover` directive's parameters, parsed without nginx
// (ngx_module/ngx_http_cutover_params.hpp): what nginx -t then reports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ngx_http_cutover_params.hpp"

namespace cutover::module {
namespace {

struct Parsed {
  bool ok;
  std::string error;
  CutoverParams params;
};

Parsed Parse(const std::vector<std::string>& args) {
  Parsed p{true, "", {}};
  for (const auto& a : args)
    if (!p.params.Add(a)) return {false, p.params.error(), p.params};
  if (!p.params.Finish()) return {false, p.params.error(), p.params};
  return p;
}

// The views point into `args`: keep them alive.
TEST(CutoverParams, ReadsEveryParameter) {
  const std::vector<std::string> args = {"blue=app_blue",   "green=app_green",    "weight=12.5",
                                         "key=$cookie_uid", "force=$http_x_slot", "failover=off"};
  Parsed p = Parse(args);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.params.blue(), "app_blue");
  EXPECT_EQ(p.params.green(), "app_green");
  EXPECT_EQ(p.params.weight_bp(), 1250u);
  EXPECT_TRUE(p.params.has_key());
  EXPECT_EQ(p.params.key(), "$cookie_uid");
  EXPECT_EQ(p.params.force(), "$http_x_slot");
  EXPECT_FALSE(p.params.failover());
}

TEST(CutoverParams, DefaultsAreAllBlueWithFailover) {
  const std::vector<std::string> args = {"green=g", "blue=b"};
  Parsed p = Parse(args);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.params.weight_bp(), 0u);
  EXPECT_TRUE(p.params.failover());
  EXPECT_FALSE(p.params.has_key());
  EXPECT_FALSE(p.params.has_force());
}

TEST(CutoverParams, RefusesInNginxsWords) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"blue=b", "green=g", "weight=101"},
       "invalid weight \"101\": a percentage from 0 to 100 with at most two decimals; the value "
       "is above 100"},
      {{"blue=b", "green=g", "weight=5%"}, "invalid weight \"5%\""},
      {{"blue=b", "green=g", "weight="}, "invalid weight \"\""},
      {{"blue=b", "blue=c"}, "duplicate parameter \"blue=c\""},
      {{"blue="}, "invalid upstream name in \"blue=\""},
      {{"blue=" + std::string(64, 'x')}, "invalid upstream name in"},
      {{"blue=b", "green=g", "colour=red"}, "invalid parameter \"colour=red\""},
      {{"blue=b", "green=g", "failover=ON"},
       "invalid value \"failover=ON\": failover= takes on or off"},
      {{"blue=b"}, "\"cutover\" needs both blue= and green="},
      {{"blue=App", "green=aPP"},
       "blue= and green= name the same upstream \"App\": a cutover needs two"},
  };
  for (const Case& c : cases) {
    Parsed p = Parse(c.args);
    EXPECT_FALSE(p.ok) << c.args.back();
    EXPECT_EQ(p.error.rfind(c.error, 0), 0u) << "got: " << p.error;
  }
}

TEST(CutoverParams, AHugeArgumentIsQuotedShortened) {
  const std::string huge = "x" + std::string(100000, 'y');
  Parsed p = Parse({huge});
  EXPECT_FALSE(p.ok);
  EXPECT_LT(p.error.size(), 320u);
  EXPECT_EQ(p.error.rfind("invalid parameter \"xyyy", 0), 0u);
}

}  // namespace
}  // namespace cutover::module

// Several passes of one request through a cutover (auth_request, mirror,
// error_page re-passes): one decision per request, one interleave step.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "module_fixture.hpp"

namespace cutover::test {
namespace {

// At 50%, an auth_request to the same cutover used to take every other
// interleave step, so each client request landed on the same slot: 200/200
// green. Each request now decides once: its subrequest and itself go to one
// slot, and client traffic splits 50/50.
TEST_F(ModuleTest, ASubrequestTakesItsRequestsSlotAndTheSplitStaysExact) {
  StartNginx({.weight = "50",
              .location_extra = "auth_request /auth;",
              .server_extra = "    location = /auth { internal; proxy_pass http://app; "
                              "proxy_pass_request_body off; proxy_set_header Content-Length \"\"; "
                              "}\n"});
  const int n = 200;
  Tally t = Send(n);
  EXPECT_EQ(t.by_status[200], n);
  EXPECT_LE(std::abs(t.by_slot["green"] - n / 2), kWorkers) << "green " << t.by_slot["green"];
  // Every request made two passes on one slot: blue's backends saw twice
  // blue's client requests, green's twice green's.
  EXPECT_EQ(green_->requests(), 2u * t.by_slot["green"]);
  EXPECT_EQ(blue1_->requests() + blue2_->requests(), 2u * t.by_slot["blue"]);
}

// At 1%, client traffic gets 1% (not 0% or 2% as when the auth pass took
// every other interleave step).
TEST_F(ModuleTest, AtOnePercentASubrequestDoesNotSkewTheClientSplit) {
  StartNginx({.weight = "1",
              .location_extra = "auth_request /auth;",
              .server_extra = "    location = /auth { internal; proxy_pass http://app; }\n"});
  const int n = 400;
  Tally t = Send(n);
  EXPECT_EQ(t.by_status[200], n);
  EXPECT_LE(std::abs(t.by_slot["green"] - n / 100), kWorkers) << "green " << t.by_slot["green"];
  EXPECT_EQ(green_->requests(), 2u * t.by_slot["green"]);
}

// An error_page re-pass without force= goes back to the slot the request was
// given, not to the interleave's next pick: green answers 404, error_page
// sends the request through the cutover again, and it must meet green again
// (before, it met blue and the client saw blue's 200).
TEST_F(ModuleTest, AnErrorPageRePassKeepsTheRequestsSlot) {
  green_->SetStatus(404);
  StartNginx({.weight = "50",
              .location_extra = "proxy_intercept_errors on; error_page 404 = @again;",
              .server_extra = "    location @again { proxy_pass http://app; }\n"});
  const int n = 100;
  int not_found = 0, ok = 0;
  for (int i = 0; i < n; ++i) {
    HttpClient c;
    auto r = c.Get(Url());
    if (r.status == 404) {
      ++not_found;
      EXPECT_EQ(r.Header("X-Backend-Server"), "green");
    } else {
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.Header("X-Backend-Server"), "blue");
      ++ok;
    }
  }
  EXPECT_LE(std::abs(not_found - n / 2), kWorkers) << not_found << " requests met green";
  EXPECT_EQ(green_->requests(), 2u * not_found) << "both passes of a green request met green";
  EXPECT_EQ(blue1_->requests() + blue2_->requests(), static_cast<std::uint64_t>(ok));
}

}  // namespace
}  // namespace cutover::test

// The routes come from the proto's (cutover.v1.http) options: every RPC has
// one, and each maps onto its Api call.
#include "agent/http/api_routes.hpp"

#include <gtest/gtest.h>

#include "agent/journal/file_journal.hpp"
#include "cutover/v1/cutover.pb.h"
#include "support/agent.hpp"

namespace cutover::agent::http {
namespace {

TEST(ApiRoutes, EveryRpcHasItsDocumentedRoutes) {
  EXPECT_EQ(ApiRoutes(), (std::vector<std::string>{
                             "GET /v1/cutovers -> ListCutovers",
                             "GET /v1/cutovers/{cutover} -> GetStatus",
                             "POST /v1/cutovers/{cutover}:setWeight -> SetWeight",
                             "POST /v1/cutovers/{cutover}:startRollout -> StartRollout",
                             "POST /v1/cutovers/{cutover}:pauseRollout -> PauseRollout",
                             "POST /v1/cutovers/{cutover}:resumeRollout -> ResumeRollout",
                             "POST /v1/cutovers/{cutover}:promoteRollout -> PromoteRollout",
                             "POST /v1/cutovers/{cutover}:abortRollout -> AbortRollout",
                             "GET /v1/cutovers/{cutover}/events -> WatchEvents",
                             "GET /v1/events -> WatchEvents",
                             "GET /v1/cutovers/{cutover}/history -> GetHistory",
                             "GET /v1/history -> GetHistory",
                             "POST /v1/preflight -> Preflight",
                             "POST /v1/cutovers/{cutover}:preflight -> Preflight",
                             "POST /v1/cutovers/{cutover}:retryRollout -> RetryRollout",
                             "POST /v1/cutovers/{cutover}:setPeerState -> SetPeerState",
                             "POST /v1/cutovers/{cutover}:startSync -> StartSync",
                             "GET /v1/cutovers/{cutover}/sync -> GetSync",
                             "POST /v1/cutovers/{cutover}:stopSync -> StopSync",
                         }));
}

class ApiRoutesOnAController : public ::testing::Test {
 protected:
  ApiRoutesOnAController() : journal_(dir_ / "journal") {
    Controller::Dependencies deps;
    deps.state_path = test::MakeAppStateFile(dir_);
    deps.journal = &journal_;
    deps.clock = &clock_;
    deps.gate_factory = DefaultGateFactory();
    deps.new_rollout_id = [] { return std::string("r1"); };
    controller_ = std::make_unique<Controller>(deps, Controller::Options{});
    api_ = std::make_unique<Api>(*controller_, Authorizer("token"));
    unserved_ = AddApiRoutes(router_, *api_);
  }

  HttpResponse Call(std::string method, std::string path, std::string body = "",
                    bool local = true) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.body = std::move(body);
    r.caller.local = local;
    r.caller.peer = local ? "unix:/x" : "ipv4:127.0.0.1:1";
    return router_.Dispatch(r);
  }

  test::TempDir dir_{"api-routes"};
  FileJournal journal_;
  FakeClock clock_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<Api> api_;
  Router router_;
  std::vector<std::string> unserved_;
};

TEST_F(ApiRoutesOnAController, RoutesEveryBindingOntoTheApi) {
  // A new RPC needs its (cutover.v1.http) option and its line in api_routes.cpp.
  EXPECT_EQ(unserved_, std::vector<std::string>{});
  EXPECT_EQ(router_.Describe().size(), ApiRoutes().size());
  auto list = Call("GET", "/v1/cutovers");
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.body.find("\"name\":\"app\""), std::string::npos) << list.body;
  auto set = Call("POST", "/v1/cutovers/app:setWeight", R"({"percent": 20})");
  EXPECT_EQ(set.status, 200) << set.body;
  EXPECT_NE(set.body.find("\"green_percent\":20"), std::string::npos) << set.body;
  // The Authorizer decides, as for gRPC: a TCP caller without the token is refused.
  auto refused = Call("POST", "/v1/cutovers/app:setWeight", R"({"percent": 30})", false);
  EXPECT_EQ(refused.status, 401) << refused.body;
  auto stream = Call("GET", "/v1/events");
  EXPECT_EQ(stream.content_type, "text/event-stream");
  EXPECT_TRUE(stream.stream);
}

}  // namespace
}  // namespace cutover::agent::http

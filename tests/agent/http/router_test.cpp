#include "agent/http/router.hpp"

#include <gtest/gtest.h>

#include "agent/core/validation.hpp"
#include "agent/http/status.hpp"

namespace cutover::agent::http {
namespace {

TEST(PathTemplate, MatchesSegmentsVariablesAndAVerb) {
  PathTemplate t("/v1/cutovers/{cutover}:setWeight");
  EXPECT_EQ(t.variables(), std::vector<std::string>{"cutover"});
  auto m = t.Match("/v1/cutovers/app:setWeight");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("cutover"), "app");
  EXPECT_EQ(t.Match("/v1/cutovers/my%20app:setWeight")->at("cutover"), "my app");
  EXPECT_FALSE(t.Match("/v1/cutovers/app"));
  EXPECT_FALSE(t.Match("/v1/cutovers/app:pauseRollout"));
  EXPECT_FALSE(t.Match("/v1/cutovers/:setWeight"));
  EXPECT_FALSE(t.Match("/v1/cutovers/app/x:setWeight"));

  PathTemplate get("/v1/cutovers/{cutover}");
  EXPECT_EQ(get.Match("/v1/cutovers/app")->at("cutover"), "app");
  EXPECT_FALSE(get.Match("/v1/cutovers/app:setWeight"));  // a verb this route does not have
  EXPECT_FALSE(get.Match("/v1/cutovers"));
  EXPECT_TRUE(PathTemplate("/v1/cutovers").Match("/v1/cutovers"));
  EXPECT_TRUE(PathTemplate("/v1/cutovers/{cutover}/history").Match("/v1/cutovers/a/history"));
  // The root, and literal file names: what a web view's page and assets need.
  EXPECT_TRUE(PathTemplate("/").Match("/"));
  EXPECT_FALSE(PathTemplate("/").Match("/v1"));
  EXPECT_FALSE(PathTemplate("/ui/app.js").Match("/"));
  EXPECT_TRUE(PathTemplate("/ui/app.js").Match("/ui/app.js"));
}

TEST(PathTemplate, RefusesWhatItCannotServe) {
  for (const char* bad : {"v1/x", "/v1//x", "/v1/{a.b}", "/v1/x{y}", "/v1/{**}", "/v1/x:"})
    EXPECT_THROW(PathTemplate{bad}, std::invalid_argument) << bad;
}

HttpRequest Request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

TEST(Router, DispatchesAndAnswersJsonErrorsForTheRest) {
  Router router;
  router.Add("GET", "/v1/cutovers/{cutover}", [](HttpRequest& r) {
    if (r.path_params["cutover"] == "gone")
      throw ApiError(grpc::StatusCode::UNAVAILABLE, "state file: cannot open");
    if (r.path_params["cutover"] == "bad") throw InvalidArgument("cutover", "bad name");
    if (r.path_params["cutover"] == "boom") throw std::runtime_error("boom");
    return HttpResponse::Json("{\"name\":\"" + r.path_params["cutover"] + "\"}");
  });
  router.Add("POST", "/v1/cutovers/{cutover}:setWeight",
             [](HttpRequest&) { return HttpResponse::Json("{}"); });
  EXPECT_THROW(router.Add("GET", "/v1/cutovers/{cutover}", nullptr), std::invalid_argument);

  auto ok = Request("GET", "/v1/cutovers/app");
  EXPECT_EQ(router.Dispatch(ok).body, "{\"name\":\"app\"}");
  auto head = Request("HEAD", "/v1/cutovers/app");
  EXPECT_EQ(router.Dispatch(head).status, 200);

  auto gone = Request("GET", "/v1/cutovers/gone");
  auto r = router.Dispatch(gone);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body,
            R"({"error":{"code":503,"status":"UNAVAILABLE","message":"state file: cannot open"}})");
  auto bad = Request("GET", "/v1/cutovers/bad");
  EXPECT_EQ(router.Dispatch(bad).status, 400);
  auto boom = Request("GET", "/v1/cutovers/boom");
  EXPECT_EQ(router.Dispatch(boom).status, 500);

  auto missing = Request("GET", "/v2/x");
  r = router.Dispatch(missing);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"status\":\"NOT_FOUND\""), std::string::npos);
  auto wrong = Request("DELETE", "/v1/cutovers/app:setWeight");
  r = router.Dispatch(wrong);
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));
  EXPECT_EQ(router.Describe(), (std::vector<std::string>{"GET /v1/cutovers/{cutover}",
                                                         "POST /v1/cutovers/{cutover}:setWeight"}));
}

TEST(Status, MapsGrpcCodesAsTranscodingDoes) {
  using C = grpc::StatusCode;
  const std::vector<std::pair<C, int>> table = {{C::OK, 200},
                                                {C::CANCELLED, 499},
                                                {C::UNKNOWN, 500},
                                                {C::INVALID_ARGUMENT, 400},
                                                {C::DEADLINE_EXCEEDED, 504},
                                                {C::NOT_FOUND, 404},
                                                {C::ALREADY_EXISTS, 409},
                                                {C::PERMISSION_DENIED, 403},
                                                {C::RESOURCE_EXHAUSTED, 429},
                                                {C::FAILED_PRECONDITION, 400},
                                                {C::ABORTED, 409},
                                                {C::OUT_OF_RANGE, 400},
                                                {C::UNIMPLEMENTED, 501},
                                                {C::INTERNAL, 500},
                                                {C::UNAVAILABLE, 503},
                                                {C::DATA_LOSS, 500},
                                                {C::UNAUTHENTICATED, 401}};
  for (const auto& [code, status] : table) {
    EXPECT_EQ(HttpStatusOf(code), status) << StatusName(code);
    if (code != C::UNKNOWN) {
      EXPECT_NE(StatusName(code), "UNKNOWN") << static_cast<int>(code);
    }
  }
  EXPECT_EQ(StatusName(C::UNKNOWN), "UNKNOWN");
  auto unauthenticated = HttpResponse::Error(C::UNAUTHENTICATED, "bad bearer token");
  EXPECT_EQ(unauthenticated.status, 401);
  EXPECT_EQ(unauthenticated.headers.at(0).first, "WWW-Authenticate");
  EXPECT_EQ(
      ErrorJson(400, C::INVALID_ARGUMENT, "percent: \"x\" -> y"),
      R"({"error":{"code":400,"status":"INVALID_ARGUMENT","message":"percent: \"x\" -> y"}})");
}

}  // namespace
}  // namespace cutover::agent::http

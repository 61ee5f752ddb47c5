// The HTTP/JSON API (cutover-agent --http) of the real agent in front of a
// real nginx, called as curl would: every route, its status codes and JSON,
// auth on TCP, bad input naming the field, a body above the limit, TLS, and
// the event stream delivering a revert (read by the curl binary itself).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cutover/state_file.hpp"
#include "support/http.hpp"
#include "support/stack.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;

constexpr const char* kToken = "http-token";

// Stays on its first step: no window holds a million requests.
constexpr const char* kSlowPlan = R"({
  "steps": [{"percent": 10, "hold": "3600s"}, {"percent": 100, "hold": "3600s"}],
  "analysis": {"window": "10s", "min_requests": "1000000", "max_error_rate": 0.05}})";

json Parse(const HttpResponse& r) {
  try {
    return json::parse(r.body);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): HTTP " << r.status << " " << r.body;
    return json::object();
  }
}

// A JSON error of the agent: HTTP status, gRPC status name, and the message's start.
void ExpectError(const HttpResponse& r, long http_status, const std::string& status,
                 const std::string& message_start) {
  EXPECT_EQ(r.status, http_status) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  const json body = Parse(r);
  ASSERT_TRUE(body.contains("error")) << r.body;
  EXPECT_EQ(body["error"]["code"], http_status) << r.body;
  EXPECT_EQ(body["error"]["status"], status) << r.body;
  const std::string message = body["error"]["message"];
  EXPECT_EQ(message.rfind(message_start, 0), 0u) << "message: " << message;
}

class HttpApiTest : public ::testing::Test {
 protected:
  HttpApiTest() : stack_({.token = kToken, .http = true}), unix_(stack_.http_socket()) {}

  // Over the unix socket (trusted, like gRPC's): the host in the URL is ignored.
  HttpResponse Get(const std::string& path) { return unix_.Get("http://localhost" + path); }
  HttpResponse Post(const std::string& path, const std::string& body) {
    return unix_.Post("http://localhost" + path, body);
  }
  // Over TCP, with the bearer token when `token` is not empty.
  HttpResponse TcpPost(const std::string& path, const std::string& body, const std::string& token) {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return tcp_.Post(stack_.http_url(path), body, headers);
  }

  std::uint32_t WeightInFile() {
    return state::StateFile::Open(stack_.site().nginx().state_path(),
                                  state::StateFile::Access::kReadOnly)
        .ReadControl("app")
        ->weight_bp;
  }

  Stack stack_;
  HttpClient unix_;
  HttpClient tcp_;
};

TEST_F(HttpApiTest, ReadsAnswerJsonWithProtoFieldNamesOverUnixAndTcpWithoutAToken) {
  auto list = Get("/v1/cutovers");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.Header("Content-Type"), "application/json");
  json body = Parse(list);
  ASSERT_EQ(body["cutovers"].size(), 1u) << list.body;
  EXPECT_EQ(body["cutovers"][0]["name"], "app");
  EXPECT_EQ(body["cutovers"][0]["blue_upstream"], "app_blue");
  EXPECT_EQ(body["cutovers"][0]["green_upstream"], "app_green");
  // Every field is there, a zero too: protobuf's mapping with proto names.
  EXPECT_EQ(body["cutovers"][0]["green_percent"], 0);
  EXPECT_EQ(body["cutovers"][0]["live_slot"], "SLOT_BLUE");

  auto one = tcp_.Get(stack_.http_url("/v1/cutovers/app"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Parse(one)["cutover"]["name"], "app");
  EXPECT_EQ(Parse(one)["cutover"]["blue_percent"], 100);

  ExpectError(Get("/v1/cutovers/nope"), 400, "INVALID_ARGUMENT",
              "cutover: unknown cutover \"nope\"");
  auto history = tcp_.Get(stack_.http_url("/v1/history?limit=1"));
  ASSERT_EQ(history.status, 200) << history.body;
  ASSERT_EQ(Parse(history)["events"].size(), 1u);
  EXPECT_EQ(Parse(history)["events"][0]["kind"], "agent_started");
}

TEST_F(HttpApiTest, SetWeightOverUnixAndOverTcpOnlyWithTheToken) {
  auto set = Post("/v1/cutovers/app:setWeight", R"({"percent": 12.5, "reason": "by curl"})");
  ASSERT_EQ(set.status, 200) << set.body;
  json body = Parse(set);
  EXPECT_EQ(body["cutover"]["green_percent"], 12.5);
  EXPECT_EQ(body["event"]["kind"], "weight_set");
  EXPECT_EQ(body["event"]["reason"], "by curl");
  EXPECT_EQ(body["event"]["actor"], "unix");
  EXPECT_EQ(WeightInFile(), 1250u);

  auto none = TcpPost("/v1/cutovers/app:setWeight", R"({"percent": 30})", "");
  ExpectError(none, 401, "UNAUTHENTICATED", "missing authorization");
  EXPECT_EQ(none.Header("WWW-Authenticate"), "Bearer realm=\"cutover-agent\"");
  ExpectError(TcpPost("/v1/cutovers/app:setWeight", R"({"percent": 30})", "wrong"), 401,
              "UNAUTHENTICATED", "bad bearer token");
  EXPECT_EQ(WeightInFile(), 1250u);

  auto ok = TcpPost("/v1/cutovers/app:setWeight", R"({"percent": 30})", kToken);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(WeightInFile(), 3000u);
  // The journal names the TCP peer as gRPC does ("ipv4:127.0.0.1:PORT").
  const std::string actor = Parse(ok)["event"]["actor"];
  EXPECT_EQ(actor.rfind("ipv4:127.0.0.1:", 0), 0u) << actor;
  // One API: gRPC sees what HTTP did.
  v1::GetStatusRequest req;
  req.set_cutover("app");
  v1::GetStatusResponse resp;
  ASSERT_TRUE(stack_.agent_process().UnixStub()->GetStatus(Context().get(), req, &resp).ok());
  EXPECT_DOUBLE_EQ(resp.cutover().green_percent(), 30);
}

TEST_F(HttpApiTest, EveryMutatingRouteNeedsTheTokenOnTcp) {
  for (const std::string verb : {"setWeight", "startRollout", "pauseRollout", "resumeRollout",
                                 "promoteRollout", "abortRollout"}) {
    SCOPED_TRACE(verb);
    ExpectError(TcpPost("/v1/cutovers/app:" + verb, "{}", ""), 401, "UNAUTHENTICATED", "");
  }
  EXPECT_EQ(WeightInFile(), 0u);
  // Preflight follows gRPC's rule, whatever the Authorizer says it is.
  v1::PreflightRequest preflight;
  preflight.mutable_plan()->add_steps()->set_percent(100);
  preflight.mutable_plan()->mutable_analysis()->mutable_window()->set_seconds(1);
  v1::PreflightResponse answer;
  const auto grpc_status =
      stack_.agent_process().TcpStub()->Preflight(Context().get(), preflight, &answer);
  const auto http =
      TcpPost("/v1/preflight",
              R"({"plan": {"steps": [{"percent": 100}], "analysis": {"window": "1s"}}})", "");
  if (grpc_status.ok()) {
    EXPECT_EQ(http.status, 200) << http.body;
  } else {
    EXPECT_EQ(grpc_status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    ExpectError(http, 401, "UNAUTHENTICATED", "");
  }
  EXPECT_EQ(
      TcpPost("/v1/preflight",
              R"({"plan": {"steps": [{"percent": 100}], "analysis": {"window": "1s"}}})", kToken)
          .status,
      200);
}

TEST_F(HttpApiTest, BadInputIsInvalidArgumentNamingTheField) {
  const std::string set = "/v1/cutovers/app:setWeight";
  ExpectError(Post(set, R"({"percent": 101})"), 400, "INVALID_ARGUMENT",
              "percent: must be between 0 and 100, got 101");
  ExpectError(Post(set, R"({"percent": 12.345})"), 400, "INVALID_ARGUMENT",
              "percent: at most two decimals");
  ExpectError(Post(set, R"({"percnt": 5})"), 400, "INVALID_ARGUMENT", "percnt: unknown field");
  ExpectError(Post(set, R"({"percent": "five"})"), 400, "INVALID_ARGUMENT",
              "percent: \"five\" is not a number");
  ExpectError(Post(set, R"({"percent": 5,)"), 400, "INVALID_ARGUMENT", "body: not valid JSON");
  ExpectError(Post(set, "[5]"), 400, "INVALID_ARGUMENT", "body: must be a JSON object");
  ExpectError(Post(set, R"({"cutover": "other", "percent": 5})"), 400, "INVALID_ARGUMENT",
              "cutover: the path says \"app\", the body \"other\"");
  ExpectError(Post("/v1/cutovers/nope:setWeight", R"({"percent": 5})"), 400, "INVALID_ARGUMENT",
              "cutover: unknown cutover \"nope\"");
  const std::string start = "/v1/cutovers/app:startRollout";
  ExpectError(Post(start, R"({"plan": {"steps": [{"percent": 10}, {"percent": 5}],
                                       "analysis": {"window": "1s"}}})"),
              400, "INVALID_ARGUMENT", "plan.steps[1].percent: steps must rise");
  ExpectError(Post(start, R"({"plan": {"steps": [{"percent": 10, "hold": "5x"}]}})"), 400,
              "INVALID_ARGUMENT", "plan.steps[0].hold: ");
  ExpectError(Post(start, R"({"plan": {"steps": [{"percnt": 10}]}})"), 400, "INVALID_ARGUMENT",
              "plan.steps[0].percnt: unknown field");
  ExpectError(Post(start, R"({"plan": {"steps": [{"percent": 10}], "analysis": {"window": "1s"},
                                       "gates": [{"http": {"url": "ftp://x/"}}]}})"),
              400, "INVALID_ARGUMENT", "plan.gates[0].http.url: ");
  ExpectError(Post(start, R"({"plan": {"steps": [{"percent": 10}], "analysis": {"window": "1s"},
                                       "notify": ["not a url"]}})"),
              400, "INVALID_ARGUMENT", "plan.notify[0]: ");
  ExpectError(Get("/v1/cutovers/app/history?limit=abc"), 400, "INVALID_ARGUMENT",
              "limit: \"abc\" is not a whole number");
  ExpectError(Get("/v1/cutovers/app/history?limit=20000"), 400, "INVALID_ARGUMENT",
              "limit: at most 10000");
  ExpectError(Get("/v1/cutovers/app/history?limt=2"), 400, "INVALID_ARGUMENT",
              "limt: unknown query parameter");
  ExpectError(Get("/v1/nothing/here"), 404, "NOT_FOUND", "no route for GET /v1/nothing/here");
  auto wrong_method = Get("/v1/cutovers/app:setWeight");
  ExpectError(wrong_method, 405, "UNIMPLEMENTED", "GET /v1/cutovers/app:setWeight");
  EXPECT_EQ(wrong_method.Header("Allow"), "POST");
  EXPECT_EQ(WeightInFile(), 0u);  // nothing moved
}

TEST_F(HttpApiTest, ABodyAboveTheLimitIsRefusedWith413) {
  ExpectError(Post("/v1/preflight", std::string(2 << 20, ' ')), 413, "RESOURCE_EXHAUSTED",
              "body: at most 1 MiB (1048576 bytes) per request");
  // Just below the limit is read and judged on its merits.
  std::string padded = R"({"percent": 4})";
  padded += std::string((1 << 20) - padded.size(), ' ');
  auto ok = Post("/v1/cutovers/app:setWeight", padded);
  EXPECT_EQ(ok.status, 200) << ok.body.substr(0, 300);
  EXPECT_EQ(WeightInFile(), 400u);
}

TEST_F(HttpApiTest, RolloutActionsAndHistory) {
  auto started = Post("/v1/cutovers/app:startRollout",
                      std::string(R"({"reason": "release 42", "plan": )") + kSlowPlan + "}");
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(Parse(started)["rollout"]["state"], "ROLLOUT_STATE_RUNNING");
  EXPECT_EQ(Parse(started)["rollout"]["from_slot"], "SLOT_BLUE");
  ASSERT_TRUE(WaitFor([&] { return WeightInFile() == 1000; }));
  ExpectError(Post("/v1/cutovers/app:startRollout", std::string(R"({"plan": )") + kSlowPlan + "}"),
              400, "FAILED_PRECONDITION", "cutover \"app\": rollout");
  ExpectError(Post("/v1/cutovers/app:setWeight", R"({"percent": 50})"), 400, "FAILED_PRECONDITION",
              "cutover \"app\": rollout");

  auto paused = TcpPost("/v1/cutovers/app:pauseRollout", R"({"reason": "looking"})", kToken);
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(Parse(paused)["rollout"]["state"], "ROLLOUT_STATE_PAUSED");
  EXPECT_EQ(Parse(paused)["rollout"]["pause_reason"], "looking");
  ExpectError(Post("/v1/cutovers/app:pauseRollout", ""), 400, "FAILED_PRECONDITION", "");
  auto resumed = Post("/v1/cutovers/app:resumeRollout", "");  // an empty body is {}
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_EQ(Parse(resumed)["rollout"]["state"], "ROLLOUT_STATE_RUNNING");
  auto promoted = Post("/v1/cutovers/app:promoteRollout", R"({"reason": "all good"})");
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(Parse(promoted)["rollout"]["state"], "ROLLOUT_STATE_COMPLETED");
  EXPECT_EQ(WeightInFile(), 10000u);
  ExpectError(Post("/v1/cutovers/app:abortRollout", "{}"), 400, "FAILED_PRECONDITION", "");

  // The next release goes from green back to blue; aborting it keeps green.
  ASSERT_EQ(
      Post("/v1/cutovers/app:startRollout", std::string(R"({"plan": )") + kSlowPlan + "}").status,
      200);
  ASSERT_TRUE(WaitFor([&] { return WeightInFile() == 9000; }));
  auto aborted = Post("/v1/cutovers/app:abortRollout", R"({"reason": "not today"})");
  ASSERT_EQ(aborted.status, 200) << aborted.body;
  EXPECT_EQ(Parse(aborted)["rollout"]["state"], "ROLLOUT_STATE_ABORTED");
  EXPECT_EQ(WeightInFile(), 10000u);

  auto recent = Get("/v1/cutovers/app/history?limit=2");
  ASSERT_EQ(recent.status, 200) << recent.body;
  json events = Parse(recent)["events"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["kind"], "aborted");  // newest first
  EXPECT_EQ(events[0]["reason"], "not today");
  EXPECT_EQ(events[1]["kind"], "step_advanced");
  std::vector<std::string> kinds;
  const json all = Parse(Get("/v1/history?cutover=app"));
  for (const auto& e : all["events"]) kinds.insert(kinds.begin(), e["kind"].get<std::string>());
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"rollout_started", "step_advanced", "paused", "resumed",
                                      "promoted", "rollout_started", "step_advanced", "aborted"}));
}

TEST_F(HttpApiTest, RetryRolloutAndSetPeerStateRoutes) {
  ASSERT_EQ(
      Post("/v1/cutovers/app:startRollout", std::string(R"({"plan": )") + kSlowPlan + "}").status,
      200);
  ASSERT_EQ(Post("/v1/cutovers/app:abortRollout", R"({"reason": "wrong build"})").status, 200);
  EXPECT_EQ(WeightInFile(), 0u);

  // The last plan again, under another release; over TCP only with the token.
  ExpectError(TcpPost("/v1/cutovers/app:retryRollout", "{}", ""), 401, "UNAUTHENTICATED", "");
  auto retried = TcpPost("/v1/cutovers/app:retryRollout",
                         R"({"release": "v1.3.1", "reason": "fixed"})", kToken);
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(Parse(retried)["rollout"]["state"], "ROLLOUT_STATE_RUNNING");
  EXPECT_EQ(Parse(retried)["rollout"]["release"], "v1.3.1");
  ASSERT_TRUE(WaitFor([&] { return WeightInFile() == 1000; }));

  // Green's only peer drained, then back up; a peer the slot does not have names the field.
  const std::string green = stack_.green().address();
  auto drained = Post("/v1/cutovers/app:setPeerState",
                      R"({"slot": "SLOT_GREEN", "address": ")" + green +
                          R"(", "state": "PEER_STATE_DRAIN", "reason": "kernel update"})");
  ASSERT_EQ(drained.status, 200) << drained.body;
  bool seen = false;
  const json answer = Parse(drained);
  for (const auto& peer : answer["cutover"]["peers"])
    if (peer["address"] == green) {
      seen = true;
      EXPECT_EQ(peer["state"], "PEER_STATE_DRAIN") << drained.body;
    }
  EXPECT_TRUE(seen) << drained.body;
  ExpectError(Post("/v1/cutovers/app:setPeerState",
                   R"({"slot": "SLOT_GREEN", "address": "10.9.9.9:1", "state": "PEER_STATE_UP"})"),
              400, "INVALID_ARGUMENT", "address");
  EXPECT_EQ(Post("/v1/cutovers/app:setPeerState", R"({"slot": "SLOT_GREEN", "address": ")" + green +
                                                      R"(", "state": "PEER_STATE_UP"})")
                .status,
            200);
}

TEST_F(HttpApiTest, PreflightEvaluatesTheGatesOnBothRoutes) {
  const std::string health = "http://" + stack_.green().address() + "/health";
  auto go = Post("/v1/preflight", R"({"plan": {"steps": [{"percent": 100}],
      "analysis": {"window": "1s"}, "gates": [{"http": {"url": ")" +
                                      health + R"("}}]}})");
  ASSERT_EQ(go.status, 200) << go.body;
  EXPECT_EQ(Parse(go)["go"], true) << go.body;
  EXPECT_EQ(Parse(go)["gates"][0]["name"], "http");

  // On the cutover's route, {green} stands for green's peers in the state file.
  stack_.green().SetPathStatus("/health", 503);
  auto no_go = Post("/v1/cutovers/app:preflight", R"({"plan": {"steps": [{"percent": 100}],
      "analysis": {"window": "1s"}, "gates": [{"http": {"url": "http://{green}/health"}},
                                              {"exec": {"command": ["/bin/true"]}}]}})");
  ASSERT_EQ(no_go.status, 200) << no_go.body;
  json body = Parse(no_go);
  EXPECT_EQ(body["go"], false) << no_go.body;
  const std::string detail = body["gates"][0]["detail"];
  EXPECT_NE(detail.find(stack_.green().address() + "/health answered 503, expected a 2xx status"),
            std::string::npos)
      << detail;
  EXPECT_EQ(body["gates"][1]["name"], "exec");
  EXPECT_EQ(body["gates"][1]["passed"], true);
}

// `curl -N` on the event stream, as a process: the independent client.
class Curl {
 public:
  Curl(const TempDir& dir, const std::string& name, std::vector<std::string> args)
      : process_(Argv(std::move(args)), dir / name) {}
  ~Curl() { process_.Stop(); }
  std::string Out() const { return process_.Stdout(); }
  bool Running() { return process_.Running(); }

 private:
  static std::vector<std::string> Argv(std::vector<std::string> args) {
    args.insert(args.begin(), {"curl", "-sS", "-N"});
    return args;
  }
  Process process_;
};

// Issue 15 #2 over HTTP: a Preflight whose client hung up kept its gates
// waiting to their timeouts, holding one of the few evaluations the agent
// allows, so the next Preflight was refused (429) for up to 10 minutes.
TEST_F(HttpApiTest, APreflightWhoseClientHangsUpTellsItsGatesToGiveUp) {
  SilentListener silent;
  const std::string waits = R"({"plan": {"steps": [{"percent": 100}], "analysis": {"window": "1s"},
      "gates": [{"http": {"url": "http://127.0.0.1:)" +
                            std::to_string(silent.port()) + R"(/"}, "timeout": "600s"}]}})";
  // More clients than evaluations may run at once, each gone after a second.
  for (int i = 0; i < 5; ++i) {
    const RunResult curl =
        test::Run({"curl", "-sS", "-m", "1", "-H", std::string("Authorization: Bearer ") + kToken,
                   "-d", waits, stack_.http_url("/v1/preflight")});
    EXPECT_EQ(curl.exit_code, 28) << curl.out << curl.err;  // curl's "timed out"
  }
  const std::string quick = R"({"plan": {"steps": [{"percent": 100}], "analysis": {"window": "1s"},
      "gates": [{"exec": {"command": ["/bin/true"]}}]}})";
  HttpResponse last;
  EXPECT_TRUE(WaitFor([&] { return (last = Post("/v1/preflight", quick)).status == 200; }))
      << last.status << " " << last.body;
  EXPECT_EQ(Parse(last)["go"], true) << last.body;
}

TEST_F(HttpApiTest, TheEventStreamDeliversARevertAsSseAndAsJsonLines) {
  const std::string events = "http://localhost/v1/cutovers/app/events";
  Curl sse(stack_.dir(), "sse", {"--unix-socket", stack_.http_socket(), events});
  // From sequence 2 (the journal's first is agent_started): nothing is missed
  // however late the stream opens.
  Curl lines(
      stack_.dir(), "jsonl",
      {"-H", "Accept: application/x-ndjson", stack_.http_url("/v1/events?since_sequence=2")});
  ASSERT_TRUE(WaitFor([&] { return sse.Out().find(": watching") != std::string::npos; }))
      << sse.Out();

  Load load(stack_.url(), 300, std::chrono::seconds(60), 18000);
  auto started = Post("/v1/cutovers/app:startRollout", R"({"plan": {
      "steps": [{"percent": 50, "hold": "3600s"}, {"percent": 100, "hold": "0s"}],
      "analysis": {"window": "1s", "min_requests": "20", "max_error_rate": 0.05}}})");
  ASSERT_EQ(started.status, 200) << started.body;
  ASSERT_TRUE(WaitFor([&] { return load.green() >= 100; }));
  stack_.green().SetStatus(500);
  ASSERT_TRUE(WaitFor([&] { return sse.Out().find("event: reverted") != std::string::npos; }))
      << sse.Out() << stack_.AgentLog();
  load.Stop();
  EXPECT_EQ(WeightInFile(), 0u);

  // SSE: "id: N", "event: KIND", "data: <the Event as JSON>".
  const std::string out = sse.Out();
  const auto at = out.find("event: reverted");
  const auto data = out.find("data: ", at);
  ASSERT_NE(data, std::string::npos) << out;
  json reverted = json::parse(out.substr(data + 6, out.find('\n', data) - data - 6));
  EXPECT_EQ(reverted["kind"], "reverted");
  EXPECT_EQ(reverted["weight_before"], 50);
  EXPECT_EQ(reverted["weight_after"], 0);
  EXPECT_GT(reverted["measurement"]["error_rate"].get<double>(), 0.05);
  const std::string id = "id: " + reverted["sequence"].get<std::string>() + "\n";
  EXPECT_NE(out.rfind(id, at), std::string::npos) << out;
  EXPECT_LT(out.find("event: rollout_started"), out.find("event: breach")) << out;

  // JSON lines over TCP: one Event per line, every cutover's.
  ASSERT_TRUE(WaitFor([&] {
    return lines.Out().find("\"kind\":\"reverted\"") != std::string::npos;
  })) << lines.Out();
  std::vector<std::string> kinds;
  std::istringstream in(lines.Out());
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) kinds.push_back(json::parse(line)["kind"]);
  ASSERT_GE(kinds.size(), 4u);
  EXPECT_EQ(kinds.front(), "rollout_started");
  EXPECT_EQ(kinds.back(), "reverted");

  // A reconnecting EventSource says the last id it saw: it gets what followed.
  const std::uint64_t breach = std::stoull(reverted["sequence"].get<std::string>()) - 1;
  Curl resumed(stack_.dir(), "resumed",
               {"--unix-socket", stack_.http_socket(), "-H",
                "Last-Event-ID: " + std::to_string(breach - 1), events});
  ASSERT_TRUE(WaitFor([&] { return resumed.Out().find("event: reverted") != std::string::npos; }))
      << resumed.Out();
  EXPECT_EQ(resumed.Out().find("event: rollout_started"), std::string::npos) << resumed.Out();
  EXPECT_NE(resumed.Out().find("id: " + std::to_string(breach) + "\nevent: breach"),
            std::string::npos)
      << resumed.Out();
}

TEST_F(HttpApiTest, StreamsEndWhenTheAgentStops) {
  Curl sse(stack_.dir(), "sse",
           {"--unix-socket", stack_.http_socket(), "http://localhost/v1/events?since_sequence=1"});
  ASSERT_TRUE(WaitFor([&] { return sse.Out().find("event: agent_started") != std::string::npos; }));
  EXPECT_EQ(stack_.agent_process().StopWith(SIGTERM), 0) << stack_.AgentLog();
  EXPECT_FALSE(FileExists(stack_.http_socket()));
  EXPECT_TRUE(WaitFor([&] { return !sse.Running(); }));  // the stream ended, curl with it
}

TEST(HttpApiTls, ServesHttpsWithTheAgentsCertificateAndNotPlaintext) {
  TempDir certs("cutover-http-tls");
  std::string error;
  ASSERT_TRUE(MakeCertificate(certs, "IP:127.0.0.1", &error)) << error;
  Stack stack({.token = kToken,
               .tls_cert = certs / "cert.pem",
               .tls_key = certs / "key.pem",
               .http = true});
  ASSERT_EQ(stack.http_url().rfind("https://", 0), 0u);
  HttpClient https;
  https.SetCaFile(certs / "cert.pem");
  auto set = https.Post(stack.http_url("/v1/cutovers/app:setWeight"), R"({"percent": 7.5})",
                        {{"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_EQ(set.status, 200) << set.body << set.error << stack.AgentLog();
  EXPECT_EQ(Parse(set)["cutover"]["green_percent"], 7.5);
  // Plain HTTP to the TLS port gets no HTTP answer.
  HttpClient plain;
  std::string url = stack.http_url("/v1/cutovers");
  url.replace(0, 5, "http");
  EXPECT_NE(plain.Get(url).status, 200);
  // The unix socket stays plain, as gRPC's does.
  HttpClient local(stack.http_socket());
  EXPECT_EQ(local.Get("http://localhost/v1/cutovers").status, 200);
}

}  // namespace
}  // namespace cutover::test

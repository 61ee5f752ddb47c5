// One call's latency, HTTP/JSON against gRPC, to the same real agent in one
// run: GetStatus (a read) and SetWeight (a write: validated, authorized,
// stored in the state file, journaled with fsync), each over TCP (with the
// bearer token) and over the unix socket. Clients keep their connection, as
// automation does: a gRPC channel; libcurl with keep-alive (the tests'
// HttpClient). Calls are interleaved, so both transports see the same
// machine. Prints median, p90 and p99 per call and the HTTP/gRPC ratio.
//
// Usage: cutover-agent-api-latency-bench [CALLS]   (default 2000 of each)
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "support/agent.hpp"
#include "support/http.hpp"

using namespace cutover;
using namespace cutover::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Series {
  const char* name;
  std::function<bool(int)> call;
  std::vector<double> us;
};

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 2000;
  TempDir dir("api-latency-bench");
  AgentOptions o = LocalAgent(dir, MakeAppStateFile(dir));
  o.tcp_port = FreePort();
  o.http_port = FreePort();
  o.http_socket = dir / "http.sock";
  o.token_file = dir / "token";
  WriteFile(o.token_file, "bench-token");
  AgentProcess agent(o, dir / "agent");
  agent.Start();
  auto grpc_tcp = agent.TcpStub();
  auto grpc_unix = agent.UnixStub();
  HttpClient http_tcp, http_unix(o.http_socket);
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer bench-token"}};

  auto get_grpc = [](v1::CutoverService::Stub& stub) {
    v1::GetStatusRequest req;
    req.set_cutover("app");
    v1::GetStatusResponse resp;
    return stub.GetStatus(Context().get(), req, &resp).ok();
  };
  auto set_grpc = [](v1::CutoverService::Stub& stub, int i, const std::string& token) {
    v1::SetWeightRequest req;
    req.set_cutover("app");
    req.set_percent(i % 2 == 0 ? 10 : 20);
    v1::SetWeightResponse resp;
    return stub.SetWeight(Context(token).get(), req, &resp).ok();
  };
  auto body = [](int i) {
    return std::string(R"({"percent": )") + (i % 2 == 0 ? "10" : "20") + "}";
  };
  std::vector<Series> series = {
      {"GetStatus  gRPC TCP ", [&](int) { return get_grpc(*grpc_tcp); }, {}},
      {"GetStatus  HTTP TCP ",
       [&](int) { return http_tcp.Get(agent.HttpUrl("/v1/cutovers/app")).status == 200; },
       {}},
      {"GetStatus  gRPC unix", [&](int) { return get_grpc(*grpc_unix); }, {}},
      {"GetStatus  HTTP unix",
       [&](int) { return http_unix.Get("http://localhost/v1/cutovers/app").status == 200; },
       {}},
      {"SetWeight  gRPC TCP ", [&](int i) { return set_grpc(*grpc_tcp, i, "bench-token"); }, {}},
      {"SetWeight  HTTP TCP ",
       [&](int i) {
         return http_tcp.Post(agent.HttpUrl("/v1/cutovers/app:setWeight"), body(i), auth).status ==
                200;
       },
       {}},
      {"SetWeight  gRPC unix", [&](int i) { return set_grpc(*grpc_unix, i, ""); }, {}},
      {"SetWeight  HTTP unix",
       [&](int i) {
         return http_unix.Post("http://localhost/v1/cutovers/app:setWeight", body(i)).status == 200;
       },
       {}},
  };
  for (int i = 0; i < 50; ++i)  // warm up: connections, the first journal writes
    for (auto& s : series) s.call(i);
  for (int i = 0; i < calls; ++i) {
    for (auto& s : series) {
      const auto start = Clock::now();
      if (!s.call(i)) {
        std::fprintf(stderr, "%s failed\n%s", s.name, agent.Log().c_str());
        return 1;
      }
      s.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
  }
  std::printf("%d calls of each, interleaved, one agent (tick 100ms), keep-alive clients\n", calls);
  std::printf("%-22s %10s %10s %10s\n", "call", "median us", "p90 us", "p99 us");
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    std::printf("%-22s %10.0f %10.0f %10.0f", s.name, Quantile(s.us, 0.5), Quantile(s.us, 0.9),
                Quantile(s.us, 0.99));
    if (k % 2 == 1)
      std::printf("   HTTP/gRPC median %.2f",
                  Quantile(s.us, 0.5) / Quantile(series[k - 1].us, 0.5));
    std::printf("\n");
  }
  agent.StopWith(SIGTERM);
  return 0;
}

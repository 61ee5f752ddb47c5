// cutover-agent: the sidecar that watches the module's counters, runs stepped
// rollouts and reverts by itself, over gRPC and HTTP/JSON. Wiring only: every
// decision lives in the controller and the rollout engine.
#include <grp.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/secret_file.hpp"
#include "agent/core/units.hpp"
#include "agent/core/url.hpp"
#include "agent/core/version.hpp"
#include "agent/fleet/fleet.hpp"
#include "agent/http/api_routes.hpp"
#include "agent/http/server.hpp"
#include "agent/http/web.hpp"
#include "agent/journal/journal.hpp"
#include "agent/notify/notifier.hpp"
#include "agent/server/controller.hpp"
#include "agent/server/flags.hpp"
#include "agent/server/gate_runner.hpp"
#include "agent/server/metrics.hpp"
#include "agent/server/service.hpp"
#include "agent/server/tick_loop.hpp"
#include "agent/server/worker.hpp"

using namespace cutover::agent;

namespace {

std::string ReadSecret(const std::string& flag, const std::string& path) {
  try {
    return ReadSecretFile(flag, path);
  } catch (const SecretFileError& e) {
    throw UsageError(e.what());
  }
}

// The group the unix sockets get: --socket-group, else the state file's
// (nginx's workers' group, which the agent is in to map the file), so the
// operators of that group may use cutoverctl. nullopt: leave the agent's own.
std::optional<gid_t> SocketGroup(const AgentFlags& flags) {
  if (!flags.socket_group.empty()) {
    const group* g = ::getgrnam(flags.socket_group.c_str());
    if (g == nullptr) throw UsageError("--socket-group: no group \"" + flags.socket_group + "\"");
    return g->gr_gid;
  }
  struct stat st {};
  if (::stat(flags.state_file.c_str(), &st) != 0) {
    LogWarning("the state file " + flags.state_file +
               " does not exist yet: the unix sockets keep the agent's group (give "
               "--socket-group to choose)");
    return std::nullopt;
  }
  return st.st_gid;
}

// Rollout ids: time-ordered and unique enough to tell rollouts apart in a journal.
std::function<std::string()> RolloutIds() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [rng] {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    char buf[48];
    std::snprintf(buf, sizeof buf, "r%lld-%06llx", static_cast<long long>(now),
                  static_cast<unsigned long long>((*rng)() & 0xffffff));
    return std::string(buf);
  };
}

int RunAgent(const AgentFlags& flags, const sigset_t& signals) {
  std::string token;
  if (!flags.token_file.empty()) token = ReadSecret("--token-file", flags.token_file);
  std::shared_ptr<grpc::ServerCredentials> tcp_credentials = grpc::InsecureServerCredentials();
  if (!flags.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back(
        {ReadSecret("--tls-key", flags.tls_key), ReadSecret("--tls-cert", flags.tls_cert)});
    tcp_credentials = grpc::SslServerCredentials(ssl);
  }

  bool unix_listener = false;
  for (const auto& listen : flags.listen) unix_listener = unix_listener || IsUnixAddress(listen);
  for (const auto& listen : flags.http) unix_listener = unix_listener || IsUnixAddress(listen);
  // -1: keep the agent's own group (chown's "no change").
  const gid_t socket_group =
      unix_listener ? SocketGroup(flags).value_or(static_cast<gid_t>(-1)) : static_cast<gid_t>(-1);

  RealClock clock;
  // Alone, the journal is --journal's; in a fleet it is the fleet's
  // database, which also holds the lease, the heartbeats and the decisions.
  std::unique_ptr<Journal> own_journal;
  std::unique_ptr<cutover::fleet::Fleet> fleet;
  Journal* journal = nullptr;
  if (!flags.fleet.empty()) {
    cutover::fleet::FleetOptions options = cutover::fleet::FleetOptions::ForTick(flags.tick);
    options.dsn = flags.fleet;
    options.node = flags.node;
    options.state_path = flags.state_file;
    fleet = std::make_unique<cutover::fleet::Fleet>(options, clock);
    journal = &fleet->journal();
  } else {
    own_journal = OpenJournal(flags.journal);
    journal = own_journal.get();
  }
  LogInfo("journal: " + journal->Describe());

  std::unique_ptr<Metrics> metrics;
  if (!flags.metrics.empty()) {
    metrics = std::make_unique<Metrics>(flags.metrics);
    LogInfo("metrics on http://" + flags.metrics + "/metrics");
  }

  NotifierOptions notify;
  notify.urls = flags.notify;
  if (metrics)
    notify.count = [m = metrics.get()](const std::string& r) { m->CountNotification(r); };
  Notifier notifier(notify);
  for (const auto& url : flags.notify) LogInfo("notifying " + RedactWebhookUrl(url));
  GateRunner gate_runner;
  Worker metric_runner;  // analysis.metrics queries, off the tick and apart from the gates
  Controller::Dependencies deps;
  deps.state_path = flags.state_file;
  deps.journal = journal;
  deps.clock = &clock;
  deps.gate_factory = DefaultGateFactory();
  deps.gate_runner = &gate_runner;
  deps.metric_runner = &metric_runner;
  deps.new_rollout_id = RolloutIds();
  if (metrics) deps.listeners.push_back(metrics.get());
  if (fleet) {
    deps.weights = fleet.get();
    deps.pool = fleet.get();
    deps.role = fleet.get();
    deps.listeners.push_back(&fleet->guard());
  }
  deps.listeners.push_back(&notifier);
  Controller controller(deps, Controller::Options{});
  controller.RestoreFromJournal();

  Api api(controller, Authorizer(token));
  if (fleet) api.SetFleet(fleet.get());
  CutoverServiceImpl service(api);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::vector<std::string> sockets;
  bool tcp = false;
  for (const auto& listen : flags.listen) {
    if (IsUnixAddress(listen)) {
      const std::string path = UnixPath(listen);
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      std::filesystem::remove(path, ec);  // a stale socket of a previous run
      builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
      sockets.push_back(path);
    } else {
      builder.AddListeningPort(listen, tcp_credentials);
      tcp = true;
    }
  }
  for (const auto& listen : flags.http) tcp = tcp || !IsUnixAddress(listen);
  if (tcp && token.empty())
    LogWarning("listening on TCP without --token-file: mutating calls over TCP are refused");
  if (tcp && flags.tls_cert.empty())
    LogWarning("listening on TCP without TLS: the token travels in clear text");
  builder.RegisterService(&service);
  const mode_t old_umask = ::umask(0117);  // sockets come out 0660
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(old_umask);
  if (!server) {
    LogError("cannot listen on every --listen address");
    return 1;
  }
  for (const auto& path : sockets) {
    ::chmod(path.c_str(), 0660);
    if (socket_group != static_cast<gid_t>(-1) &&
        ::chown(path.c_str(), static_cast<uid_t>(-1), socket_group) != 0) {
      const group* g = ::getgrgid(socket_group);
      LogError("cannot give " + path + " the group " +
               (g != nullptr ? std::string(g->gr_name) : std::to_string(socket_group)) + ": " +
               std::strerror(errno) + " (is the agent in that group?)");
      return 1;
    }
  }
  server->GetHealthCheckService()->SetServingStatus(true);

  // The same Api over HTTP/JSON (--http), with the same TLS files.
  http::Router router;
  for (const auto& rpc : http::AddApiRoutes(router, api))
    LogWarning("http: not served: " + rpc);  // gRPC has it; HTTP will once it is mapped
  http::AddWebRoutes(router);                // the web view at / and /ui, on the JSON routes above
  http::HttpServerOptions http_options;
  http_options.tls_cert = flags.tls_cert;
  http_options.tls_key = flags.tls_key;
  http_options.socket_group = socket_group;
  http::HttpServer http_server(router, http_options);
  try {
    for (const auto& listen : flags.http) http_server.Listen(listen);
  } catch (const std::runtime_error& e) {
    LogError(e.what());
    server->Shutdown();
    return 1;
  }
  http_server.Start();

  {
    cutover::v1::Event started;
    *started.mutable_time() = ToProtoTimestamp(clock.Now());
    started.set_kind(event_kind::kAgentStarted);
    started.set_actor("agent");
    started.set_reason("pid " + std::to_string(::getpid()));
    try {
      journal->Append(started);
    } catch (const JournalError& e) {
      LogError(e.what());
    }
    controller.bus().Publish(started);
  }
  if (fleet) fleet->Start(controller, metrics ? metrics->registry().get() : nullptr);

  TickLoop loop(controller, flags.tick);
  std::string listening;
  for (const auto& l : flags.listen) listening += " " + l;
  for (const auto& l : flags.http) listening += " http:" + l;
  LogInfo("cutover-agent serving on" + listening + ", state file " + flags.state_file + ", tick " +
          FormatDuration(flags.tick) + (fleet ? ", fleet node " + flags.node : ""));

  int sig = 0;
  sigwait(&signals, &sig);
  LogInfo(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  loop.Stop();
  if (fleet) fleet->Stop();  // its thread runs handed calls on the controller
  api.Shutdown();            // streams end, gRPC's and HTTP's
  http_server.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  notifier.Stop(std::chrono::seconds(2));  // what is queued gets one attempt
  gate_runner.Stop();                      // its callbacks reach into the controller
  metric_runner.Stop();
  for (const auto& path : sockets) ::unlink(path.c_str());
  LogInfo("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  AgentFlags flags;
  try {
    flags = ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "cutover-agent: " << e.what() << "\n" << Usage();
    return 2;
  }
  if (flags.help) {
    std::cout << Help();
    return 0;
  }
  if (flags.version) {
    std::cout << VersionText("cutover-agent");
    return 0;
  }
  // Block the stop signals in every thread (gRPC's and prometheus-cpp's
  // included, hence before any is created); main waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return RunAgent(flags, signals);
  } catch (const UsageError& e) {
    std::cerr << "cutover-agent: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    LogError(e.what());
    return 1;
  }
}

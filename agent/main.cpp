// cutover-agent: the sidecar that watches the module's counters, runs stepped
// rollouts and reverts by itself, over gRPC and HTTP/JSON. Wiring only: every
// decision lives in the controller and the rollout engine.
#include <grp.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>

#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/secret_file.hpp"
#include "agent/core/socket_path.hpp"
#include "agent/core/units.hpp"
#include "agent/core/url.hpp"
#include "agent/core/version.hpp"
#include "agent/http/api_routes.hpp"
#include "agent/http/server.hpp"
#include "agent/http/web.hpp"
#include "agent/journal/journal.hpp"
#include "agent/journal/journal_writer.hpp"
#include "agent/notify/notifier.hpp"
#include "agent/server/controller.hpp"
#include "agent/server/flags.hpp"
#include "agent/server/gate_runner.hpp"
#include "agent/server/metrics.hpp"
#include "agent/server/service.hpp"
#include "agent/server/sync_observers.hpp"
#include "agent/server/tick_loop.hpp"
#include "agent/server/worker.hpp"
#include "agent/sync/manager.hpp"

using namespace cutover::agent;

namespace {

std::string ReadSecret(const std::string& flag, const std::string& path) {
  try {
    std::string warning;
    std::string secret = ReadSecretFile(flag, path, &warning);
    if (!warning.empty()) LogWarning(warning);
    return secret;
  } catch (const SecretFileError& e) {
    throw UsageError(e.what());
  }
}

// A certificate and key gRPC and cpp-httplib could serve, or a UsageError
// naming the flag: both would only say they "cannot listen".
void CheckTlsPair(const std::string& cert_pem, const std::string& key_pem) {
  const auto bio = [](const std::string& pem) {
    return std::unique_ptr<BIO, decltype(&BIO_free)>(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  };
  auto cert_bio = bio(cert_pem);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) throw UsageError("--tls-cert: not a PEM certificate");
  auto key_bio = bio(key_pem);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  ERR_clear_error();
  if (!key) throw UsageError("--tls-key: not a PEM private key (or one with a passphrase)");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    throw UsageError("--tls-key: not the private key of --tls-cert's certificate");
  }
}

// grpc.health.v1: the whole server ("") and the service by name, SERVING
// while decisions can be journaled, NOT_SERVING while they cannot.
void SetHealth(grpc::HealthCheckServiceInterface& health, bool serving) {
  health.SetServingStatus(serving);
  health.SetServingStatus(cutover::v1::CutoverService::service_full_name(), serving);
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
    CheckTlsPair(ssl.pem_key_cert_pairs.back().cert_chain,
                 ssl.pem_key_cert_pairs.back().private_key);
    tcp_credentials = grpc::SslServerCredentials(ssl);
  }

  bool unix_listener = false;
  for (const auto& listen : flags.listen) unix_listener = unix_listener || IsUnixAddress(listen);
  for (const auto& listen : flags.http) unix_listener = unix_listener || IsUnixAddress(listen);
  // -1: keep the agent's own group (chown's "no change").
  const gid_t socket_group =
      unix_listener ? SocketGroup(flags).value_or(static_cast<gid_t>(-1)) : static_cast<gid_t>(-1);

  std::unique_ptr<Journal> journal = OpenJournal(flags.journal);
  LogInfo("journal: " + journal->Describe());
  // Decisions are journaled off the tick; health says when the journal
  // cannot be written (the server is built later, hence the indirection).
  JournalWriter journal_writer(*journal);
  std::atomic<grpc::HealthCheckServiceInterface*> health{nullptr};
  journal_writer.Observe([&health](const JournalWriter::Outcome& outcome) {
    if (auto* h = health.load()) SetHealth(*h, outcome.written);
  });

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

  RealClock clock;
  GateRunner gate_runner;

  // The database syncs journal through the controller (in one order with its
  // events) and pause its rollouts on a conflict; the controller tells them
  // of reverts and hands their status to the gates.
  Controller* controller_of_syncs = nullptr;
  cutover::sync::SyncDependencies sync_deps;
  sync_deps.clock = &clock;
  sync_deps.publish = [&controller_of_syncs](cutover::v1::Event event) {
    controller_of_syncs->Record(std::move(event));
  };
  sync_deps.pause_rollout = [&controller_of_syncs](const std::string& cutover,
                                                   const std::string& reason) {
    cutover::v1::RolloutActionRequest pause;
    pause.set_cutover(cutover);
    pause.set_reason(reason);
    try {
      controller_of_syncs->PauseRollout(pause, "agent");
    } catch (const ApiError&) {
      // No rollout running: the sync's pause is all there is to do.
    }
  };
  cutover::sync::SyncManager syncs(sync_deps);
  SyncRevertObserver revert_observer(syncs);
  std::unique_ptr<SyncMetrics> sync_metrics;
  if (metrics) sync_metrics = std::make_unique<SyncMetrics>(syncs, *metrics->registry());

  Worker metric_runner;  // analysis.metrics queries, off the tick and apart from the gates
  Controller::Dependencies deps;
  deps.state_path = flags.state_file;
  deps.journal = journal.get();
  deps.journal_writer = &journal_writer;
  deps.clock = &clock;
  deps.gate_factory = DefaultGateFactory();
  deps.gate_runner = &gate_runner;
  deps.metric_runner = &metric_runner;
  deps.new_rollout_id = RolloutIds();
  if (metrics) deps.listeners.push_back(metrics.get());
  if (sync_metrics) deps.listeners.push_back(sync_metrics.get());
  deps.listeners.push_back(&revert_observer);
  deps.sync = &syncs;
  deps.listeners.push_back(&notifier);
  Controller controller(deps, Controller::Options{});
  controller_of_syncs = &controller;
  // The sync workers publish into the controller: they stop before it goes.
  struct StopSyncs {
    cutover::sync::SyncManager& syncs;
    ~StopSyncs() { syncs.Shutdown(); }
  } stop_syncs{syncs};
  controller.RestoreFromJournal();
  syncs.Restore(journal->ReadAll());

  Api api(controller, Authorizer(token), &syncs);
  CutoverServiceImpl service(api);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::vector<std::string> sockets;
  bool tcp = false;
  for (const auto& listen : flags.listen) {
    if (IsUnixAddress(listen)) {
      const std::string path = UnixPath(listen);
      if (auto problem = FreeSocketPath(path)) {
        LogError("--listen " + listen + ": " + *problem);
        return 2;
      }
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
  // Journaled before anyone is served: the first history a client reads has it.
  {
    cutover::v1::Event started;
    *started.mutable_time() = ToProtoTimestamp(clock.Now());
    started.set_kind(event_kind::kAgentStarted);
    started.set_actor("agent");
    started.set_reason("pid " + std::to_string(::getpid()));
    controller.PublishAgentEvent(started);
  }
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
  SetHealth(*server->GetHealthCheckService(), true);
  health.store(server->GetHealthCheckService());

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

  TickLoop loop(controller, flags.tick);
  std::string listening;
  for (const auto& l : flags.listen) listening += " " + l;
  for (const auto& l : flags.http) listening += " http:" + l;
  LogInfo("cutover-agent serving on" + listening + ", state file " + flags.state_file + ", tick " +
          FormatDuration(flags.tick));

  int sig = 0;
  sigwait(&signals, &sig);
  LogInfo(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  loop.Stop();
  syncs.Shutdown();
  api.Shutdown();  // streams end, gRPC's and HTTP's
  http_server.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  notifier.Stop(std::chrono::seconds(2));  // what is queued gets one attempt
  gate_runner.Stop();                      // its callbacks reach into the controller
  metric_runner.Stop();
  health.store(nullptr);
  for (const auto& path : sockets) ::unlink(path.c_str());
  // What is queued is written; a disk or database that does not answer
  // must not keep the agent from stopping.
  if (!journal_writer.Stop(std::chrono::seconds(5))) {
    LogError("journal " + journal->Describe() +
             ": still writing after 5s; stopping without the events queued");
    std::_Exit(1);
  }
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
  // A file size limit (ulimit -f) makes a journal write fail with EFBIG
  // instead of killing the agent.
  ::signal(SIGXFSZ, SIG_IGN);
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

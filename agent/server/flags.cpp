#include "agent/server/flags.hpp"

#include "agent/core/units.hpp"
#include "agent/core/url.hpp"

namespace cutover::agent {

std::string Usage() {
  return "usage: cutover-agent --state-file PATH\n"
         "                     [--listen unix:/run/cutover/agent.sock | HOST:PORT]...\n"
         "                     [--socket-group GROUP]\n"
         "                     [--http unix:/run/cutover/http.sock | HOST:PORT]...\n"
         "                     [--notify URL]...\n"
         "                     [--token-file FILE] [--tls-cert FILE --tls-key FILE]\n"
         "                     [--journal DIR | --journal postgresql://...]\n"
         "                     [--metrics HOST:PORT] [--tick 100ms]\n"
         "                     [--help] [--version]\n";
}

std::string Help() {
  return "cutover-agent: the sidecar of the nginx cutover module. It samples the module's\n"
         "state file every tick, moves the weight step by step as a rollout plan says,\n"
         "judges the new slot on sliding windows and sends every request back to the live\n"
         "slot by itself on a breach. Every decision is journaled with its numbers.\n"
         "cutoverctl and automation drive it over gRPC or HTTP/JSON.\n"
         "\n" +
         Usage() +
         "\n"
         "Options:\n"
         "  --state-file PATH       the module's state file (nginx's cutover_state_file),\n"
         "                          mapped read-write; required. While it is missing or\n"
         "                          invalid the agent keeps running, says why once and\n"
         "                          retries every tick; a file nginx replaces is reopened.\n"
         "  --listen ADDR           unix:/ABS/PATH (a socket of mode 0660) or HOST:PORT;\n"
         "                          repeatable. Default: unix:/run/cutover/agent.sock\n"
         "  --socket-group GROUP    the group of the unix sockets, so its members may use\n"
         "                          cutoverctl (the agent must be in that group). Default:\n"
         "                          the state file's group (nginx's workers' group)\n"
         "  --http ADDR             the same API as HTTP/JSON (GET /v1/cutovers, POST\n"
         "                          /v1/cutovers/NAME:setWeight, ...): unix:/ABS/PATH or\n"
         "                          HOST:PORT, repeatable; same token and TLS as gRPC.\n"
         "                          Off when not given\n"
         "  --notify URL            POST a JSON event (with a Slack-compatible \"text\") to\n"
         "                          URL for every rollout decision; repeatable. Retried\n"
         "                          with backoff, never delays a decision\n"
         "  --token-file FILE       bearer token that mutating calls over TCP must carry\n"
         "                          (authorization: Bearer TOKEN). Without it TCP is\n"
         "                          read-only. Calls over a unix socket are trusted.\n"
         "  --tls-cert FILE         PEM certificate: TCP listeners serve TLS (with --tls-key)\n"
         "  --tls-key FILE          PEM private key of --tls-cert\n"
         "  --journal DIR|URI       where decisions are journaled: a directory\n"
         "                          (DIR/journal.jsonl, fsync per entry) or a\n"
         "                          postgresql:// URI (table cutover_journal).\n"
         "                          Default: /var/lib/cutover/journal\n"
         "  --metrics HOST:PORT     Prometheus metrics at http://HOST:PORT/metrics; off when\n"
         "                          not given\n"
         "  --tick DURATION         how often the state file is sampled and rollouts judged,\n"
         "                          10ms to 10s. Default: 100ms\n"
         "  --help                  print this help and exit\n"
         "  --version               print the version and the state-file layout and exit\n"
         "\n"
         "Durations are a number and a unit (ns, us, ms, s, m, h, d), parts combined:\n"
         "250ms, 1.5s, 1h30m.\n"
         "\n"
         "Signals: SIGTERM and SIGINT stop the agent cleanly (streams end, calls in flight\n"
         "get two seconds, unix sockets are removed). nginx keeps the last weights, and a\n"
         "restarted agent rebuilds every rollout from its journal.\n"
         "\n"
         "Exit status: 0 after a stop signal; 1 when it cannot start (journal, listen\n"
         "address); 2 for a bad flag, an unreadable token file or a TLS certificate and key\n"
         "that are not a pair.\n"
         "\n"
         "Files: /run/cutover/agent.sock (cutoverctl's default), /var/lib/cutover/journal,\n"
         "/var/lib/nginx/cutover.state (Debian's packaged nginx), /etc/default/cutover-agent\n"
         "(CUTOVER_AGENT_OPTS of the systemd unit).\n"
         "\n"
         "See also: cutoverctl(1); /usr/share/doc/cutover/ (agent.md, deployment.md).\n";
}

bool IsUnixAddress(const std::string& listen) { return listen.rfind("unix:", 0) == 0; }

std::string UnixPath(const std::string& listen) {
  std::string path = listen.substr(5);
  if (path.rfind("//", 0) == 0) path = path.substr(2);  // unix:///path
  return path;
}

namespace {

void ValidateHostPort(const std::string& flag, const std::string& value) {
  const auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size())
    throw UsageError(flag + ": expected HOST:PORT or unix:/path, got \"" + value + "\"");
  const std::string port = value.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535)
    throw UsageError(flag + ": bad port in \"" + value + "\"");
}

}  // namespace

AgentFlags ParseFlags(const std::vector<std::string>& args) {
  AgentFlags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool has_value = false;
    if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "--help" || name == "-h") {
      flags.help = true;
      return flags;
    }
    if (name == "--version") {
      flags.version = true;
      return flags;
    }
    auto take = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= args.size()) throw UsageError(name + ": needs a value");
      return args[++i];
    };
    if (name == "--state-file") {
      flags.state_file = take();
    } else if (name == "--listen" || name == "--http") {
      std::string l = take();
      if (IsUnixAddress(l)) {
        if (UnixPath(l).empty() || UnixPath(l)[0] != '/')
          throw UsageError(name + ": a unix socket needs an absolute path, got \"" + l + "\"");
      } else {
        ValidateHostPort(name, l);
      }
      (name == "--listen" ? flags.listen : flags.http).push_back(l);
    } else if (name == "--socket-group") {
      flags.socket_group = take();
      if (flags.socket_group.empty()) throw UsageError("--socket-group: must not be empty");
    } else if (name == "--notify") {
      std::string url = take();
      if (auto problem = HttpUrlProblem(url))  // never quoted: a webhook URL is a secret
        throw UsageError("--notify: " + *problem);
      flags.notify.push_back(url);
    } else if (name == "--token-file") {
      flags.token_file = take();
    } else if (name == "--tls-cert") {
      flags.tls_cert = take();
    } else if (name == "--tls-key") {
      flags.tls_key = take();
    } else if (name == "--journal") {
      flags.journal = take();
    } else if (name == "--metrics") {
      flags.metrics = take();
      ValidateHostPort("--metrics", flags.metrics);
    } else if (name == "--tick") {
      const std::string t = take();
      auto d = ParseDuration(t);
      if (!d || *d < std::chrono::milliseconds(10) || *d > std::chrono::seconds(10))
        throw UsageError("--tick: expected a duration from 10ms to 10s (\"100ms\"), got \"" + t +
                         "\"");
      flags.tick = *d;
    } else {
      throw UsageError("unknown flag \"" + name + "\"");
    }
  }
  if (flags.state_file.empty()) throw UsageError("--state-file is required");
  if (flags.tls_cert.empty() != flags.tls_key.empty())
    throw UsageError("--tls-cert and --tls-key go together");
  if (flags.journal.empty()) throw UsageError("--journal: must not be empty");
  if (flags.listen.empty()) flags.listen.push_back(kDefaultListen);
  return flags;
}

}  // namespace cutover::agent

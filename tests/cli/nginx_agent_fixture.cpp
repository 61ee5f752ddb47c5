#include "nginx_agent_fixture.hpp"

#include <filesystem>
#include <stdexcept>

#include "cutoverctl_runner.hpp"

namespace cutover::test {

Stack::Stack(const StackOptions& options) : port_(FreePort()) {
  const std::string body =
      "  upstream app { cutover blue=app_blue green=app_green weight=0; }\n"
      "  upstream app_blue { server " +
      blue_.address() +
      "; }\n"
      "  upstream app_green { server " +
      green_.address() +
      "; }\n"
      "  server {\n    listen 127.0.0.1:" +
      std::to_string(port_) +
      ";\n"
      "    location / { proxy_pass http://app; }\n  }\n";
  nginx_ = std::make_unique<Nginx>(body, 2);
  nginx_->Start(port_);

  std::filesystem::create_directories(dir_ / "journal");
  std::vector<std::string> argv = {CUTOVER_AGENT_BINARY, "--state-file", nginx_->state_path(),
                                   "--listen",           agent(),        "--journal",
                                   dir_ / "journal",     "--tick",       "100ms"};
  if (!options.token.empty()) {
    agent_port_ = FreePort();
    WriteFile(token_file(), options.token + "\n");
    argv.insert(argv.end(), {"--listen", agent_tcp(), "--token-file", token_file()});
    if (!options.tls_cert.empty())
      argv.insert(argv.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
  }
  agent_argv_ = argv;
  StartAgent();
}

void Stack::StartAgent() {
  agent_ = Process(agent_argv_, dir_ / "agent");
  const bool up = WaitFor([&] {
    if (!agent_.Running()) return true;  // fail fast below
    if (!UnixSocketAnswers(dir_ / "agent.sock")) return false;
    return agent_port_ == 0 || TcpPortAnswers(agent_port_);
  });
  if (!up || !agent_.Running())
    throw std::runtime_error("cutover-agent did not start:\n" + AgentLog());
}

void Stack::RestartAgent() {
  agent_.Stop();
  StartAgent();
}

Stack::~Stack() {
  agent_.Stop();
  nginx_->Stop();
}

RunResult Stack::Ctl(std::vector<std::string> args) const {
  args.insert(args.begin(), {"--agent", agent()});
  return Cutoverctl(args);
}

}  // namespace cutover::test

#include "support/stack.hpp"

#include "support/cutoverctl.hpp"

namespace cutover::test {

AgentOptions Stack::Options(const TempDir& dir, const Site& site, const StackOptions& options) {
  AgentOptions o = LocalAgent(dir, site.nginx().state_path());
  if (!options.token.empty()) {
    o.tcp_port = FreePort();
    o.token_file = dir / "token";
    WriteFile(o.token_file, options.token + "\n");
    o.tls_cert = options.tls_cert;
    o.tls_key = options.tls_key;
  }
  if (options.http) {
    o.http_socket = dir / "http.sock";
    if (!options.token.empty()) o.http_port = FreePort();
  }
  o.notify = options.notify;
  if (options.metrics) o.metrics = "127.0.0.1:" + std::to_string(FreePort());
  return o;
}

Stack::Stack(const StackOptions& options)
    : site_(options.site), agent_(Options(dir_, site_, options), dir_ / "agent") {
  agent_.Start();
}

RunResult Stack::Ctl(std::vector<std::string> args) const {
  args.insert(args.begin(), {"--agent", agent()});
  return Cutoverctl(args);
}

}  // namespace cutover::test

#include "support/demo_site.hpp"

#include <stdexcept>

#include "support/cutoverctl.hpp"

namespace cutover::test {

DemoSite::DemoSite(const Postgres& pg, const std::string& database, DemoSiteOptions options)
    : pg_(pg), database_(database), green_dsn_(pg.Uri(database)) {
  pg.Psql("CREATE DATABASE " + database);
  const std::string sqlite = "sqlite:" + blue_path();
  const auto seeded =
      RunDemoApp({"seed", "--db", sqlite, "--orders", std::to_string(options.orders), "--customers",
                  std::to_string(options.customers)});
  if (seeded.exit_code != 0) throw std::runtime_error("demo seed failed: " + seeded.err);
  const auto migrated = RunDemoApp({"migrate", "--from", sqlite, "--to", green_dsn_,
                                    "--blue-ids-from", std::to_string(options.blue_ids_from)});
  if (migrated.exit_code != 0) throw std::runtime_error("demo migrate failed: " + migrated.err);
  blue_ = std::make_unique<DemoApp>(dir_, "blue", sqlite);
  green_ = std::make_unique<DemoApp>(dir_, "green", green_dsn_);
  port_ = FreePort();
  const std::string proxy =
      "proxy_http_version 1.1; proxy_set_header Connection \"\";"
      " proxy_next_upstream off;";
  std::string body = "  upstream app_blue { server " + blue_->Address() + "; keepalive 16; }\n" +
                     "  upstream app_green { server " + green_->Address() + "; keepalive 16; }\n" +
                     "  upstream app { cutover blue=app_blue green=app_green " +
                     options.cutover_params + "; }\n";
  if (options.unkeyed_twin) body += "  upstream mixed { cutover blue=app_blue green=app_green; }\n";
  body += "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + ";\n" +
          "    location / { proxy_pass http://app; " + proxy + " }\n";
  if (options.unkeyed_twin)
    body += "    location /mixed/ { proxy_pass http://mixed/; " + proxy + " }\n";
  body += "    location = /cutover/status { cutover_status; }\n  }\n";
  nginx_ = std::make_unique<Nginx>(body);
  nginx_->Start(port_);
  AgentOptions agent = LocalAgent(dir_, nginx_->state_path());
  if (options.metrics) agent.metrics = "127.0.0.1:" + std::to_string(FreePort());
  if (options.http) agent.http_socket = dir_ / "http.sock";
  if (options.http && !options.token.empty()) {
    agent.http_port = FreePort();
    agent.token_file = dir_ / "token";
    WriteFile(agent.token_file, options.token + "\n");
  }
  agent_ = std::make_unique<AgentProcess>(agent, dir_ / "agent");
  agent_->Start();
}

DemoSite::~DemoSite() {
  agent_.reset();
  try {
    pg_.Psql(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
        " WHERE database = '" +
        database_ + "' AND NOT active");
  } catch (const std::exception&) {
    // A cluster already stopped keeps nothing to clean.
  }
}

std::string DemoSite::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

RunResult DemoSite::Ctl(std::vector<std::string> args) const {
  args.insert(args.begin(), {"--agent", "unix:" + agent_->options().socket});
  return Cutoverctl(args);
}

}  // namespace cutover::test

// The demo's stack, all real, for whole-stack tests of the sync: the demo app
// (standing for the user's application) on a SQLite file as blue and on
// PostgreSQL as green, both seeded and migrated as the runbook says, nginx
// with the module in front of them, and cutover-agent on nginx's state file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/agent.hpp"
#include "support/demo_app.hpp"
#include "support/nginx.hpp"
#include "support/postgres.hpp"

namespace cutover::test {

struct DemoSiteOptions {
  std::string cutover_params;  // more parameters of the app's cutover line: "key=$http_x_customer"
  // A second cutover "mixed" over the same two slots without them, under /mixed/.
  bool unkeyed_twin = false;
  int customers = 10;
  int orders = 50;
  // Blue's ids continue from here (demo migrate --blue-ids-from): both slots insert.
  std::int64_t blue_ids_from = 1'000'000'000;
  bool metrics = false;  // the agent serves /metrics (DemoSite::metrics_url)
  bool http = false;     // the agent serves the HTTP/JSON API on DemoSite::http_socket
  // With http: on TCP too (DemoSite::http_url, the web view), acting only with this token.
  std::string token;
};

class DemoSite {
 public:
  // Creates `database` on `pg` (which must decode its WAL for a sync).
  DemoSite(const Postgres& pg, const std::string& database, DemoSiteOptions options = {});
  // Stops the agent, then drops the replication slots left in its database
  // (slot names are the cluster's: the next site's sync would meet them).
  ~DemoSite();

  std::string Url(const std::string& path = "/") const;
  std::string blue_path() const { return dir_ / "blue.db"; }
  std::string blue_dsn() const { return "sqlite://" + blue_path(); }
  std::string green_dsn() const { return green_dsn_; }
  DemoApp& blue() { return *blue_; }
  DemoApp& green() { return *green_; }
  Nginx& nginx() { return *nginx_; }
  AgentProcess& agent() { return *agent_; }
  const TempDir& dir() const { return dir_; }
  std::string metrics_url() const { return "http://" + agent_->options().metrics + "/metrics"; }
  std::string http_socket() const { return agent_->options().http_socket; }
  std::string http_url(const std::string& path = "") const { return agent_->HttpUrl(path); }
  // cutoverctl with --agent pointing at this site's agent.
  RunResult Ctl(std::vector<std::string> args) const;

 private:
  TempDir dir_{"cutover-demo-site"};
  const Postgres& pg_;
  std::string database_;
  std::string green_dsn_;
  std::unique_ptr<DemoApp> blue_, green_;
  int port_ = 0;
  std::unique_ptr<Nginx> nginx_;
  std::unique_ptr<AgentProcess> agent_;
};

}  // namespace cutover::test

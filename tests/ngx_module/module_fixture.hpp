// The module in a real nginx (2 workers) in front of real loopback backends:
// two blue peers and one green, a cutover `app` between them, and
// /cutover/status. Tests of tests/ngx_module/ share it; every number they
// assert is what the client saw or what the state file must then say.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "cutover/state_file.hpp"
#include "support/backend.hpp"
#include "support/http.hpp"
#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {

using json = nlohmann::json;
using state::StateFile;

inline constexpr int kWorkers = 2;

// The nginx under test (NginxBinary()) as one number: 1029007 for 1.29.7.
int NginxVersion();

struct Options {
  std::string weight = "0";
  std::string extra_params;    // appended to the cutover directive
  std::string location_extra;  // inside location /
  std::string http_extra;      // inside http
  std::string server_extra;    // inside the server block
  std::string blue_extra;      // inside upstream app_blue
  std::string green_extra;     // inside upstream app_green
  bool green_down = false;     // green's only peer refuses connections
  std::string cutover_name = "app";
};

// What a run of requests saw.
struct Tally {
  std::map<std::string, int> by_slot;  // X-Backend-Server value
  std::map<long, int> by_status;
  std::map<std::string, int> by_backend;  // body: which backend answered
  std::set<std::string> workers;
  int total = 0;
};

class ModuleTest : public ::testing::Test {
 protected:
  void SetUp() override;

  std::string Body(const Options& o) const;
  void StartNginx(const Options& o = {});
  void StartNginxWith(const std::string& body);
  std::string Url(const std::string& path = "/") const;
  json Status();
  StateFile File() { return StateFile::Open(nginx_->state_path()); }

  // The log phase counts a request just after its last byte reaches the
  // client: wait until the counters have caught up with `total` requests.
  std::optional<state::RecordSnapshot> Settled(std::uint64_t total,
                                               const std::string& name = "app");
  json SettledStatus(std::uint64_t total);

  // Sends n requests, a fresh connection every `per_connection` requests so
  // that both workers take a share. Checks on every response that the
  // header is there exactly once and names the slot whose backend answered.
  Tally Send(int n, const std::string& method = "GET",
             const std::map<std::string, std::string>& headers = {}, int per_connection = 10,
             const std::string& path = "/");

  std::unique_ptr<Backend> blue1_, blue2_, green_;
  std::unique_ptr<Nginx> nginx_;
  int port_ = 0;
  int dead_port_ = 0;
};

}  // namespace cutover::test

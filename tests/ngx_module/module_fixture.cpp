#include "module_fixture.hpp"

#include <regex>

namespace cutover::test {

int NginxVersion() {
  static const int version = [] {
    const RunResult r = Run({NginxBinary(), "-v"});
    std::smatch m;
    const std::string out = r.out + r.err;
    if (!std::regex_search(out, m, std::regex("nginx/([0-9]+)\\.([0-9]+)\\.([0-9]+)"))) return 0;
    return std::stoi(m[1]) * 1000000 + std::stoi(m[2]) * 1000 + std::stoi(m[3]);
  }();
  return version;
}

void ModuleTest::SetUp() {
  blue1_ = std::make_unique<Backend>("blue-1");
  blue2_ = std::make_unique<Backend>("blue-2");
  green_ = std::make_unique<Backend>("green-1");
  port_ = FreePort();
  dead_port_ = FreePort();
}

std::string ModuleTest::Body(const Options& o) const {
  const std::string green_addr =
      o.green_down ? "127.0.0.1:" + std::to_string(dead_port_) : green_->address();
  return "  upstream " + o.cutover_name +
         " {\n    cutover blue=app_blue green=app_green weight=" + o.weight + " " + o.extra_params +
         ";\n  }\n" + "  upstream app_blue { server " + blue1_->address() + "; server " +
         blue2_->address() + "; " + o.blue_extra + " }\n" + "  upstream app_green { server " +
         green_addr + "; " + o.green_extra + " }\n" + o.http_extra +
         "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + ";\n" +
         "    location / { proxy_pass http://" + o.cutover_name +
         "; add_header X-Worker $pid always; " + o.location_extra + " }\n" +
         "    location = /cutover/status { cutover_status; }\n" + o.server_extra + "  }\n";
}

void ModuleTest::StartNginx(const Options& o) { StartNginxWith(Body(o)); }

void ModuleTest::StartNginxWith(const std::string& body) {
  nginx_ = std::make_unique<Nginx>(body, kWorkers);
  nginx_->Start(port_);
}

std::string ModuleTest::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

json ModuleTest::Status() {
  HttpClient c;
  auto r = c.Get(Url("/cutover/status"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  return json::parse(r.body);
}

std::optional<state::RecordSnapshot> ModuleTest::Settled(std::uint64_t total,
                                                         const std::string& name) {
  std::optional<state::RecordSnapshot> snap;
  const bool caught_up = WaitFor([&] {
    snap = File().Snapshot(name);
    return snap &&
           snap->slot(state::Slot::kBlue).requests + snap->slot(state::Slot::kGreen).requests ==
               total;
  });
  EXPECT_TRUE(caught_up) << "counters never reached " << total << " requests";
  return snap;
}

json ModuleTest::SettledStatus(std::uint64_t total) {
  Settled(total);
  return Status();
}

Tally ModuleTest::Send(int n, const std::string& method,
                       const std::map<std::string, std::string>& headers, int per_connection,
                       const std::string& path) {
  Tally t;
  std::unique_ptr<HttpClient> client;
  for (int i = 0; i < n; ++i) {
    if (i % per_connection == 0) client = std::make_unique<HttpClient>();
    auto r = client->Request(method, Url(path), method == "GET" ? "" : "x=1", headers);
    EXPECT_NE(r.status, 0) << r.error;
    auto tags = r.All("X-Backend-Server");
    EXPECT_EQ(tags.size(), 1u) << "X-Backend-Server must appear exactly once";
    const std::string tag = tags.empty() ? "" : tags[0];
    if (r.status == 200) {
      const std::string served = r.body.substr(0, r.body.find('-'));
      EXPECT_EQ(tag, served) << "header names " << tag << " but " << r.body << " answered";
      ++t.by_backend[r.body.substr(0, r.body.find('\n'))];
    }
    ++t.by_slot[tag];
    ++t.by_status[r.status];
    t.workers.insert(r.Header("X-Worker"));
    ++t.total;
  }
  return t;
}

}  // namespace cutover::test

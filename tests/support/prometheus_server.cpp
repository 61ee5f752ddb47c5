#include "support/prometheus_server.hpp"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "support/process.hpp"

namespace cutover::test {

PrometheusServer::PrometheusServer() : server_(std::make_unique<httplib::Server>()) {
  server_->Get("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(mutex_);
      last_query_ = req.get_param_value("query");
    }
    ++queries_;
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    char sample[96];
    std::snprintf(sample, sizeof sample, "[%.3f,\"%.17g\"]", now, value_.load());
    switch (mode_.load()) {
      case Mode::kValue:
        res.set_content(std::string(R"({"status":"success","data":{"resultType":"vector",)") +
                            R"("result":[{"metric":{"job":"green"},"value":)" + sample + "}]}}",
                        "application/json");
        return;
      case Mode::kEmpty:
        res.set_content(R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                        "application/json");
        return;
      case Mode::kBadQuery:
        res.status = 400;
        res.set_content(
            R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"})",
            "application/json");
        return;
      case Mode::kDown:
        res.status = 503;
        res.set_content("no healthy upstream", "text/plain");
        return;
    }
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("prometheus stub: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  if (!WaitFor([this] { return server_->is_running() && TcpPortAnswers(port_); }))
    throw std::runtime_error("prometheus stub did not come up");
}

PrometheusServer::~PrometheusServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void PrometheusServer::SetValue(double value) { value_ = value; }

std::string PrometheusServer::last_query() const {
  std::lock_guard lock(mutex_);
  return last_query_;
}

}  // namespace cutover::test

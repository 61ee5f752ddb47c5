// A Prometheus-compatible query API on a loopback port (cpp-httplib in a
// thread): GET /api/v1/query answers in Prometheus's own format, an instant
// vector of one series holding the value the test sets, or whatever failure
// the test asks for. It stands in for Prometheus, which is not installed
// here; the answers follow https://prometheus.io/docs/prometheus/latest/querying/api/.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace cutover::test {

class PrometheusServer {
 public:
  enum class Mode {
    kValue,     // {"status":"success","data":{"resultType":"vector","result":[{...,
                // "value":[t,"v"]}]}}
    kEmpty,     // a vector with no series
    kBadQuery,  // HTTP 400 {"status":"error","errorType":"bad_data","error":"..."}
    kDown,      // HTTP 503, not JSON (a proxy in front of a dead Prometheus)
  };

  PrometheusServer();
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void SetValue(double value);
  void SetMode(Mode mode) { mode_ = mode; }
  // Queries answered so far, and the last PromQL text received.
  int queries() const { return queries_; }
  std::string last_query() const;

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<Mode> mode_{Mode::kValue};
  std::atomic<double> value_{0};
  std::atomic<int> queries_{0};
  mutable std::mutex mutex_;
  std::string last_query_;
};

}  // namespace cutover::test

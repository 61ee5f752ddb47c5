// Instant queries against a Prometheus-compatible HTTP API: GET
// BASE/api/v1/query?query=Q, the API Prometheus, Thanos, Mimir, Cortex and
// VictoriaMetrics all answer. A check needs one number, so an answer is
// "measured" only when the query returned exactly one sample (a scalar, or a
// vector of one series) with a finite value; anything else is inconclusive
// with the reason, never a pass.
#pragma once

#include <chrono>
#include <string>

namespace cutover::agent::analysis {

struct QueryAnswer {
  bool measured = false;
  double value = 0;
  std::string detail;  // "0.42", or why there is no value
};

// Reads the body of an answer with its HTTP status.
QueryAnswer ParseQueryAnswer(long http_status, const std::string& body);

// Runs one query; a transport failure, a timeout or a bad answer is an
// unmeasured answer saying why. Blocks for at most `timeout`: call it off
// the tick.
QueryAnswer QueryPrometheus(const std::string& base_url, const std::string& query,
                            std::chrono::nanoseconds timeout);

}  // namespace cutover::agent::analysis

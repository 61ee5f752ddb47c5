// Sends real HTTP requests the way clients do (concurrent, keep-alive) and
// counts what came back: the values of one response header, the statuses and
// the transport errors. One libcurl multi handle drives `concurrency` easy
// handles; each is re-armed when it finishes, so connections are reused.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cutover::cli {

struct SampleOptions {
  std::string url;
  std::uint64_t requests = 1000;
  unsigned concurrency = 8;
  std::string header = "X-Backend-Server";
  std::chrono::milliseconds timeout{5000};   // per request
  std::vector<std::string> request_headers;  // "Name: value", sent with every request
};

struct SampleResult {
  // Answered responses by header value (kMissing / kRepeated from split_stats.hpp).
  std::map<std::string, std::uint64_t> header_values;
  std::map<long, std::uint64_t> statuses;       // answered responses by HTTP status
  std::map<std::string, std::uint64_t> errors;  // failed requests by curl's reason
  std::uint64_t sent = 0;
  std::uint64_t connections = 0;  // new connections opened: shows keep-alive worked
  std::chrono::duration<double> elapsed{0};
};

// Throws std::runtime_error when libcurl cannot be set up at all.
SampleResult SampleTraffic(const SampleOptions& options);

}  // namespace cutover::cli

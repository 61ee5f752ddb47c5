// One HTTP request with a bound on everything: a total deadline (connect,
// TLS, send and answer together), a cap on the body kept, and a flag that
// abandons it early. For the http gate and the notifier; libcurl underneath.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace cutover::agent {

struct HttpFetchRequest {
  std::string method = "GET";
  std::string url;
  std::string body;                  // sent when not empty (or for POST)
  std::vector<std::string> headers;  // "Name: value"
  std::string unix_socket;           // connect to this socket instead of the URL's host
  std::chrono::milliseconds timeout{5000};
  std::size_t max_body = 64 * 1024;           // bytes of the answer kept; the rest is not read
  const std::atomic<bool>* cancel = nullptr;  // set: give up at once
};

struct HttpFetchResult {
  long status = 0;    // 0: no answer (error says why)
  std::string error;  // curl's words: "Connection refused", "timed out after 5s"
  bool timed_out = false;
  std::string body;  // at most max_body bytes
  bool body_cut = false;
  std::chrono::milliseconds took{0};
};

HttpFetchResult HttpFetch(const HttpFetchRequest& request);

}  // namespace cutover::agent

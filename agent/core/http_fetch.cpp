#include "agent/core/http_fetch.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "agent/core/units.hpp"

namespace cutover::agent {

namespace {

struct Transfer {
  const HttpFetchRequest* request;
  HttpFetchResult* result;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  const std::size_t room = t->request->max_body - t->result->body.size();
  if (len > room) {
    t->result->body.append(data, room);
    t->result->body_cut = true;
    return 0;  // stop reading: curl ends the transfer with CURLE_WRITE_ERROR
  }
  t->result->body.append(data, len);
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(user);
  return t->request->cancel != nullptr && t->request->cancel->load() ? 1 : 0;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

HttpFetchResult HttpFetch(const HttpFetchRequest& request) {
  GlobalInit();
  HttpFetchResult result;
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    result.error = "cannot initialise libcurl";
    return result;
  }
  CURL* c = curl.get();
  Transfer transfer{&request, &result};
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is the answer
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "cutover-agent");
  if (!request.unix_socket.empty())
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str());
  if (request.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method == "POST")
      curl_easy_setopt(c, CURLOPT_POST, 1L);
    else
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  result.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && result.body_cut)) {
    result.status = status;
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    result.timed_out = true;
    result.error = "timed out after " + FormatDuration(request.timeout);
  } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
    result.error = "abandoned (the agent is stopping)";
  } else {
    result.error = error[0] != 0 ? error : curl_easy_strerror(rc);
  }
  return result;
}

}  // namespace cutover::agent

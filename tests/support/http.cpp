#include "support/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace cutover::test {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    resp->headers.clear();  // a new response (after 100 Continue, say)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos)
    resp->headers.emplace_back(Lower(Trim(line.substr(0, colon))), Trim(line.substr(colon + 1)));
  return size * n;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

std::vector<std::string> HttpResponse::All(const std::string& name) const {
  std::vector<std::string> out;
  const std::string want = Lower(name);
  for (const auto& [k, v] : headers)
    if (k == want) out.push_back(v);
  return out;
}

std::string HttpResponse::Header(const std::string& name) const {
  auto all = All(name);
  return all.empty() ? "" : all.front();
}

HttpClient::HttpClient(std::string unix_socket) : unix_socket_(std::move(unix_socket)) {
  static CurlGlobal global;
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::Get(const std::string& url, const std::map<std::string, std::string>& h) {
  return Request("GET", url, "", h);
}

HttpResponse HttpClient::Post(const std::string& url, const std::string& body,
                              const std::map<std::string, std::string>& h) {
  return Request("POST", url, body, h);
}

HttpResponse HttpClient::Request(const std::string& method, const std::string& url,
                                 const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  auto* c = static_cast<CURL*>(curl_);
  HttpResponse resp;
  curl_slist* list = nullptr;
  for (const auto& [k, v] : headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!unix_socket_.empty()) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_socket_.c_str());
  if (!ca_file_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
  } else if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
  } else {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  } else {
    resp.status = 0;
    resp.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  return resp;
}

}  // namespace cutover::test

// A small blocking HTTP client over libcurl, keeping its connection alive
// between requests like a real client would.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cutover::test {

struct HttpResponse {
  long status = 0;    // 0 when the request failed at transport level
  std::string error;  // curl's message when status == 0
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;

  // Every value of a header (names compared case-insensitively).
  std::vector<std::string> All(const std::string& name) const;
  // The single value of a header, or "" when absent.
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  // Over TCP; or, with `unix_socket`, every request goes to that socket
  // (curl --unix-socket) whatever host the URL names.
  explicit HttpClient(std::string unix_socket = "");
  // Trust this PEM certificate for https:// (a test's self-signed one).
  void SetCaFile(std::string path) { ca_file_ = std::move(path); }
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Get(const std::string& url, const std::map<std::string, std::string>& headers = {});
  HttpResponse Post(const std::string& url, const std::string& body,
                    const std::map<std::string, std::string>& headers = {});
  HttpResponse Request(const std::string& method, const std::string& url, const std::string& body,
                       const std::map<std::string, std::string>& headers);

 private:
  void* curl_;
  std::string unix_socket_;
  std::string ca_file_;
};

}  // namespace cutover::test

// The HTTP listener of `cutover-agent --http`: cpp-httplib serving a Router
// on unix sockets (0660, trusted like gRPC's) and TCP (HTTPS with the
// agent's --tls-cert/--tls-key). It owns the transport's limits: the largest
// body (413 beyond), how many streams may be open at once (429 beyond), and
// how each request's Caller is told (peer, unix or not, Authorization).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/http/router.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace cutover::agent::http {

struct HttpServerOptions {
  std::string tls_cert;  // PEM files: TCP listeners serve HTTPS only
  std::string tls_key;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_streams = 16;  // open event streams, all listeners together
  std::size_t workers = 8;       // threads per listener for everything but streams
  // The group of unix sockets (the agent's --socket-group); -1 keeps the agent's.
  gid_t socket_group = static_cast<gid_t>(-1);
};

class HttpServer {
 public:
  HttpServer(const Router& router, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds "unix:/abs/path" or "HOST:PORT" (a stale socket file is removed
  // first). Throws std::runtime_error saying why it cannot.
  void Listen(const std::string& address);
  // Serves every listener, each on its own threads.
  void Start();
  // Stops accepting and waits for the calls in flight; streams end first
  // (they stop when the Api shuts down).
  void Stop();

 private:
  struct Listener;
  void Serve(const Listener& listener, const httplib::Request& request, const std::string& body,
             httplib::Response& response);

  const Router& router_;
  HttpServerOptions options_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::atomic<std::size_t> streams_{0};
  bool stopped_ = false;
};

}  // namespace cutover::agent::http

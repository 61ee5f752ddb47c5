#include "agent/http/server.hpp"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "agent/core/socket_path.hpp"
#include "agent/core/url.hpp"
#include "agent/http/status.hpp"
#include "agent/server/flags.hpp"

namespace cutover::agent::http {

struct HttpServer::Listener {
  std::string address;
  bool unix_socket = false;
  std::string socket_path;
  int port = 0;  // TCP: the port it listens on
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
};

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string MiB(std::size_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                : std::to_string(bytes) + " bytes";
}

// "a=1&b=two%20words" -> [("a","1"), ("b","two words")]
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < query.size()) {
    const auto amp = std::min(query.find('&', pos), query.size());
    const std::string_view param = query.substr(pos, amp - pos);
    if (!param.empty()) {
      const auto eq = param.find('=');
      out.emplace_back(
          PercentDecode(param.substr(0, eq), true),
          eq == std::string_view::npos ? "" : PercentDecode(param.substr(eq + 1), true));
    }
    pos = amp + 1;
  }
  return out;
}

// "127.0.0.1", 8080 for a TCP socket's address, as httplib writes remote_addr.
std::optional<std::pair<std::string, int>> NumericAddress(const sockaddr_storage& addr,
                                                          socklen_t len) {
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return std::nullopt;
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, port,
                    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return std::nullopt;
  return std::make_pair(std::string(host), std::atoi(port));
}

// The descriptor of the connection a request came on, or -1. httplib 0.11
// hands a handler no socket, so it is found among the process's sockets by
// its two ends: for TCP the listener's port and the client's address; for a
// unix socket the listener's path, when this connection is its only one (the
// clients of a unix socket have no address to tell them apart).
int FindConnection(bool unix_socket, const std::string& socket_path, int port,
                   const std::string& remote_addr, int remote_port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  int candidates = 0;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == ::dirfd(dir)) continue;
    struct stat st {};
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_len = sizeof local;
    socklen_t peer_len = sizeof peer;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        ::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0)
      continue;  // a listener, or not connected
    if (unix_socket) {
      if (local.ss_family != AF_UNIX) continue;
      const auto& un = reinterpret_cast<const sockaddr_un&>(local);
      if (socket_path != un.sun_path) continue;
    } else {
      const auto local_end = NumericAddress(local, local_len);
      const auto peer_end = NumericAddress(peer, peer_len);
      if (!local_end || !peer_end || (port != 0 && local_end->second != port) ||
          peer_end->first != remote_addr || peer_end->second != remote_port)
        continue;
    }
    found = static_cast<int>(fd);
    ++candidates;
  }
  ::closedir(dir);
  return candidates == 1 ? found : -1;
}

// Whether the client of a request being served has hung up: asked by a call
// that waits (Preflight, while its gates run) so it can stop when nobody is
// left to read the answer. The connection is looked for once, when first
// asked; it stays open while the handler runs.
std::function<bool()> CallerGoneProbe(bool unix_socket, std::string socket_path, int port,
                                      std::string remote_addr, int remote_port) {
  struct Connection {
    bool looked = false;
    int fd = -1;
  };
  auto connection = std::make_shared<Connection>();
  return [=] {
    if (!connection->looked) {
      connection->looked = true;
      connection->fd = FindConnection(unix_socket, socket_path, port, remote_addr, remote_port);
    }
    if (connection->fd < 0) return false;
    pollfd p{connection->fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  };
}

}  // namespace

HttpServer::HttpServer(const Router& router, HttpServerOptions options)
    : router_(router), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Listen(const std::string& address) {
  auto listener = std::make_unique<Listener>();
  listener->address = address;
  listener->unix_socket = IsUnixAddress(address);
  if (!listener->unix_socket && !options_.tls_cert.empty()) {
    auto tls =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
    if (!tls->is_valid())
      throw std::runtime_error("--http " + address + ": cannot use --tls-cert/--tls-key");
    listener->server = std::move(tls);
  } else {
    listener->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *listener->server;
  const std::size_t threads = options_.workers + options_.max_streams;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_keep_alive_max_count(100000);
  s.set_tcp_nodelay(true);  // else Nagle holds a response's second write for ~40 ms
  const Listener* self = listener.get();
  const std::size_t limit = options_.max_body_bytes;
  const auto too_large = [limit](httplib::Response& res) {
    res.status = 413;
    // The rest of the body is not read: this connection cannot carry another request.
    res.set_header("Connection", "close");
    res.set_content(ErrorJson(413, grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "body: at most " + MiB(limit) + " (" + std::to_string(limit) +
                                  " bytes) per request"),
                    "application/json");
  };
  const auto handle = [this, self](const httplib::Request& req, httplib::Response& res) {
    Serve(*self, req, req.body, res);
  };
  // Bodies are read here, whatever their Content-Type: httplib would parse a
  // form-encoded one (curl -d's default) and refuse it above 8 KiB.
  const auto handle_body = [this, self, limit, too_large](const httplib::Request& req,
                                                          httplib::Response& res,
                                                          const httplib::ContentReader& read) {
    std::string body;
    bool over = false;
    const bool read_all = read([&](const char* data, std::size_t n) {
      if (body.size() + n > limit) return !(over = true);
      body.append(data, n);
      return true;
    });
    // httplib itself refuses a Content-Length above the limit (status 413).
    if (over || res.status == 413) return too_large(res);
    if (!read_all) {
      res.status = 400;
      res.set_header("Connection", "close");
      res.set_content(
          ErrorJson(400, grpc::StatusCode::INVALID_ARGUMENT, "body: could not be read whole"),
          "application/json");
      return;
    }
    Serve(*self, req, body, res);
  };
  s.Get(".*", handle);
  s.Options(".*", handle);
  s.Post(".*", handle_body);
  s.Put(".*", handle_body);
  s.Delete(".*", handle_body);
  s.Patch(".*", handle_body);
  // What httplib refuses before a route runs: a Content-Length above the limit, above all.
  s.set_error_handler([too_large](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 413) {
      too_large(res);
    } else if (res.body.empty()) {
      res.set_content(ErrorJson(res.status, grpc::StatusCode::INVALID_ARGUMENT,
                                req.method + " " + req.path + ": refused with HTTP " +
                                    std::to_string(res.status)),
                      "application/json");
    }
  });

  if (listener->unix_socket) {
    listener->socket_path = UnixPath(address);
    if (auto problem = agent::FreeSocketPath(listener->socket_path))
      throw std::runtime_error("--http " + address + ": " + *problem);
    s.set_address_family(AF_UNIX);
    if (!s.bind_to_port(listener->socket_path, 80))
      throw std::runtime_error("--http " + address + ": cannot listen on this socket");
    ::chmod(listener->socket_path.c_str(), 0660);
    if (options_.socket_group != static_cast<gid_t>(-1) &&
        ::chown(listener->socket_path.c_str(), static_cast<uid_t>(-1), options_.socket_group) != 0)
      throw std::runtime_error("--http " + address + ": cannot give the socket group " +
                               std::to_string(options_.socket_group) + ": " + std::strerror(errno) +
                               " (is the agent in that group?)");
  } else {
    const auto colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    const int port = std::stoi(address.substr(colon + 1));
    listener->port = port;
    if (!s.bind_to_port(host, port))
      throw std::runtime_error("--http " + address + ": cannot listen on this address");
  }
  listeners_.push_back(std::move(listener));
}

void HttpServer::Start() {
  for (auto& l : listeners_) {
    httplib::Server* s = l->server.get();
    l->thread = std::thread([s] { s->listen_after_bind(); });
  }
}

void HttpServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& l : listeners_) l->server->stop();
  for (auto& l : listeners_) {
    if (l->thread.joinable()) l->thread.join();
    if (l->unix_socket) ::unlink(l->socket_path.c_str());
  }
}

void HttpServer::Serve(const Listener& listener, const httplib::Request& req,
                       const std::string& body, httplib::Response& res) {
  HttpRequest request;
  request.method = req.method;
  // The target as sent: the path still encoded (a template matches segments
  // before decoding), and the query parsed here, never from httplib's
  // params, which a form-encoded body also fills.
  const std::string& target = req.target.empty() ? req.path : req.target;
  const auto q = target.find('?');
  request.path = target.substr(0, q);
  if (q != std::string::npos) request.query = ParseQuery(std::string_view(target).substr(q + 1));
  for (const auto& [name, value] : req.headers) request.headers.emplace(Lower(name), value);
  request.body = body;
  if (listener.unix_socket) {
    request.caller.peer = "unix:" + listener.socket_path;
    request.caller.local = true;
  } else {
    const bool v6 = req.remote_addr.find(':') != std::string::npos;
    request.caller.peer =
        (v6 ? "ipv6:[" + req.remote_addr + "]:" : "ipv4:" + req.remote_addr + ":") +
        std::to_string(req.remote_port);
  }
  request.caller.credentials = request.header("authorization");
  request.caller.cancelled = CallerGoneProbe(listener.unix_socket, listener.socket_path,
                                             listener.port, req.remote_addr, req.remote_port);

  HttpResponse response = router_.Dispatch(request);
  if (response.stream) {
    if (streams_.fetch_add(1) >= options_.max_streams) {
      streams_.fetch_sub(1);
      response = HttpResponse::Error(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "at most " + std::to_string(options_.max_streams) +
                                         " event streams at once; try again later");
    } else {
      res.status = response.status;
      for (const auto& [name, value] : response.headers) res.set_header(name.c_str(), value);
      auto stream = response.stream;
      res.set_chunked_content_provider(
          response.content_type,
          [stream](std::size_t, httplib::DataSink& sink) {
            stream(
                [&sink](std::string_view chunk) { return sink.write(chunk.data(), chunk.size()); });
            sink.done();
            return true;
          },
          [this](bool) { streams_.fetch_sub(1); });
      return;
    }
  }
  res.status = response.status;
  for (const auto& [name, value] : response.headers) res.set_header(name.c_str(), value);
  res.set_content(response.body, response.content_type);
}

}  // namespace cutover::agent::http

#include "agent/http/router.hpp"

#include <cctype>
#include <stdexcept>

#include "agent/core/log.hpp"
#include "agent/core/url.hpp"
#include "agent/core/validation.hpp"
#include "agent/http/status.hpp"

namespace cutover::agent::http {

namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  std::size_t pos = 1;
  for (;;) {
    const auto slash = path.find('/', pos);
    out.push_back(path.substr(pos, slash == std::string_view::npos ? path.npos : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

bool IsFieldName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !std::isdigit(static_cast<unsigned char>(s.front()));
}

}  // namespace

std::string HttpRequest::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpResponse HttpResponse::Json(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(grpc::StatusCode code, const std::string& message) {
  return Error(HttpStatusOf(code), code, message);
}

HttpResponse HttpResponse::Error(int http_status, grpc::StatusCode code,
                                 const std::string& message) {
  HttpResponse r = Json(ErrorJson(http_status, code, message), http_status);
  if (code == grpc::StatusCode::UNAUTHENTICATED)
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cutover-agent\"");
  return r;
}

PathTemplate::PathTemplate(std::string text) : text_(std::move(text)) {
  const auto bad = [&](const std::string& why) {
    throw std::invalid_argument("path template \"" + text_ + "\": " + why);
  };
  if (text_ == "/") return;  // the root: no segment (a web view's page)
  auto parts = Split(text_);
  if (parts.empty()) bad("must start with '/'");
  std::string_view last = parts.back();
  // The verb follows the last ':' outside a variable.
  const auto close = last.rfind('}');
  const auto colon = last.find(':', close == std::string_view::npos ? 0 : close);
  if (colon != std::string_view::npos) {
    verb_ = last.substr(colon + 1);
    if (verb_.empty()) bad("empty verb after ':'");
    parts.back() = last.substr(0, colon);
  }
  for (std::string_view part : parts) {
    if (part.empty()) bad("empty segment");
    Segment s;
    if (part.front() == '{') {
      if (part.back() != '}') bad("a variable is a whole segment: {name}");
      s.variable = true;
      s.text = part.substr(1, part.size() - 2);
      if (!IsFieldName(s.text)) bad("\"" + s.text + "\" is not a field name");
      variables_.push_back(s.text);
    } else {
      if (part.find_first_of("{}") != std::string_view::npos)
        bad("a variable is a whole segment: {name}");
      s.text = part;
    }
    segments_.push_back(std::move(s));
  }
}

std::optional<std::map<std::string, std::string>> PathTemplate::Match(std::string_view path) const {
  if (segments_.empty()) {
    if (path == "/") return std::map<std::string, std::string>{};
    return std::nullopt;
  }
  auto parts = Split(path);
  if (parts.size() != segments_.size()) return std::nullopt;
  if (!verb_.empty()) {
    std::string_view& last = parts.back();
    const std::string suffix = ":" + verb_;
    if (last.size() <= suffix.size() || last.substr(last.size() - suffix.size()) != suffix)
      return std::nullopt;
    last = last.substr(0, last.size() - suffix.size());
  }
  std::map<std::string, std::string> values;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Segment& s = segments_[i];
    if (!s.variable) {
      if (parts[i] != s.text) return std::nullopt;
      continue;
    }
    if (parts[i].empty()) return std::nullopt;
    // Without a verb in the template, a ':' in the last segment is a verb
    // this route does not have.
    if (verb_.empty() && i + 1 == parts.size() && parts[i].find(':') != std::string_view::npos)
      return std::nullopt;
    values[s.text] = PercentDecode(parts[i]);
  }
  return values;
}

void Router::Add(std::string method, const std::string& path_template, HttpHandler handler) {
  PathTemplate path(path_template);
  for (const auto& r : routes_)
    if (r.method == method && r.path.text() == path.text())
      throw std::invalid_argument("route " + method + " " + path.text() + " given twice");
  routes_.push_back(Route{std::move(method), std::move(path), std::move(handler)});
}

HttpResponse Router::Dispatch(HttpRequest& request) const {
  std::string allowed;
  for (const auto& route : routes_) {
    auto values = route.path.Match(request.path);
    if (!values) continue;
    const bool head = request.method == "HEAD" && route.method == "GET";
    if (route.method != request.method && !head) {
      if (allowed.find(route.method) == std::string::npos)
        allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    request.path_params = std::move(*values);
    try {
      return route.handler(request);
    } catch (const ApiError& e) {
      return HttpResponse::Error(e.code(), e.what());
    } catch (const InvalidArgument& e) {
      return HttpResponse::Error(grpc::StatusCode::INVALID_ARGUMENT, e.what());
    } catch (const std::exception& e) {
      LogError(std::string("http: internal error on ") + request.method + " " + request.path +
               ": " + e.what());
      return HttpResponse::Error(grpc::StatusCode::INTERNAL, e.what());
    }
  }
  if (!allowed.empty()) {
    HttpResponse r = HttpResponse::Error(
        405, grpc::StatusCode::UNIMPLEMENTED,
        request.method + " " + request.path + ": method not allowed (allowed: " + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    return r;
  }
  return HttpResponse::Error(404, grpc::StatusCode::NOT_FOUND,
                             "no route for " + request.method + " " + request.path +
                                 " (GET /v1/cutovers lists the cutovers; docs/agent.md lists every "
                                 "route)");
}

std::vector<std::string> Router::Describe() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.method + " " + r.path.text());
  return out;
}

}  // namespace cutover::agent::http

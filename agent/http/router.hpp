// The HTTP listener's routes, whatever serves them: a method and a path
// template ("/v1/cutovers/{cutover}:setWeight", the google.api.http grammar's
// single-segment subset) to a handler. The API's routes come from the proto
// (api_routes.hpp); anything else the listener serves later (a web view's
// page and its JSON) is added the same way, with Add.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/server/api.hpp"

namespace cutover::agent::http {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // as sent, still percent-encoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // names lower-cased
  std::string body;
  Caller caller;
  std::map<std::string, std::string> path_params;  // decoded; filled by the router

  std::string header(const std::string& lower_case_name) const;
};

// Writes one chunk of a streamed answer; false when the client has gone.
using StreamWriter = std::function<bool(std::string_view chunk)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a streamed answer (body unused): runs until the stream ends or a
  // write fails.
  std::function<void(const StreamWriter&)> stream;

  static HttpResponse Json(std::string body, int status = 200);
  // The JSON error body for an API error (status by the transcoding table).
  static HttpResponse Error(grpc::StatusCode code, const std::string& message);
  static HttpResponse Error(int http_status, grpc::StatusCode code, const std::string& message);
};

using HttpHandler = std::function<HttpResponse(HttpRequest&)>;

// "/v1/cutovers/{cutover}:setWeight": literal segments and whole-segment
// {field} variables; the last segment may end in ":verb".
class PathTemplate {
 public:
  // Throws std::invalid_argument saying what is wrong with the template.
  explicit PathTemplate(std::string text);
  // The variables' decoded values when `path` (percent-encoded) matches.
  std::optional<std::map<std::string, std::string>> Match(std::string_view path) const;
  const std::string& text() const { return text_; }
  const std::vector<std::string>& variables() const { return variables_; }

 private:
  struct Segment {
    bool variable = false;
    std::string text;  // the literal, or the variable's name
  };
  std::string text_;
  std::vector<Segment> segments_;
  std::string verb_;
  std::vector<std::string> variables_;
};

class Router {
 public:
  // Throws std::invalid_argument for a bad template or a route given twice.
  void Add(std::string method, const std::string& path_template, HttpHandler handler);
  // The answer of the route that matches; 404 or 405 (with Allow) as JSON
  // errors when none does. A handler's ApiError or InvalidArgument becomes
  // its JSON error; anything else a 500.
  HttpResponse Dispatch(HttpRequest& request) const;
  // "GET /v1/cutovers", in the order added.
  std::vector<std::string> Describe() const;

 private:
  struct Route {
    std::string method;
    PathTemplate path;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace cutover::agent::http

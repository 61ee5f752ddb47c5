// The agent's API over HTTP/JSON, mapped the way gRPC transcoding maps
// google.api.http: each RPC of cutover.v1.CutoverService is served at the
// route(s) of its (cutover.v1.http) option (proto/cutover/v1/http.proto),
// onto its Api call (never around it), so HTTP has gRPC's validation,
// authorization and errors.
//   path variables -> the request's fields of that name
//   body "*"       -> the JSON body is the request (empty: {})
//   no body        -> other fields from the query string (?limit=20)
//   answer         -> the response as JSON (proto field names, every field)
//   WatchEvents    -> server-sent events, or JSON lines (Accept: application/x-ndjson)
#pragma once

#include <string>
#include <vector>

#include "agent/http/router.hpp"
#include "agent/server/api.hpp"

namespace cutover::agent::http {

// Adds every binding of every RPC. Throws std::logic_error when an RPC has
// no route or no Api call here (the proto and this file disagree).
void AddApiRoutes(Router& router, Api& api);

// "METHOD /path -> RPC" for every binding, from the proto's options.
std::vector<std::string> ApiRoutes();

}  // namespace cutover::agent::http

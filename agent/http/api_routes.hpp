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

// Adds every binding of every RPC that has a route and an Api call here.
// Returns what it could not serve ("SyncStart: no (cutover.v1.http) route in
// the proto"): a new RPC the proto and api_routes.cpp do not agree on yet.
// The agent logs them and serves the rest; a test asserts there are none.
std::vector<std::string> AddApiRoutes(Router& router, Api& api);

// "METHOD /path -> RPC" for every binding, from the proto's options.
std::vector<std::string> ApiRoutes();

}  // namespace cutover::agent::http

// gRPC status codes as HTTP says them: the status each maps to (gRPC
// transcoding's table, google/rpc/code.proto) and the JSON error body every
// failed HTTP call answers, Google's JSON error shape:
//   {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "percent: ..."}}
#pragma once

#include <grpcpp/support/status.h>

#include <string>

namespace cutover::agent::http {

// 400 for INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE; 401, 403,
// 404, 409 (ALREADY_EXISTS, ABORTED), 429, 499, 501, 503, 504; 500 else.
int HttpStatusOf(grpc::StatusCode code);
// "INVALID_ARGUMENT", ...
std::string StatusName(grpc::StatusCode code);

// The JSON error body. `http_status` is normally HttpStatusOf(code); the
// listener's own refusals (413, 404, 405) say theirs.
std::string ErrorJson(int http_status, grpc::StatusCode code, const std::string& message);

}  // namespace cutover::agent::http

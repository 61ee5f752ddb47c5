// The one error the API's code throws: a message with its gRPC status code,
// which every transport (gRPC, HTTP/JSON) maps onto its own.
#pragma once

#include <grpcpp/support/status_code_enum.h>

#include <stdexcept>
#include <string>

namespace cutover::agent {

class ApiError : public std::runtime_error {
 public:
  ApiError(grpc::StatusCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  grpc::StatusCode code() const { return code_; }

 private:
  grpc::StatusCode code_;
};

}  // namespace cutover::agent

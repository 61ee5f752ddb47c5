// Protobuf's JSON mapping as the agent's callers see it: proto field names,
// every primitive printed (a 0% weight is "green_percent": 0, not absent).
// Parsing names the field a problem is in, in the API's own terms
// ("plan.steps[0].hold: ..."), as every other INVALID_ARGUMENT does.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

namespace cutover::agent {

// One line of JSON. Throws std::runtime_error when protobuf cannot encode it.
std::string ProtoToJson(const google::protobuf::Message& message);

// `text` as a JSON string literal, quotes included (invalid UTF-8 replaced).
std::string JsonString(std::string_view text);

// Fills `out` from a JSON object (proto or JSON field names; unknown fields
// refused). Throws InvalidArgument (validation.hpp) naming the field, or
// `what` ("body") for a problem with the document as a whole.
void JsonToProto(std::string_view json, google::protobuf::Message* out,
                 const std::string& what = "body");

}  // namespace cutover::agent

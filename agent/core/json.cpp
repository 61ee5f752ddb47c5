#include "agent/core/json.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <stdexcept>

#include "agent/core/text.hpp"
#include "agent/core/validation.hpp"

namespace cutover::agent {

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// What a value of protobuf's type name should look like, in words.
std::string Expected(std::string type) {
  if (type == "TYPE_DOUBLE" || type == "TYPE_FLOAT") return "a number";
  if (type == "TYPE_STRING") return "a string";
  if (type == "TYPE_BOOL") return "true or false";
  if (type.find("INT") != std::string::npos) return "a whole number";
  if (type == "TYPE_BYTES") return "base64 text";
  const std::string prefix = "type.googleapis.com/";
  if (StartsWith(type, prefix)) type = type.substr(prefix.size());
  if (type == "google.protobuf.Duration") return "a duration string such as \"10s\" or \"0.5s\"";
  if (type == "google.protobuf.Timestamp")
    return "an RFC 3339 time such as \"2024-01-02T03:04:05Z\"";
  if (const auto* e =
          google::protobuf::DescriptorPool::generated_pool()->FindEnumTypeByName(type)) {
    std::string names;
    for (int i = 0; i < e->value_count(); ++i)
      names += (names.empty() ? "" : ", ") + e->value(i)->name();
    return "one of " + names;
  }
  return "a " + type;
}

// protobuf 3.21's parse errors, rephrased "field: problem":
//   "percnt: Cannot find field."
//   "(plan.steps[0]) percnt: Cannot find field."
//   "(percent): invalid value \"abc\" for type TYPE_DOUBLE"
//   "(plan.steps[0].hold): invalid value Field 'hold', Illegal duration format; ... for type T"
std::string Rephrase(std::string message, const std::string& what) {
  const std::string unknown = ": Cannot find field.";
  if (message.size() > unknown.size() &&
      message.compare(message.size() - unknown.size(), unknown.size(), unknown) == 0) {
    std::string field = message.substr(0, message.size() - unknown.size());
    if (StartsWith(field, "(")) {
      const auto close = field.find(") ");
      if (close != std::string::npos)
        field = field.substr(1, close - 1) + "." + field.substr(close + 2);
    }
    return field + ": unknown field";
  }
  if (StartsWith(message, "(")) {
    const auto close = message.find("): ");
    if (close != std::string::npos) {
      const std::string field = message.substr(1, close - 1);
      std::string problem = message.substr(close + 3);
      const std::string for_type = " for type ";
      const auto t = problem.rfind(for_type);
      std::string expected;
      if (t != std::string::npos) {
        expected = Expected(problem.substr(t + for_type.size()));
        problem = problem.substr(0, t);
      }
      const std::string invalid = "invalid value ";
      if (StartsWith(problem, invalid)) problem = problem.substr(invalid.size());
      // Well-known types say "Field 'hold', <why>": the field is named already.
      if (StartsWith(problem, "Field '")) {
        const auto comma = problem.find("', ");
        if (comma != std::string::npos) problem = problem.substr(comma + 3);
        return (field.empty() ? what : field) + ": " + problem +
               (expected.empty() ? "" : " (expected " + expected + ")");
      }
      return (field.empty() ? what : field) + ": " + problem +
             (expected.empty() ? "" : " is not " + expected);
    }
  }
  if (message.find("Root element must be a message") != std::string::npos)
    return what + ": must be a JSON object";
  // Syntax errors: the first line, without the caret picture below it.
  const auto newline = message.find('\n');
  return what + ": not valid JSON: " + message.substr(0, newline);
}

}  // namespace

std::string ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  const auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) throw std::runtime_error("cannot encode as JSON: " + status.ToString());
  return out;
}

std::string JsonString(std::string_view text) {
  // By hand rather than protobuf's writer, which escapes '<', '>' and '&'
  // for HTML and makes "-> 5" read "-\u003e 5" in a terminal.
  std::string out = "\"";
  for (char c : ValidUtf8(text)) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void JsonToProto(std::string_view json, google::protobuf::Message* out, const std::string& what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), out, options);
  if (status.ok()) return;
  const std::string message(status.message().data(), status.message().size());
  const std::string problem = Rephrase(message, what);
  const auto colon = problem.find(": ");
  throw InvalidArgument(problem.substr(0, colon), problem.substr(colon + 2));
}

}  // namespace cutover::agent

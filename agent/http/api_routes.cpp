#include "agent/http/api_routes.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>

#include "agent/core/json.hpp"
#include "agent/core/validation.hpp"
#include "cutover/v1/cutover.pb.h"
#include "cutover/v1/http.pb.h"

namespace cutover::agent::http {

namespace {

namespace pb = google::protobuf;

using UnaryCall =
    std::function<std::unique_ptr<pb::Message>(Api&, const Caller&, const pb::Message&)>;

template <typename Request, typename Response>
UnaryCall Call(Response (Api::*call)(const Caller&, const Request&)) {
  return [call](Api& api, const Caller& caller, const pb::Message& request) {
    return std::unique_ptr<pb::Message>(
        new Response((api.*call)(caller, static_cast<const Request&>(request))));
  };
}

// Every unary RPC's Api call, by RPC name. A new RPC needs its line here and
// its (http) option in the proto; AddApiRoutes reports an RPC without both.
const std::map<std::string, UnaryCall>& UnaryCalls() {
  static const std::map<std::string, UnaryCall> calls = {
      {"ListCutovers", Call(&Api::ListCutovers)},
      {"GetStatus", Call(&Api::GetStatus)},
      {"SetWeight", Call(&Api::SetWeight)},
      {"StartRollout", Call(&Api::StartRollout)},
      {"PauseRollout", Call(&Api::PauseRollout)},
      {"ResumeRollout", Call(&Api::ResumeRollout)},
      {"PromoteRollout", Call(&Api::PromoteRollout)},
      {"AbortRollout", Call(&Api::AbortRollout)},
      {"GetHistory", Call(&Api::GetHistory)},
      {"Preflight", Call(&Api::Preflight)},
      {"RetryRollout", Call(&Api::RetryRollout)},
      {"SetPeerState", Call(&Api::SetPeerState)},
      // sync (10)
      {"StartSync", Call(&Api::StartSync)},
      {"GetSync", Call(&Api::GetSync)},
      {"StopSync", Call(&Api::StopSync)},
  };
  return calls;
}

constexpr char kWatchEvents[] = "WatchEvents";
// A streamed answer says something at least this often, so a client that
// has gone is noticed (a write fails) and proxies keep the connection.
constexpr auto kKeepalive = std::chrono::seconds(15);

struct Binding {
  std::string method;  // "GET", "POST"
  std::string path;
  bool body = false;  // body "*"
};

std::vector<Binding> BindingsOf(const pb::MethodDescriptor& rpc) {
  std::vector<Binding> out;
  if (!rpc.options().HasExtension(v1::http)) return out;
  const v1::HttpRule& rule = rpc.options().GetExtension(v1::http);
  auto add = [&](const v1::HttpRule& r) {
    if (r.body() != "" && r.body() != "*")
      throw std::logic_error(rpc.full_name() + ": only body \"*\" or none is served");
    if (r.pattern_case() == v1::HttpRule::kGet) out.push_back({"GET", r.get(), r.body() == "*"});
    if (r.pattern_case() == v1::HttpRule::kPost) out.push_back({"POST", r.post(), r.body() == "*"});
  };
  add(rule);
  for (const auto& extra : rule.additional_bindings()) add(extra);
  return out;
}

bool ParseBool(const std::string& s, bool* out) {
  if (s == "true" || s == "1") return *out = true, true;
  if (s == "false" || s == "0") return *out = false, true;
  return false;
}

template <typename T>
bool ParseNumber(const std::string& s, T* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// Sets a scalar field (or adds to a repeated one) from text, as transcoding
// binds path variables and query parameters. `name` may be dotted
// ("plan.on_breach") and use the JSON name.
void SetFromText(pb::Message* message, const std::string& name, const std::string& text,
                 const std::string& where) {
  pb::Message* target = message;
  const pb::FieldDescriptor* field = nullptr;
  std::size_t pos = 0;
  for (;;) {
    const auto dot = name.find('.', pos);
    const std::string part = name.substr(pos, dot == std::string::npos ? dot : dot - pos);
    const pb::Descriptor* d = target->GetDescriptor();
    field = d->FindFieldByName(part);
    if (field == nullptr) field = d->FindFieldByCamelcaseName(part);
    if (field == nullptr) throw InvalidArgument(name, "unknown " + where);
    if (dot == std::string::npos) break;
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated())
      throw InvalidArgument(name, "\"" + part + "\" has no fields");
    target = target->GetReflection()->MutableMessage(target, field);
    pos = dot + 1;
  }
  const pb::Reflection* r = target->GetReflection();
  const bool repeated = field->is_repeated();
  const auto bad = [&](const std::string& expected) {
    throw InvalidArgument(name, "\"" + text + "\" is not " + expected);
  };
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      repeated ? r->AddString(target, field, text) : r->SetString(target, field, text);
      return;
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v = false;
      if (!ParseBool(text, &v)) bad("true or false");
      repeated ? r->AddBool(target, field, v) : r->SetBool(target, field, v);
      return;
    }
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      std::int32_t v = 0;
      if (!ParseNumber(text, &v)) bad("a whole number");
      repeated ? r->AddInt32(target, field, v) : r->SetInt32(target, field, v);
      return;
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      std::int64_t v = 0;
      if (!ParseNumber(text, &v)) bad("a whole number");
      repeated ? r->AddInt64(target, field, v) : r->SetInt64(target, field, v);
      return;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      std::uint32_t v = 0;
      if (!ParseNumber(text, &v)) bad("a whole number >= 0");
      repeated ? r->AddUInt32(target, field, v) : r->SetUInt32(target, field, v);
      return;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      std::uint64_t v = 0;
      if (!ParseNumber(text, &v)) bad("a whole number >= 0");
      repeated ? r->AddUInt64(target, field, v) : r->SetUInt64(target, field, v);
      return;
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v = 0;
      if (!ParseNumber(text, &v) || !std::isfinite(v)) bad("a number");
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT)
        repeated ? r->AddFloat(target, field, static_cast<float>(v))
                 : r->SetFloat(target, field, static_cast<float>(v));
      else
        repeated ? r->AddDouble(target, field, v) : r->SetDouble(target, field, v);
      return;
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* v = field->enum_type()->FindValueByName(text);
      if (v == nullptr) {
        std::string names;
        for (int i = 0; i < field->enum_type()->value_count(); ++i)
          names += (i ? ", " : "") + field->enum_type()->value(i)->name();
        bad("one of " + names);
      }
      repeated ? r->AddEnum(target, field, v) : r->SetEnum(target, field, v);
      return;
    }
    default:
      throw InvalidArgument(name, "cannot be given in the " + where + " (send it in a JSON body)");
  }
}

// The request of one binding: body, then path variables, then the query.
std::unique_ptr<pb::Message> BuildRequest(const pb::MethodDescriptor& rpc, const Binding& binding,
                                          const HttpRequest& http) {
  const pb::Message* prototype =
      pb::MessageFactory::generated_factory()->GetPrototype(rpc.input_type());
  std::unique_ptr<pb::Message> request(prototype->New());
  if (binding.body) {
    if (http.body.find_first_not_of(" \t\r\n") != std::string::npos)
      JsonToProto(http.body, request.get(), "body");
    if (!http.query.empty())
      throw InvalidArgument(http.query.front().first,
                            "unknown query parameter (this route takes its fields in the JSON "
                            "body)");
  }
  for (const auto& [name, value] : http.path_params) {
    if (binding.body) {
      // The path names the resource; a body naming another one is a mistake.
      const pb::FieldDescriptor* f = rpc.input_type()->FindFieldByName(name);
      if (f != nullptr && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING &&
          !f->is_repeated()) {
        const std::string in_body = request->GetReflection()->GetString(*request, f);
        if (!in_body.empty() && in_body != value)
          throw InvalidArgument(name,
                                "the path says \"" + value + "\", the body \"" + in_body + "\"");
      }
    }
    SetFromText(request.get(), name, value, "path variable");
  }
  if (!binding.body)
    for (const auto& [name, value] : http.query) {
      if (http.path_params.count(name) != 0)
        throw InvalidArgument(name, "given in the path already");
      SetFromText(request.get(), name, value, "query parameter");
    }
  return request;
}

bool WantsJsonLines(const HttpRequest& http) {
  const std::string accept = http.header("accept");
  return accept.find("application/x-ndjson") != std::string::npos ||
         accept.find("application/jsonl") != std::string::npos;
}

HttpResponse Watch(Api& api, const HttpRequest& http, v1::WatchEventsRequest request) {
  // An EventSource reconnecting says the last event it saw: go on after it.
  const std::string last_id = http.header("last-event-id");
  std::uint64_t last = 0;
  if (!last_id.empty() && request.since_sequence() == 0) {
    if (!ParseNumber(last_id, &last))
      throw InvalidArgument("Last-Event-ID", "\"" + last_id + "\" is not an event's sequence");
    request.set_since_sequence(last + 1);
  }
  auto watch = std::make_shared<EventWatch>(api.WatchEvents(http.caller, request));
  // The replay is read now, so a journal that cannot be read is an error
  // status rather than a stream that ends at once.
  auto replay = std::make_shared<std::vector<v1::Event>>(watch->Replay());
  const bool lines = WantsJsonLines(http);
  HttpResponse response;
  response.content_type = lines ? "application/x-ndjson" : "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("X-Accel-Buffering", "no");  // an nginx in front: do not buffer
  response.stream = [watch, replay, lines](const StreamWriter& write) {
    auto send = [&](const v1::Event& e) {
      const std::string json = ProtoToJson(e);
      if (lines) return write(json + "\n");
      return write("id: " + std::to_string(e.sequence()) + "\nevent: " + e.kind() +
                   "\ndata: " + json + "\n\n");
    };
    auto said = std::chrono::steady_clock::now();
    // SSE: a comment at once, so the client sees the stream is open.
    if (!lines && !write(": watching\n\n")) return;
    for (const auto& e : *replay)
      if (!send(e)) return;
    while (!watch->closed()) {
      const auto events = watch->Next(std::chrono::milliseconds(250));
      for (const auto& e : events)
        if (!send(e)) return;
      const auto now = std::chrono::steady_clock::now();
      if (!events.empty()) {
        said = now;
      } else if (now - said >= kKeepalive) {
        if (!write(lines ? "\n" : ": keepalive\n\n")) return;
        said = now;
      }
    }
  };
  return response;
}

const pb::ServiceDescriptor* Service() {
  const pb::ServiceDescriptor* service =
      v1::ListCutoversRequest::descriptor()->file()->FindServiceByName("CutoverService");
  if (service == nullptr) throw std::logic_error("cutover.v1.CutoverService is not in the proto");
  return service;
}

}  // namespace

std::vector<std::string> ApiRoutes() {
  std::vector<std::string> out;
  const pb::ServiceDescriptor* service = Service();
  for (int i = 0; i < service->method_count(); ++i)
    for (const auto& b : BindingsOf(*service->method(i)))
      out.push_back(b.method + " " + b.path + " -> " + service->method(i)->name());
  return out;
}

std::vector<std::string> AddApiRoutes(Router& router, Api& api) {
  std::vector<std::string> unserved;
  const pb::ServiceDescriptor* service = Service();
  for (int i = 0; i < service->method_count(); ++i) {
    const pb::MethodDescriptor* rpc = service->method(i);
    const auto bindings = BindingsOf(*rpc);
    if (bindings.empty()) {
      unserved.push_back(rpc->name() + ": no (cutover.v1.http) route in the proto");
      continue;
    }
    const bool streaming = rpc->server_streaming();
    if (streaming && rpc->name() != kWatchEvents) {
      unserved.push_back(rpc->name() + ": no HTTP streaming mapping for it in api_routes.cpp");
      continue;
    }
    UnaryCall call;
    if (!streaming) {
      auto it = UnaryCalls().find(rpc->name());
      if (it == UnaryCalls().end()) {
        unserved.push_back(rpc->name() + ": a route but no Api call in api_routes.cpp");
        continue;
      }
      call = it->second;
    }
    for (const Binding& binding : bindings) {
      router.Add(binding.method, binding.path,
                 [&api, rpc, binding, call, streaming](HttpRequest& http) {
                   std::unique_ptr<pb::Message> request = BuildRequest(*rpc, binding, http);
                   if (streaming)
                     return Watch(api, http, static_cast<const v1::WatchEventsRequest&>(*request));
                   return HttpResponse::Json(ProtoToJson(*call(api, http.caller, *request)));
                 });
    }
  }
  return unserved;
}

}  // namespace cutover::agent::http

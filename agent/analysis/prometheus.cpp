#include "agent/analysis/prometheus.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "agent/core/http_fetch.hpp"
#include "agent/core/text.hpp"
#include "agent/core/url.hpp"

namespace cutover::agent::analysis {

namespace {

using nlohmann::json;

QueryAnswer Unmeasured(std::string why) { return QueryAnswer{false, 0, std::move(why)}; }

std::string Shorten(const std::string& s, std::size_t max = 200) { return Excerpt(s, max); }

// A sample is [unix time, "value"]; Prometheus sends the value as a string
// ("NaN", "+Inf" included).
QueryAnswer FromSample(const json& sample) {
  if (!sample.is_array() || sample.size() != 2 || !sample[1].is_string())
    return Unmeasured("the answer's sample is not [time, \"value\"]");
  const std::string text = sample[1].get<std::string>();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    return Unmeasured("the value \"" + Shorten(text, 40) + "\" is not a number");
  if (!std::isfinite(value)) return Unmeasured("the value is " + text);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", value);
  return QueryAnswer{true, value, buf};
}

}  // namespace

QueryAnswer ParseQueryAnswer(long http_status, const std::string& body) {
  json answer;
  try {
    answer = json::parse(body);
  } catch (const json::exception&) {
    return Unmeasured("HTTP " + std::to_string(http_status) + ": the answer is not JSON (" +
                      Shorten(body, 80) + ")");
  }
  if (!answer.is_object()) return Unmeasured("the answer is not a JSON object");
  const std::string status = answer.value("status", "");
  if (status != "success" || http_status != 200) {
    std::string why = "HTTP " + std::to_string(http_status);
    if (answer.contains("errorType") && answer["errorType"].is_string())
      why += ", " + answer["errorType"].get<std::string>();
    if (answer.contains("error") && answer["error"].is_string())
      why += ": " + Shorten(answer["error"].get<std::string>());
    return Unmeasured(why);
  }
  const json& data = answer.contains("data") ? answer["data"] : json();
  if (!data.is_object() || !data.contains("resultType") || !data.contains("result"))
    return Unmeasured("the answer has no data.resultType and data.result");
  const std::string type =
      data["resultType"].is_string() ? data["resultType"].get<std::string>() : "";
  const json& result = data["result"];
  if (type == "scalar") return FromSample(result);
  if (type == "vector") {
    if (!result.is_array()) return Unmeasured("the vector result is not a list");
    if (result.empty()) return Unmeasured("the query returned no series");
    if (result.size() > 1)
      return Unmeasured("the query returned " + std::to_string(result.size()) +
                        " series; a check needs one (aggregate them: sum, max, ...)");
    if (!result[0].is_object() || !result[0].contains("value"))
      return Unmeasured("the series has no value");
    return FromSample(result[0]["value"]);
  }
  return Unmeasured("the query returned a " + (type.empty() ? std::string("?") : type) +
                    "; a check needs an instant vector of one series, or a scalar");
}

QueryAnswer QueryPrometheus(const std::string& base_url, const std::string& query,
                            std::chrono::nanoseconds timeout) {
  constexpr std::size_t kMaxAnswer = 1 << 20;  // an answer this large is not one number
  HttpFetchRequest request;
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  request.url = url + "/api/v1/query?query=" + PercentEncode(query);
  request.timeout = std::max(std::chrono::milliseconds(1),
                             std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  request.max_body = kMaxAnswer;
  const HttpFetchResult answer = HttpFetch(request);
  if (answer.status == 0) return Unmeasured("query failed: " + answer.error);
  if (answer.body_cut) return Unmeasured("the answer is larger than 1 MiB");
  return ParseQueryAnswer(answer.status, answer.body);
}

}  // namespace cutover::agent::analysis

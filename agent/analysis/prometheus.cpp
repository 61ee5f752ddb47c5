#include "agent/analysis/prometheus.hpp"

#include <curl/curl.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

namespace cutover::agent::analysis {

namespace {

using nlohmann::json;

QueryAnswer Unmeasured(std::string why) { return QueryAnswer{false, 0, std::move(why)}; }

std::string Shorten(std::string s, std::size_t max = 200) {
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

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

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() > (1u << 20)) return 0;  // an answer this large is not one number
  body->append(data, size * n);
  return size * n;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

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
  static CurlGlobal global;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Unmeasured("cannot start an HTTP request");
  std::unique_ptr<char, decltype(&curl_free)> escaped(
      curl_easy_escape(curl.get(), query.c_str(), static_cast<int>(query.size())), &curl_free);
  if (!escaped) return Unmeasured("cannot encode the query");
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/api/v1/query?query=" + std::string(escaped.get());
  std::string body;
  const long ms = std::max<long>(
      1, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) return Unmeasured(std::string("query failed: ") + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  return ParseQueryAnswer(status, body);
}

}  // namespace cutover::agent::analysis

// `cutoverctl sample`: the traffic-split validator.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "agent/cli/command.hpp"
#include "agent/cli/errors.hpp"
#include "agent/cli/render.hpp"
#include "agent/cli/split_stats.hpp"
#include "agent/cli/traffic_sampler.hpp"
#include "agent/core/units.hpp"

namespace cutover::cli {

namespace {

std::string Fixed(double value, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

SampleOptions ReadOptions(const Context& ctx) {
  SampleOptions options;
  options.url = ctx.Arg(0);
  if (!options.url.starts_with("http://") && !options.url.starts_with("https://"))
    throw UsageError("URL \"" + options.url + "\" must start with http:// or https://");
  if (const auto v = ctx.args.Get("requests"))
    options.requests = ParseCount("requests", *v, 1, 10'000'000);
  if (const auto v = ctx.args.Get("concurrency"))
    options.concurrency = static_cast<unsigned>(ParseCount("concurrency", *v, 1, 1000));
  if (const auto v = ctx.args.Get("header")) {
    if (v->empty() || v->find_first_of(": \t\r\n") != std::string::npos)
      throw UsageError("--header \"" + *v + "\" is not a header name");
    options.header = *v;
  }
  for (const auto& h : ctx.args.All("request-header")) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || h.find_first_of("\r\n") != std::string::npos)
      throw UsageError("--request-header \"" + h + "\" is not 'NAME: VALUE'");
    options.request_headers.push_back(h);
  }
  options.timeout = ctx.timeout;
  return options;
}

double ReadTolerance(const Context& ctx) {
  const auto v = ctx.args.Get("tolerance");
  if (!v) return 2.0;
  std::string why;
  const auto t = agent::ParsePercent(*v, &why);
  if (!t) throw UsageError("--tolerance: " + why);
  return *t;
}

std::vector<Expectation> ReadExpectations(const Context& ctx) {
  std::vector<Expectation> out;
  for (const auto& text : ctx.args.All("expect")) {
    std::string why;
    const auto e = ParseExpectation(text, &why);
    if (!e) throw UsageError("--expect: " + why);
    out.push_back(*e);
  }
  return out;
}

nlohmann::json IntervalJson(const Interval& i) { return {{"low", i.low}, {"high", i.high}}; }

nlohmann::json ToJson(const SampleOptions& options, const SampleResult& result,
                      const SplitReport& report, bool judged) {
  nlohmann::json j;
  j["url"] = options.url;
  j["header"] = options.header;
  j["requests"] = options.requests;
  j["concurrency"] = options.concurrency;
  j["sent"] = result.sent;
  j["answered"] = report.answered;
  j["connections"] = result.connections;
  j["elapsed_seconds"] = result.elapsed.count();
  std::uint64_t error_count = 0;
  j["errors"] = nlohmann::json::object();
  for (const auto& [reason, n] : result.errors) {
    j["errors"][reason] = n;
    error_count += n;
  }
  j["error_count"] = error_count;
  j["statuses"] = nlohmann::json::object();
  for (const auto& [status, n] : result.statuses) j["statuses"][std::to_string(status)] = n;
  j["split"] = nlohmann::json::array();
  for (const auto& s : report.shares)
    j["split"].push_back({{"value", s.value},
                          {"count", s.count},
                          {"percent", s.percent},
                          {"ci95", IntervalJson(s.ci95)}});
  const auto count_of = [&](const char* v) {
    const auto it = result.header_values.find(v);
    return it == result.header_values.end() ? std::uint64_t{0} : it->second;
  };
  j["missing"] = count_of(kMissing);
  j["repeated"] = count_of(kRepeated);
  j["expectations"] = nlohmann::json::array();
  for (const auto& e : report.expectations)
    j["expectations"].push_back({{"slot", e.expected.slot},
                                 {"expected", e.expected.percent},
                                 {"tolerance", e.tolerance},
                                 {"observed", e.observed},
                                 {"ci95", IntervalJson(e.ci95)},
                                 {"pass", e.within_tolerance},
                                 {"expected_in_ci", e.expected_in_ci},
                                 {"sample_too_small", e.sample_too_small}});
  j["verdict"] = judged ? nlohmann::json(report.passed ? "pass" : "fail") : nlohmann::json();
  return j;
}

std::string ToText(const SampleOptions& options, const SampleResult& result,
                   const SplitReport& report, bool judged) {
  std::uint64_t error_count = 0;
  for (const auto& [reason, n] : result.errors) error_count += n;
  const double seconds = result.elapsed.count();
  std::string out = "sampled " + options.url + ": " + std::to_string(result.sent) + " requests, " +
                    std::to_string(report.answered) + " answered, " + std::to_string(error_count) +
                    " failed, " + std::to_string(result.connections) + " connection(s), " +
                    Fixed(seconds, 2) + "s";
  if (seconds > 0) out += " (" + Fixed(static_cast<double>(result.sent) / seconds, 0) + " req/s)";
  out += "\n";
  if (!result.statuses.empty()) {
    out += "statuses:";
    for (const auto& [status, n] : result.statuses)
      out += " " + std::to_string(status) + " x" + std::to_string(n);
    out += "\n";
  }
  for (const auto& [reason, n] : result.errors)
    out += "failed: " + reason + " x" + std::to_string(n) + "\n";
  if (report.answered > 0) {
    Table table({options.header, "COUNT", "SHARE", "95% CI"});
    for (const auto& s : report.shares)
      table.Add({s.value, std::to_string(s.count), agent::FormatPercent(s.percent),
                 Fixed(s.ci95.low, 2) + " .. " + Fixed(s.ci95.high, 2)});
    out += table.Render();
  }
  for (const auto& e : report.expectations) {
    out += "expect " + e.expected.slot + "=" + agent::FormatPercent(e.expected.percent) + " +/-" +
           Fixed(e.tolerance, 2) + " points: observed " + agent::FormatPercent(e.observed) +
           " (95% CI " + Fixed(e.ci95.low, 2) + " .. " + Fixed(e.ci95.high, 2) + ") " +
           (e.within_tolerance ? "PASS" : "FAIL") +
           (e.expected_in_ci ? ", expectation inside the CI" : ", expectation outside the CI") +
           "\n";
    if (e.sample_too_small)
      out += "  note: the 95% CI is wider than +/-" + Fixed(e.tolerance, 2) + " points; about " +
             std::to_string(e.suggested_requests) + " requests would resolve it\n";
  }
  if (judged) out += std::string("verdict: ") + (report.passed ? "PASS" : "FAIL") + "\n";
  return out;
}

}  // namespace

int RunSample(Context& ctx) {
  const SampleOptions options = ReadOptions(ctx);
  const double tolerance = ReadTolerance(ctx);
  const std::vector<Expectation> expectations = ReadExpectations(ctx);
  const SampleResult result = SampleTraffic(options);
  const SplitReport report = JudgeSplit(result.header_values, expectations, tolerance);
  const bool judged = !expectations.empty();
  if (ctx.json)
    *ctx.out << ToJson(options, result, report, judged).dump() << "\n";
  else
    *ctx.out << ToText(options, result, report, judged);
  if (report.answered == 0) {
    *ctx.err << "cutoverctl: no request was answered\n";
    return kExitFailed;
  }
  return judged && !report.passed ? kExitFailed : kExitOk;
}

}  // namespace cutover::cli

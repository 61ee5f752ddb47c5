#include "agent/core/validation.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <string_view>
#include <tuple>

#include "agent/core/dsn.hpp"
#include "agent/core/units.hpp"
#include "agent/core/url.hpp"
#include "cutover/percent.hpp"
#include "cutover/state_layout.hpp"

namespace cutover::agent {

namespace {

// The shortest text that reads back as exactly `v`: a refusal quotes what
// was sent ("10.0000001"), not a rounding of it ("10").
std::string Number(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "?";
}

std::string Join(const std::string& prefix, const std::string& field) {
  return prefix.empty() ? field : prefix + "." + field;
}

void ValidateBytes(const std::string& field, const std::string& text, std::size_t max) {
  if (text.size() > max)
    throw InvalidArgument(
        field, "at most " + std::to_string(max) + " bytes, got " + std::to_string(text.size()));
}

void ValidateDurationShape(const std::string& field, const google::protobuf::Duration& d) {
  const bool mixed_signs = (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0);
  if (mixed_signs || d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000)
    throw InvalidArgument(field, "is not a valid duration");
}

void ValidateDuration(const std::string& field, const google::protobuf::Duration& d,
                      bool must_be_positive) {
  ValidateDurationShape(field, d);
  const bool negative = d.seconds() < 0 || d.nanos() < 0;
  if (negative) throw InvalidArgument(field, "must not be negative");
  if (must_be_positive && d.seconds() == 0 && d.nanos() == 0)
    throw InvalidArgument(field, "must be positive");
  // Seconds first: converting 315576000000 s to nanoseconds would overflow.
  constexpr auto kMaxSeconds = std::chrono::duration_cast<std::chrono::seconds>(kMaxDuration);
  if (d.seconds() > kMaxSeconds.count() || FromProto(d) > kMaxDuration)
    throw InvalidArgument(field, "is longer than " + FormatDuration(kMaxDuration));
}

// A gate's duration: positive, within [min, max], whole milliseconds count.
std::chrono::milliseconds GateDuration(const std::string& field,
                                       const google::protobuf::Duration& d,
                                       std::chrono::milliseconds max) {
  ValidateDurationShape(field, d);
  if (d.seconds() < 0 || (d.seconds() == 0 && d.nanos() <= 0))
    throw InvalidArgument(field, "must be positive");
  const auto max_seconds = std::chrono::duration_cast<std::chrono::seconds>(max).count();
  if (d.seconds() > max_seconds || ToMilliseconds(d) > max)
    throw InvalidArgument(field, "must be at most " + FormatDuration(max));
  if (ToMilliseconds(d) < kMinGateTimeout)
    throw InvalidArgument(field, "must be at least " + FormatDuration(kMinGateTimeout));
  return ToMilliseconds(d);
}

void RequireNotEmpty(const std::string& field, const std::string& value) {
  if (value.empty()) throw InvalidArgument(field, "must not be empty");
}

void RequirePostgresDsn(const std::string& field, const std::string& dsn) {
  RequireNotEmpty(field, dsn);
  ValidateBytes(field, dsn, kMaxDsnBytes);
  if (IsSqliteDsn(dsn)) throw InvalidArgument(field, "must be a PostgreSQL DSN (postgresql://...)");
  if (auto problem = PostgresDsnProblem(dsn)) throw InvalidArgument(field, *problem);
}

void RequireQuery(const std::string& field, const std::string& query) {
  RequireNotEmpty(field, query);
  ValidateBytes(field, query, kMaxQueryBytes);
}

// Table names are quoted in SQL, so any name is safe; these rules catch typos
// and YAML accidents early: an identifier, optionally schema-qualified.
void RequireTableName(const std::string& field, const std::string& table) {
  RequireNotEmpty(field, table);
  ValidateBytes(field, table, kMaxTableNameBytes);
  const auto bad = [&] { return InvalidArgument(field, "\"" + table + "\" is not a table name"); };
  bool start = true;
  int dots = 0;
  for (char c : table) {
    if (c == '.') {
      if (start || ++dots > 1) throw bad();
      start = true;
      continue;
    }
    const bool letter = std::isalpha(static_cast<unsigned char>(c)) || c == '_';
    const bool digit = std::isdigit(static_cast<unsigned char>(c)) || c == '$';
    if (!letter && !(digit && !start)) throw bad();
    start = false;
  }
  if (start) throw bad();
}

void ValidateReplicationLag(const v1::ReplicationLagGate& spec, const std::string& field) {
  RequirePostgresDsn(field + ".dsn", spec.dsn());
  if (!spec.has_max()) throw InvalidArgument(field + ".max", "must be set");
  GateDuration(field + ".max", spec.max(), kMaxReplicationLag);
  ValidateBytes(field + ".query", spec.query(), kMaxQueryBytes);
}

void ValidateParity(const v1::ParityGate& spec, const std::string& field) {
  const std::string source = field + ".source";
  RequireNotEmpty(source, spec.source());
  ValidateBytes(source, spec.source(), kMaxDsnBytes);
  if (IsSqliteDsn(spec.source())) {
    if (SqlitePath(spec.source()).empty()) throw InvalidArgument(source, "names no SQLite file");
  } else if (IsPostgresUri(spec.source()) || spec.source().find('=') != std::string::npos) {
    RequirePostgresDsn(source, spec.source());
  } else {
    throw InvalidArgument(source, "must be sqlite:///PATH or a PostgreSQL DSN");
  }
  RequirePostgresDsn(field + ".target", spec.target());
  const std::string tables = field + ".tables";
  if (spec.all_tables() && spec.tables_size() > 0)
    throw InvalidArgument(tables, "list tables or say all, not both");
  if (!spec.all_tables() && spec.tables_size() == 0)
    throw InvalidArgument(tables, "must list at least one table, or be all");
  if (spec.tables_size() > kMaxParityTables)
    throw InvalidArgument(tables, "at most " + std::to_string(kMaxParityTables) + " tables");
  std::set<std::string> seen;
  for (int i = 0; i < spec.tables_size(); ++i) {
    const std::string table_field = tables + "[" + std::to_string(i) + "]";
    RequireTableName(table_field, spec.tables(i));
    if (!seen.insert(spec.tables(i)).second)
      throw InvalidArgument(table_field, "\"" + spec.tables(i) + "\" is listed twice");
  }
}

bool Finite(double v) { return std::isfinite(v); }

void ValidateFraction(const std::string& field, double v) {
  if (!Finite(v) || v < 0.0 || v > 1.0)
    throw InvalidArgument(field,
                          "must be a fraction between 0 and 1 (0.01 is 1%), got " + Number(v));
}

// http://host[:port][/path] or https://...: no credentials (nothing to keep
// out of the journal), no query or fragment (the agent adds its own query).
void ValidatePrometheusUrl(const std::string& field, const std::string& url) {
  const std::string_view u(url);
  std::size_t rest = 0;
  if (u.rfind("http://", 0) == 0)
    rest = 7;
  else if (u.rfind("https://", 0) == 0)
    rest = 8;
  else
    throw InvalidArgument(field, "must be an http:// or https:// URL");
  const std::size_t slash = u.find('/', rest);
  const std::string_view authority =
      u.substr(rest, slash == std::string_view::npos ? std::string_view::npos : slash - rest);
  if (authority.empty()) throw InvalidArgument(field, "has no host");
  if (authority.find('@') != std::string_view::npos)
    throw InvalidArgument(field, "must not hold credentials (user:password@)");
  if (u.find_first_of("?#") != std::string_view::npos)
    throw InvalidArgument(field, "must not have a query or fragment (it is the API's base URL)");
  for (char c : u)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      throw InvalidArgument(field, "must not contain spaces or control characters");
}

void ValidateMetric(const v1::MetricCheck& m, const std::string& f) {
  if (m.name().empty()) throw InvalidArgument(f + ".name", "must not be empty");
  if (m.name().size() > kMaxMetricNameLength)
    throw InvalidArgument(f + ".name",
                          "longer than " + std::to_string(kMaxMetricNameLength) + " characters");
  for (char c : m.name())
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      throw InvalidArgument(f + ".name", "may hold only a-z, 0-9 and _, got \"" + m.name() + "\"");
  if (m.prometheus().empty()) throw InvalidArgument(f + ".prometheus", "is required");
  ValidatePrometheusUrl(f + ".prometheus", m.prometheus());
  if (m.query().empty()) throw InvalidArgument(f + ".query", "must not be empty");
  if (m.query().size() > kMaxMetricQueryLength)
    throw InvalidArgument(f + ".query",
                          "longer than " + std::to_string(kMaxMetricQueryLength) + " bytes");
  if (!m.has_max() && !m.has_min()) throw InvalidArgument(f, "needs a threshold: max, min or both");
  for (const auto& [key, has, v] :
       {std::tuple{"max", m.has_max(), m.max()}, std::tuple{"min", m.has_min(), m.min()},
        std::tuple{"warn_max", m.has_warn_max(), m.warn_max()},
        std::tuple{"warn_min", m.has_warn_min(), m.warn_min()}})
    if (has && !Finite(v)) throw InvalidArgument(f + "." + key, "must be a number");
  if (m.has_max() && m.has_min() && m.min() >= m.max())
    throw InvalidArgument(f + ".min",
                          "must be below max (" + Number(m.max()) + "), got " + Number(m.min()));
  if (m.has_warn_max() && m.has_max() && m.warn_max() >= m.max())
    throw InvalidArgument(f + ".warn_max", "must be below max (" + Number(m.max()) +
                                               "): a warning comes before the action, got " +
                                               Number(m.warn_max()));
  if (m.has_warn_min() && m.has_min() && m.warn_min() <= m.min())
    throw InvalidArgument(f + ".warn_min", "must be above min (" + Number(m.min()) +
                                               "): a warning comes before the action, got " +
                                               Number(m.warn_min()));
  ValidateDuration(f + ".interval", m.interval(), false);
  if (FromProto(m.interval()) > Nanos(0) && FromProto(m.interval()) < kMinMetricInterval)
    throw InvalidArgument(f + ".interval",
                          "must be at least " + FormatDuration(kMinMetricInterval));
  ValidateDuration(f + ".timeout", m.timeout(), false);
  if (m.failure_limit() > kMaxFailureThreshold)
    throw InvalidArgument(f + ".failure_limit",
                          "must be at most " + std::to_string(kMaxFailureThreshold));
}

// The judge's keys: stalls, warning levels, the sequential comparison and
// the metric checks. A warning level must come before the threshold it
// warns of.
void ValidateJudgeKeys(const v1::Analysis& analysis, const std::string& a) {
  if (analysis.warn_error_rate() != 0) {
    ValidateFraction(a + ".warn_error_rate", analysis.warn_error_rate());
    if (analysis.warn_error_rate() >= analysis.max_error_rate())
      throw InvalidArgument(a + ".warn_error_rate",
                            "must be below max_error_rate (" + Number(analysis.max_error_rate()) +
                                "): a warning comes before the action, got " +
                                Number(analysis.warn_error_rate()));
  }
  ValidateDuration(a + ".warn_p99", analysis.warn_p99(), false);
  const Nanos max_p99 = FromProto(analysis.max_p99());
  if (max_p99 > Nanos(0) && FromProto(analysis.warn_p99()) >= max_p99)
    throw InvalidArgument(a + ".warn_p99", "must be below max_p99 (" + FormatDuration(max_p99) +
                                               "): a warning comes before the action, got " +
                                               FormatDuration(FromProto(analysis.warn_p99())));
  const double warn_ratio = analysis.warn_error_ratio_vs_blue();
  if (!Finite(warn_ratio) || warn_ratio < 0.0)
    throw InvalidArgument(a + ".warn_error_ratio_vs_blue",
                          "must be 0 (off) or positive, got " + Number(warn_ratio));
  if (warn_ratio > 0 && analysis.max_error_ratio_vs_blue() > 0 &&
      warn_ratio >= analysis.max_error_ratio_vs_blue())
    throw InvalidArgument(a + ".warn_error_ratio_vs_blue",
                          "must be below max_error_ratio_vs_blue (" +
                              Number(analysis.max_error_ratio_vs_blue()) +
                              "): a warning comes before the action, got " + Number(warn_ratio));
  if (analysis.has_compare()) {
    const v1::Compare& c = analysis.compare();
    const std::string f = a + ".compare";
    if (c.method() != v1::COMPARE_METHOD_SEQUENTIAL)
      throw InvalidArgument(f + ".method", "must be sequential");
    if (!Finite(c.alpha()) || c.alpha() < 0.0 || c.alpha() > kMaxCompareAlpha)
      throw InvalidArgument(
          f + ".alpha",
          "must be above 0 and at most " + Number(kMaxCompareAlpha) + ", got " + Number(c.alpha()));
    if (c.promote_early() && analysis.max_error_rate() <= 0)
      throw InvalidArgument(f + ".promote_early",
                            "needs max_error_rate above 0: early promotion shows the error rate "
                            "is below it");
  }
  if (analysis.metrics_size() > static_cast<int>(kMaxMetricChecks))
    throw InvalidArgument(a + ".metrics", "at most " + std::to_string(kMaxMetricChecks));
  for (int i = 0; i < analysis.metrics_size(); ++i) {
    const std::string f = a + ".metrics[" + std::to_string(i) + "]";
    ValidateMetric(analysis.metrics(i), f);
    for (int j = 0; j < i; ++j)
      if (analysis.metrics(j).name() == analysis.metrics(i).name())
        throw InvalidArgument(f + ".name", "\"" + analysis.metrics(i).name() +
                                               "\" is already metrics[" + std::to_string(j) +
                                               "]'s name");
  }
}

}  // namespace

void ValidatePercent(const std::string& field, double percent) {
  switch (PercentFromDouble(percent).problem) {
    case PercentProblem::kNone:
      return;
    case PercentProblem::kTooManyDecimals:
      throw InvalidArgument(field, "at most two decimals, got " + Number(percent));
    case PercentProblem::kNotFinite:
      throw InvalidArgument(field, "must be a number");
    default:
      throw InvalidArgument(field, "must be between 0 and 100, got " + Number(percent));
  }
}

void ValidateCutoverName(const std::string& field, const std::string& name) {
  if (name.empty()) throw InvalidArgument(field, "must not be empty");
  if (name.size() >= state::kNameSize)
    throw InvalidArgument(field, "longer than " + std::to_string(state::kNameSize - 1) + " bytes");
}

void ValidateReason(const std::string& field, const std::string& reason) {
  ValidateBytes(field, reason, kMaxReasonBytes);
}

void ValidateTimestamp(const std::string& field, const google::protobuf::Timestamp& t) {
  if (t.seconds() < 0 || t.seconds() >= kMaxTimestampSeconds || t.nanos() < 0 ||
      t.nanos() >= 1'000'000'000)
    throw InvalidArgument(field, "must be a time from 1970 to 2200, got " +
                                     std::to_string(t.seconds()) + " s " +
                                     std::to_string(t.nanos()) + " ns");
}

namespace {

bool Printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

void ValidateRelease(const std::string& field, const std::string& release) {
  if (release.empty()) return;
  if (release.size() > kMaxReleaseSize)
    throw InvalidArgument(field, "longer than " + std::to_string(kMaxReleaseSize) + " characters");
  if (!Printable(release)) throw InvalidArgument(field, "only printable ASCII characters");
  if (release.front() == ' ' || release.back() == ' ')
    throw InvalidArgument(field, "must not begin or end with a blank");
}

void ValidatePeerAddress(const std::string& field, const std::string& address) {
  if (address.empty()) throw InvalidArgument(field, "must not be empty");
  if (address.size() > 255 || !Printable(address))
    throw InvalidArgument(field, "not an address (printable, at most 255 characters)");
}

void ValidatePlan(const v1::Plan& plan, const std::string& prefix) {
  const std::string steps = Join(prefix, "steps");
  if (plan.steps().empty()) throw InvalidArgument(steps, "must not be empty");
  if (plan.steps_size() > kMaxSteps)
    throw InvalidArgument(steps, "at most " + std::to_string(kMaxSteps) + " steps");
  std::uint32_t previous_bp = 0;
  double previous = 0.0;
  for (int i = 0; i < plan.steps_size(); ++i) {
    const v1::Step& step = plan.steps(i);
    const std::string field = steps + "[" + std::to_string(i) + "]";
    ValidatePercent(field + ".percent", step.percent());
    // In basis points, as the state file holds it: 1e-11 is a valid
    // percentage that stores 0.
    const std::uint32_t bp = PercentToBp(step.percent());
    if (bp == 0) throw InvalidArgument(field + ".percent", "must be above 0");
    if (i > 0 && bp <= previous_bp)
      throw InvalidArgument(field + ".percent", "steps must rise: " + Number(step.percent()) +
                                                    " is not above the previous step's " +
                                                    Number(previous));
    ValidateDuration(field + ".hold", step.hold(), false);
    previous_bp = bp;
    previous = step.percent();
  }
  const std::string a = Join(prefix, "analysis");
  if (!plan.has_analysis()) throw InvalidArgument(a, "is required (at least a window)");
  const v1::Analysis& analysis = plan.analysis();
  ValidateDuration(a + ".window", analysis.window(), true);
  if (!std::isfinite(analysis.max_error_rate()) || analysis.max_error_rate() < 0.0 ||
      analysis.max_error_rate() > 1.0)
    throw InvalidArgument(a + ".max_error_rate",
                          "must be a fraction between 0 and 1 (0.01 is 1%), got " +
                              Number(analysis.max_error_rate()));
  ValidateDuration(a + ".max_p99", analysis.max_p99(), false);
  if (!std::isfinite(analysis.max_error_ratio_vs_blue()) ||
      analysis.max_error_ratio_vs_blue() < 0.0)
    throw InvalidArgument(
        a + ".max_error_ratio_vs_blue",
        "must be 0 (off) or positive, got " + Number(analysis.max_error_ratio_vs_blue()));
  if (analysis.failure_threshold() > kMaxFailureThreshold)
    throw InvalidArgument(a + ".failure_threshold",
                          "must be at most " + std::to_string(kMaxFailureThreshold));
  ValidateJudgeKeys(analysis, a);
  if (!v1::BreachAction_IsValid(plan.on_breach()))
    throw InvalidArgument(Join(prefix, "on_breach"), "must be revert or pause");
  ValidateNotify(plan, prefix);
}

void ValidateGate(const v1::Gate& gate, const std::string& field) {
  if (gate.has_timeout()) GateDuration(field + ".timeout", gate.timeout(), kMaxGateTimeout);
  switch (gate.kind_case()) {
    case v1::Gate::kReplicationLag:
      return ValidateReplicationLag(gate.replication_lag(), field + ".replication_lag");
    case v1::Gate::kSql:
      RequirePostgresDsn(field + ".sql.dsn", gate.sql().dsn());
      return RequireQuery(field + ".sql.query", gate.sql().query());
    case v1::Gate::kParity:
      return ValidateParity(gate.parity(), field + ".parity");
    case v1::Gate::kReversibility:
      if (!v1::ReversibilityPolicy_IsValid(gate.reversibility().policy()))
        throw InvalidArgument(field + ".reversibility.policy", "must be allow, warn or block");
      return;
    case v1::Gate::kSync:
      if (gate.sync().has_max_lag())
        GateDuration(field + ".sync.max_lag", gate.sync().max_lag(), std::chrono::hours(24));
      return;
    case v1::Gate::kHttp:  // the URL template and the regex: checked as the gate is built
    case v1::Gate::kExec:  // the command: likewise
      return;
    default:
      throw InvalidArgument(
          field, "must be one of replication_lag, sql, parity, reversibility, sync, http, exec");
  }
}

void ValidateGates(const google::protobuf::RepeatedPtrField<v1::Gate>& gates,
                   const std::string& prefix) {
  if (gates.size() > kMaxGates)
    throw InvalidArgument(prefix, "at most " + std::to_string(kMaxGates) + " gates");
  for (int i = 0; i < gates.size(); ++i)
    ValidateGate(gates.Get(i), prefix + "[" + std::to_string(i) + "]");
}

std::chrono::milliseconds ToMilliseconds(const google::protobuf::Duration& d) {
  return std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1'000'000);
}

std::chrono::milliseconds GateTimeout(const v1::Gate& gate) {
  return gate.has_timeout() ? ToMilliseconds(gate.timeout()) : kDefaultGateTimeout;
}

void ValidateNotify(const v1::Plan& plan, const std::string& prefix) {
  if (static_cast<std::size_t>(plan.notify_size()) > kMaxNotifyUrls)
    throw InvalidArgument(Join(prefix, "notify"), "at most " + std::to_string(kMaxNotifyUrls) +
                                                      " URLs, got " +
                                                      std::to_string(plan.notify_size()));
  for (int i = 0; i < plan.notify_size(); ++i)
    if (auto problem = HttpUrlProblem(plan.notify(i)))  // never quotes the URL: it may be a secret
      throw InvalidArgument(prefix + ".notify[" + std::to_string(i) + "]", *problem);
}

}  // namespace cutover::agent

#include "agent/cli/plan.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>

#include "agent/core/units.hpp"
#include "agent/core/validation.hpp"

namespace cutover::cli {

namespace v1 = cutover::v1;

PlanError::PlanError(std::string source, int line, std::string field, std::string problem)
    : std::runtime_error(source + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                         (field.empty() ? "" : field + ": ") + problem),
      source_(std::move(source)),
      field_(std::move(field)),
      problem_(std::move(problem)),
      line_(line) {}

namespace {

// Walks the YAML tree with the source name at hand, so every check can throw
// an error that points at the node it was looking at.
class PlanReader {
 public:
  explicit PlanReader(std::string source) : source_(std::move(source)) {}

  v1::Plan Read(const YAML::Node& root) {
    if (!root || root.IsNull()) Fail(root, "", "the plan is empty");
    if (!root.IsMap())
      Fail(root, "", "a plan is a mapping with steps, analysis, on_breach, gates, notify");
    CheckKeys(root, "", {"steps", "analysis", "on_breach", "gates", "notify"});
    v1::Plan plan;
    ReadSteps(Required(root, "", "steps"), &plan);
    ReadAnalysis(Required(root, "", "analysis"), plan.mutable_analysis());
    if (const auto n = root["on_breach"]) plan.set_on_breach(ReadBreachAction(n, "on_breach"));
    if (const auto n = root["gates"]) ReadGates(n, &plan);
    if (const auto n = root["notify"]) ReadNotify(n, &plan);
    // What the values mean, and their limits, are the agent's one set of
    // rules (agent/core/validation.hpp): a plan this accepts, the agent does.
    try {
      agent::ValidatePlan(plan, "");
      agent::ValidateGates(plan.gates(), "gates");
    } catch (const agent::InvalidArgument& e) {
      const std::string field = YamlField(plan, e.field());
      Fail(NodeAt(root, field), field, e.problem());
    }
    return plan;
  }

 private:
  [[noreturn]] void Fail(const YAML::Node& at, const std::string& field,
                         const std::string& problem) const {
    const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw PlanError(source_, line, field, problem);
  }

  // A field of the Plan message as the YAML spells it: a gate's timeout is
  // written inside the gate ("gates[0].sql.timeout"), the proto has it beside
  // the kind ("gates[0].timeout").
  static std::string YamlField(const v1::Plan& plan, const std::string& field) {
    const std::string suffix = "].timeout";
    if (field.rfind("gates[", 0) != 0 || field.size() < suffix.size() ||
        field.compare(field.size() - suffix.size(), suffix.size(), suffix) != 0)
      return field;
    const std::size_t index = std::stoul(field.substr(6));
    if (index >= static_cast<std::size_t>(plan.gates_size())) return field;
    const auto* kind = v1::Gate::descriptor()->FindFieldByNumber(plan.gates(index).kind_case());
    if (kind == nullptr) return field;
    return field.substr(0, field.size() - suffix.size() + 1) + "." + kind->name() + ".timeout";
  }

  // The node a field path names ("gates[1].sql.query"), or the nearest
  // enclosing one that exists, for the line of an error found after reading.
  static YAML::Node NodeAt(const YAML::Node& root, const std::string& field) {
    YAML::Node at;
    at.reset(root);  // rebinds (yaml-cpp's operator= would assign contents)
    std::size_t pos = 0;
    while (pos < field.size()) {
      const YAML::Node& here = at;
      std::size_t end = field.find_first_of(".[", pos);
      if (field[pos] == '[') {
        end = field.find(']', pos);
        if (end == std::string::npos || !here.IsSequence()) break;
        const std::size_t index = std::stoul(field.substr(pos + 1, end - pos - 1));
        if (index >= here.size()) break;
        at.reset(here[index]);
        ++end;
      } else {
        if (end == std::string::npos) end = field.size();
        const std::string key = field.substr(pos, end - pos);
        if (!here.IsMap() || !here[key]) break;
        at.reset(here[key]);
      }
      pos = end < field.size() && field[end] == '.' ? end + 1 : end;
    }
    return at;
  }

  static std::string Join(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
  }

  YAML::Node Required(const YAML::Node& map, const std::string& parent, const std::string& key) {
    const YAML::Node n = map[key];
    if (!n || n.IsNull()) Fail(map, Join(parent, key), "is required");
    return n;
  }

  void CheckKeys(const YAML::Node& map, const std::string& field,
                 std::initializer_list<const char*> allowed) {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      // YAML readers disagree on which of two equal keys wins: refuse both.
      if (!seen.insert(key).second) Fail(kv.first, Join(field, key), "given twice");
      bool known = false;
      std::string list;
      for (const char* a : allowed) {
        known = known || key == a;
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      if (!known) Fail(kv.first, Join(field, key), "unknown field (expected one of: " + list + ")");
    }
  }

  std::string Scalar(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) Fail(n, field, "expected a single value");
    return n.Scalar();
  }

  std::string NonEmptyString(const YAML::Node& n, const std::string& field) {
    std::string s = Scalar(n, field);
    if (s.empty()) Fail(n, field, "must not be empty");
    return s;
  }

  std::uint64_t Unsigned(const YAML::Node& n, const std::string& field) {
    const std::string s = Scalar(n, field);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      Fail(n, field, "\"" + s + "\" is not a whole number >= 0");
    return value;
  }

  double NonNegative(const YAML::Node& n, const std::string& field) {
    const std::string s = Scalar(n, field);
    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value) ||
        value < 0)
      Fail(n, field, "\"" + s + "\" is not a number >= 0");
    return value;
  }

  bool Bool(const YAML::Node& n, const std::string& field) {
    const std::string s = Scalar(n, field);
    if (s == "true") return true;
    if (s == "false") return false;
    Fail(n, field, "\"" + s + "\" is not true or false");
  }

  google::protobuf::Duration Duration(const YAML::Node& n, const std::string& field) {
    std::string why;
    const auto d = agent::ParseDuration(Scalar(n, field), &why);
    if (!d) Fail(n, field, why);
    google::protobuf::Duration out;
    out.set_seconds(d->count() / 1'000'000'000);
    out.set_nanos(static_cast<std::int32_t>(d->count() % 1'000'000'000));
    return out;
  }

  static bool IsZero(const google::protobuf::Duration& d) {
    return d.seconds() == 0 && d.nanos() == 0;
  }

  void ReadSteps(const YAML::Node& steps, v1::Plan* plan) {
    if (!steps.IsSequence() || steps.size() == 0)
      Fail(steps, "steps", "must be a non-empty list of {percent, hold}");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const YAML::Node item = steps[i];
      const std::string field = "steps[" + std::to_string(i) + "]";
      if (!item.IsMap()) Fail(item, field, "expected {percent: P, hold: D}");
      CheckKeys(item, field, {"percent", "hold"});
      v1::Step* step = plan->add_steps();
      const YAML::Node percent = Required(item, field, "percent");
      std::string why;
      const auto p = agent::ParsePercent(Scalar(percent, field + ".percent"), &why);
      if (!p) Fail(percent, field + ".percent", why);
      step->set_percent(*p);
      *step->mutable_hold() = Duration(Required(item, field, "hold"), field + ".hold");
    }
  }

  void ReadAnalysis(const YAML::Node& n, v1::Analysis* a) {
    if (!n.IsMap()) Fail(n, "analysis", "expected a mapping (window, min_requests, ...)");
    CheckKeys(n, "analysis",
              {"window", "min_requests", "max_error_rate", "max_p99", "max_error_ratio_vs_blue",
               "failure_threshold", "min_stalled", "warn_error_rate", "warn_p99",
               "warn_error_ratio_vs_blue", "compare", "metrics"});
    const YAML::Node window = Required(n, "analysis", "window");
    *a->mutable_window() = Duration(window, "analysis.window");
    if (const auto v = n["min_requests"]) a->set_min_requests(Unsigned(v, "analysis.min_requests"));
    if (const auto v = n["max_error_rate"])
      a->set_max_error_rate(Rate(v, "analysis.max_error_rate"));
    if (const auto v = n["max_p99"]) *a->mutable_max_p99() = Duration(v, "analysis.max_p99");
    if (const auto v = n["max_error_ratio_vs_blue"])
      a->set_max_error_ratio_vs_blue(NonNegative(v, "analysis.max_error_ratio_vs_blue"));
    if (const auto v = n["failure_threshold"]) {
      const auto t = Unsigned(v, "analysis.failure_threshold");
      if (t > std::numeric_limits<std::uint32_t>::max())
        Fail(v, "analysis.failure_threshold",
             "must be at most " + std::to_string(agent::kMaxFailureThreshold));
      a->set_failure_threshold(static_cast<std::uint32_t>(t));
    }
    if (const auto v = n["min_stalled"]) a->set_min_stalled(Unsigned32(v, "analysis.min_stalled"));
    if (const auto v = n["warn_error_rate"])
      a->set_warn_error_rate(Rate(v, "analysis.warn_error_rate"));
    if (const auto v = n["warn_p99"]) *a->mutable_warn_p99() = Duration(v, "analysis.warn_p99");
    if (const auto v = n["warn_error_ratio_vs_blue"])
      a->set_warn_error_ratio_vs_blue(NonNegative(v, "analysis.warn_error_ratio_vs_blue"));
    if (const auto v = n["compare"]) ReadCompare(v, a->mutable_compare());
    if (const auto v = n["metrics"]) ReadMetrics(v, a);
  }

  // "1%": a share of requests (the '%' is required: 0.01 could mean either).
  double Rate(const YAML::Node& v, const std::string& field) {
    std::string why;
    const auto p = agent::ParsePercentWithSign(Scalar(v, field), &why);
    if (!p) Fail(v, field, why);
    return *p / 100.0;
  }

  std::uint32_t Unsigned32(const YAML::Node& v, const std::string& field) {
    const std::uint64_t u = Unsigned(v, field);
    if (u > 1'000'000) Fail(v, field, "must be at most 1000000");
    return static_cast<std::uint32_t>(u);
  }

  // Any finite number, negative ones too (a metric's threshold).
  double Real(const YAML::Node& n, const std::string& field) {
    const std::string s = Scalar(n, field);
    double value = 0;
    const char* begin = s.data() + (s.size() > 1 && s[0] == '+' ? 1 : 0);
    const auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value))
      Fail(n, field, "\"" + s + "\" is not a number");
    return value;
  }

  void ReadCompare(const YAML::Node& n, v1::Compare* c) {
    const std::string f = "analysis.compare";
    if (!n.IsMap()) Fail(n, f, "expected a mapping {method: sequential, alpha: 0.01}");
    CheckKeys(n, f, {"method", "alpha", "latency", "promote_early"});
    const YAML::Node method = Required(n, f, "method");
    if (Scalar(method, f + ".method") != "sequential")
      Fail(method, f + ".method", "\"" + method.Scalar() + "\" is not sequential");
    c->set_method(v1::COMPARE_METHOD_SEQUENTIAL);
    if (const auto v = n["alpha"]) {
      const double alpha = NonNegative(v, f + ".alpha");
      if (alpha <= 0 || alpha > agent::kMaxCompareAlpha)
        Fail(v, f + ".alpha", "must be above 0 and at most 0.5");
      c->set_alpha(alpha);
    }
    if (const auto v = n["latency"]) c->set_latency(Bool(v, f + ".latency"));
    if (const auto v = n["promote_early"]) c->set_promote_early(Bool(v, f + ".promote_early"));
  }

  void ReadMetrics(const YAML::Node& n, v1::Analysis* a) {
    if (!n.IsSequence())
      Fail(n, "analysis.metrics", "must be a list of {name, prometheus, query, ...}");
    std::set<std::string> names;
    for (std::size_t i = 0; i < n.size(); ++i) {
      const YAML::Node item = n[i];
      const std::string f = "analysis.metrics[" + std::to_string(i) + "]";
      if (!item.IsMap()) Fail(item, f, "expected {name, prometheus, query, max/min, ...}");
      CheckKeys(item, f,
                {"name", "prometheus", "query", "max", "min", "warn_max", "warn_min", "interval",
                 "timeout", "failure_limit"});
      v1::MetricCheck* m = a->add_metrics();
      const YAML::Node name = Required(item, f, "name");
      m->set_name(NonEmptyString(name, f + ".name"));
      if (!names.insert(m->name()).second) Fail(name, f + ".name", "given to two metrics");
      m->set_prometheus(NonEmptyString(Required(item, f, "prometheus"), f + ".prometheus"));
      m->set_query(NonEmptyString(Required(item, f, "query"), f + ".query"));
      if (const auto v = item["max"]) m->set_max(Real(v, f + ".max"));
      if (const auto v = item["min"]) m->set_min(Real(v, f + ".min"));
      if (const auto v = item["warn_max"]) m->set_warn_max(Real(v, f + ".warn_max"));
      if (const auto v = item["warn_min"]) m->set_warn_min(Real(v, f + ".warn_min"));
      if (!m->has_max() && !m->has_min()) Fail(item, f, "needs a threshold: max, min or both");
      if (const auto v = item["interval"]) {
        *m->mutable_interval() = Duration(v, f + ".interval");
        if (IsZero(m->interval())) Fail(v, f + ".interval", "must be above zero");
      }
      if (const auto v = item["timeout"]) {
        *m->mutable_timeout() = Duration(v, f + ".timeout");
        if (IsZero(m->timeout())) Fail(v, f + ".timeout", "must be above zero");
      }
      if (const auto v = item["failure_limit"])
        m->set_failure_limit(Unsigned32(v, f + ".failure_limit"));
    }
  }

  v1::BreachAction ReadBreachAction(const YAML::Node& n, const std::string& field) {
    const std::string s = Scalar(n, field);
    if (s == "revert") return v1::BREACH_ACTION_REVERT;
    if (s == "pause") return v1::BREACH_ACTION_PAUSE;
    Fail(n, field, "\"" + s + "\" is not revert or pause");
  }

  void ReadGates(const YAML::Node& gates, v1::Plan* plan) {
    if (!gates.IsSequence()) Fail(gates, "gates", "must be a list");
    for (std::size_t i = 0; i < gates.size(); ++i) {
      const YAML::Node item = gates[i];
      const std::string field = "gates[" + std::to_string(i) + "]";
      if (item.IsMap() && item.size() > 1) MisplacedGateKey(item, field);
      if (!item.IsMap() || item.size() != 1)
        Fail(item, field,
             "each gate is one of replication_lag, sql, parity, reversibility, sync, http, exec "
             "(one per list item)");
      const std::string kind = item.begin()->first.Scalar();
      const YAML::Node body = item.begin()->second;
      const std::string path = field + "." + kind;
      if (!body.IsMap()) Fail(body.IsDefined() ? body : item, path, "expected a mapping");
      v1::Gate* gate = plan->add_gates();
      if (kind == "replication_lag") {
        CheckKeys(body, path, {"dsn", "max", "query", "timeout"});
        auto* g = gate->mutable_replication_lag();
        g->set_dsn(NonEmptyString(Required(body, path, "dsn"), path + ".dsn"));
        *g->mutable_max() = Duration(Required(body, path, "max"), path + ".max");
        if (const auto q = body["query"]) g->set_query(NonEmptyString(q, path + ".query"));
      } else if (kind == "sql") {
        CheckKeys(body, path, {"dsn", "query", "timeout"});
        auto* g = gate->mutable_sql();
        g->set_dsn(NonEmptyString(Required(body, path, "dsn"), path + ".dsn"));
        g->set_query(NonEmptyString(Required(body, path, "query"), path + ".query"));
      } else if (kind == "parity") {
        CheckKeys(body, path, {"source", "target", "tables", "checksum", "timeout"});
        auto* g = gate->mutable_parity();
        g->set_source(NonEmptyString(Required(body, path, "source"), path + ".source"));
        g->set_target(NonEmptyString(Required(body, path, "target"), path + ".target"));
        ReadTables(Required(body, path, "tables"), path + ".tables", g);
        if (const auto c = body["checksum"]) g->set_checksum(Bool(c, path + ".checksum"));
      } else if (kind == "reversibility") {
        CheckKeys(body, path, {"policy", "max_writes", "timeout"});
        auto* g = gate->mutable_reversibility();
        if (const auto p = body["policy"]) g->set_policy(ReadPolicy(p, path + ".policy"));
        if (const auto m = body["max_writes"]) g->set_max_writes(Unsigned(m, path + ".max_writes"));
      } else if (kind == "sync") {
        CheckKeys(body, path, {"max_lag", "max_conflicts", "timeout"});
        auto* g = gate->mutable_sync();
        if (const auto m = body["max_lag"]) {
          *g->mutable_max_lag() = Duration(m, path + ".max_lag");
          if (IsZero(g->max_lag())) Fail(m, path + ".max_lag", "must be above zero");
        }
        if (const auto m = body["max_conflicts"])
          g->set_max_conflicts(Unsigned(m, path + ".max_conflicts"));
      } else if (kind == "http") {
        CheckKeys(body, path,
                  {"url", "expect_status", "expect_body", "before_promotion", "timeout"});
        auto* g = gate->mutable_http();
        g->set_url(NonEmptyString(Required(body, path, "url"), path + ".url"));
        if (const auto v = body["expect_status"]) {
          const auto status = Unsigned(v, path + ".expect_status");
          if (status < 100 || status > 599)
            Fail(v, path + ".expect_status", "must be an HTTP status from 100 to 599");
          g->set_expect_status(static_cast<std::uint32_t>(status));
        }
        if (const auto v = body["expect_body"])
          g->set_expect_body(NonEmptyString(v, path + ".expect_body"));
        if (const auto v = body["before_promotion"])
          g->set_before_promotion(Bool(v, path + ".before_promotion"));
      } else if (kind == "exec") {
        CheckKeys(body, path, {"command", "dir", "before_promotion", "timeout"});
        auto* g = gate->mutable_exec();
        const YAML::Node command = Required(body, path, "command");
        if (!command.IsSequence() || command.size() == 0)
          Fail(command, path + ".command",
               "expected a list: the program and its arguments ([\"scripts/smoke_test.py\", "
               "\"--env\", \"green\"]), run without a shell");
        for (std::size_t k = 0; k < command.size(); ++k)
          g->add_command(Scalar(command[k], path + ".command[" + std::to_string(k) + "]"));
        if (const auto v = body["dir"]) g->set_dir(NonEmptyString(v, path + ".dir"));
        if (const auto v = body["before_promotion"])
          g->set_before_promotion(Bool(v, path + ".before_promotion"));
      } else {
        Fail(item.begin()->first, path,
             "unknown gate (expected replication_lag, sql, parity, reversibility, sync, http or "
             "exec)");
      }
      if (const auto t = body["timeout"]) *gate->mutable_timeout() = Duration(t, path + ".timeout");
    }
  }

  // A list item with one gate and other keys beside it: the other keys were
  // meant for the gate but are indented as its siblings (`- sql: {...}` then
  // `  timeout: 3s` on the next line). Name the key and where it goes.
  void MisplacedGateKey(const YAML::Node& item, const std::string& field) {
    std::string kind;
    int kinds = 0;
    for (const auto& kv : item)
      if (IsGateKind(kv.first.Scalar())) {
        kind = kv.first.Scalar();
        ++kinds;
      }
    if (kinds != 1) return;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      if (key == kind) continue;
      Fail(kv.first, field + "." + key,
           "\"" + key + "\" is beside the " + kind + " gate, not inside it: it belongs in the " +
               kind + " mapping (- " + kind + ": {..., " + key + ": ...}, or indented under " +
               kind + ":)");
    }
  }

  void ReadNotify(const YAML::Node& n, v1::Plan* plan) {
    if (!n.IsSequence()) Fail(n, "notify", "expected a list of webhook URLs");
    for (std::size_t i = 0; i < n.size(); ++i)
      plan->add_notify(NonEmptyString(n[i], "notify[" + std::to_string(i) + "]"));
  }

  void ReadTables(const YAML::Node& n, const std::string& field, v1::ParityGate* g) {
    if (n.IsScalar()) {
      if (n.Scalar() != "all") Fail(n, field, "expected a list of tables or: all");
      g->set_all_tables(true);
      return;
    }
    if (!n.IsSequence() || n.size() == 0) Fail(n, field, "expected a list of tables or: all");
    for (std::size_t i = 0; i < n.size(); ++i)
      g->add_tables(NonEmptyString(n[i], field + "[" + std::to_string(i) + "]"));
  }

  v1::ReversibilityPolicy ReadPolicy(const YAML::Node& n, const std::string& field) {
    const std::string s = Scalar(n, field);
    if (s == "allow") return v1::REVERSIBILITY_POLICY_ALLOW;
    if (s == "warn") return v1::REVERSIBILITY_POLICY_WARN;
    if (s == "block") return v1::REVERSIBILITY_POLICY_BLOCK;
    Fail(n, field, "\"" + s + "\" is not allow, warn or block");
  }

  std::string source_;
};

}  // namespace

bool IsGateKind(const std::string& key) {
  return key == "replication_lag" || key == "sql" || key == "parity" || key == "reversibility" ||
         key == "sync" || key == "http" || key == "exec";
}

v1::Plan ParsePlan(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw PlanError(source, e.mark.line >= 0 ? e.mark.line + 1 : 0, "",
                    "not valid YAML or JSON: " + e.msg);
  }
  return PlanReader(source).Read(root);
}

v1::Plan LoadPlanFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PlanError(path, 0, "", "cannot read the plan file");
  std::stringstream text;
  text << in.rdbuf();
  return ParsePlan(text.str(), path);
}

}  // namespace cutover::cli

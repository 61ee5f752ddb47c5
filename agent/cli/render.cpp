#include "agent/cli/render.hpp"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "agent/core/analysis_defaults.hpp"
#include "agent/core/dsn.hpp"
#include "agent/core/json.hpp"
#include "agent/core/sync_status.hpp"
#include "agent/core/units.hpp"

namespace cutover::cli {

namespace v1 = cutover::v1;

std::size_t DisplayWidth(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

namespace {

// The first `width` columns of `text`, "…" in the last one when cut.
std::string Cut(const std::string& text, std::size_t width) {
  if (DisplayWidth(text) <= width) return text;
  if (width == 0) return "";
  std::string out;
  std::size_t columns = 0;
  for (char c : text) {
    const bool starts = (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    if (starts && ++columns == width) break;
    out += c;
  }
  return out + "\u2026";
}

}  // namespace

std::string FitLines(const std::string& text, std::size_t width) {
  if (width == 0) return text;
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += Cut(text.substr(start, end - start), width) + "\n";
    start = end + 1;
  }
  return out;
}

std::string Table::Render(std::size_t max_width) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  if (max_width > 0 && !widths.empty()) {
    // Narrow the widest column, one column of text at a time, never below
    // its header (or 6): the wide free-text columns give way first.
    std::vector<std::size_t> floor(widths.size());
    for (std::size_t i = 0; i < widths.size(); ++i)
      floor[i] = std::min(
          widths[i], std::max<std::size_t>(6, i < rows_[0].size() ? DisplayWidth(rows_[0][i]) : 0));
    std::size_t total = 2 * (widths.size() - 1);
    for (auto w : widths) total += w;
    while (total > max_width) {
      std::size_t widest = widths.size();
      for (std::size_t i = 0; i < widths.size(); ++i)
        if (widths[i] > floor[i] && (widest == widths.size() || widths[i] > widths[widest]))
          widest = i;
      if (widest == widths.size()) break;
      --widths[widest];
      --total;
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string cell = Cut(row[i], widths[i]);
      line += cell;
      if (i + 1 < row.size()) line += std::string(widths[i] - DisplayWidth(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string SlotName(v1::Slot slot) {
  switch (slot) {
    case v1::SLOT_BLUE:
      return "blue";
    case v1::SLOT_GREEN:
      return "green";
    default:
      return "-";
  }
}

std::string StateName(v1::RolloutState state) {
  switch (state) {
    case v1::ROLLOUT_STATE_RUNNING:
      return "running";
    case v1::ROLLOUT_STATE_PAUSED:
      return "paused";
    case v1::ROLLOUT_STATE_COMPLETED:
      return "completed";
    case v1::ROLLOUT_STATE_REVERTED:
      return "reverted";
    case v1::ROLLOUT_STATE_ABORTED:
      return "aborted";
    default:
      return "none";
  }
}

std::string PeerStateName(v1::PeerState state) {
  switch (state) {
    case v1::PEER_STATE_DRAIN:
      return "drain";
    case v1::PEER_STATE_DOWN:
      return "down";
    default:
      return "up";
  }
}

bool RolloutEnded(v1::RolloutState state) {
  return state == v1::ROLLOUT_STATE_COMPLETED || state == v1::ROLLOUT_STATE_REVERTED ||
         state == v1::ROLLOUT_STATE_ABORTED;
}

std::chrono::nanoseconds ToNanos(const google::protobuf::Duration& d) {
  return std::chrono::seconds(d.seconds()) + std::chrono::nanoseconds(d.nanos());
}

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(t.seconds());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string FormatMillis(double ms) {
  if (ms <= 0) return "-";
  char buf[32];
  if (ms < 10)
    std::snprintf(buf, sizeof buf, "%.2fms", ms);
  else if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000.0);
  return buf;
}

std::string ProgressBar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * width + 0.5);
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

namespace {

// "2e+09", "0.01", "1.5": a number as short as it reads.
std::string Short(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

std::string Number(double value, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

namespace pb = google::protobuf;

// What people call a Measurement field; a field without a name here is
// shown by its own ("max_error_ratio_vs_blue" as "max error ratio vs blue").
std::string MeasureLabel(const std::string& field) {
  static const std::map<std::string, std::string> kLabels = {
      {"window", "window"},
      {"requests", "requests"},
      {"errors", "errors"},
      {"error_rate", "5xx"},
      {"p99_ms", "p99"},
      {"blue_error_rate", "old slot 5xx"},
      {"max_error_ratio_vs_blue", "5xx ratio to old slot at most"},
  };
  if (auto it = kLabels.find(field); it != kLabels.end()) return it->second;
  std::string label = field;
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

// A field's value by what its name says it is: a rate is a fraction shown
// as a percentage, *_ms milliseconds, a ratio a factor.
std::string MeasureValue(const v1::Measurement& m, const pb::FieldDescriptor* f) {
  const pb::Reflection* r = m.GetReflection();
  const std::string& name = f->name();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      if (f->message_type()->full_name() == "google.protobuf.Duration") {
        const auto& d = static_cast<const pb::Duration&>(r->GetMessage(m, f));
        return agent::FormatDuration(ToNanos(d));
      }
      if (f->message_type()->full_name() == "google.protobuf.Timestamp")
        return FormatTimestamp(static_cast<const pb::Timestamp&>(r->GetMessage(m, f)));
      return "?";
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      const double v = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE ? r->GetDouble(m, f)
                                                                            : r->GetFloat(m, f);
      if (name.ends_with("_rate")) return agent::FormatFraction(v);
      if (name.ends_with("_ms")) return FormatMillis(v);
      if (name.find("ratio") != std::string::npos) return Number(v, 2) + "x";
      return Number(v, 2);
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(r->GetUInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(r->GetUInt32(m, f));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(r->GetInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(r->GetInt32(m, f));
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(m, f) ? "yes" : "no";
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return r->GetEnum(m, f)->name();
    default:
      return r->GetString(m, f);
  }
}

// The numbers every judged window has, shown even at zero.
bool IsCore(const std::string& field) {
  static const std::set<std::string> kCore = {"window",     "requests", "errors",
                                              "error_rate", "p99_ms",   "blue_error_rate"};
  return kCore.contains(field);
}

bool IsThreshold(const std::string& field) {
  return field.starts_with("max_") || field.starts_with("min_") || field.starts_with("warn_");
}

// A threshold of zero is "no limit" in every Analysis field: for proto3's
// implicit presence, HasField is "not zero".
bool IsSet(const v1::Measurement& m, const pb::FieldDescriptor* f) {
  return !f->is_repeated() && m.GetReflection()->HasField(m, f);
}

}  // namespace

std::string JudgedText(const v1::Measurement& m) {
  const pb::Descriptor* d = m.GetDescriptor();
  std::vector<std::string> parts;
  std::set<const pb::FieldDescriptor*> paired;
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || IsThreshold(f->name())) continue;
    // The window's own numbers always; the rest (stalls, the comparison,
    // the metric behind a decision) only when they say something.
    if (!IsCore(f->name()) && !IsSet(m, f)) continue;
    std::string text = MeasureLabel(f->name()) + " " + MeasureValue(m, f);
    std::string limits;
    for (const char* prefix : {"min_", "warn_", "max_"}) {
      const pb::FieldDescriptor* t = d->FindFieldByName(prefix + f->name());
      if (t == nullptr) continue;
      paired.insert(t);
      if (!IsSet(m, t)) continue;
      const std::string word = std::string(prefix).substr(0, std::string(prefix).size() - 1);
      limits += (limits.empty() ? "" : ", ") + word + " " + MeasureValue(m, t);
    }
    if (!limits.empty()) text += " (" + limits + ")";
    parts.push_back(text);
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || !IsThreshold(f->name()) || paired.contains(f) || !IsSet(m, f)) continue;
    parts.push_back(MeasureLabel(f->name()) + " " + MeasureValue(m, f));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

namespace {

bool HasRollout(const v1::Cutover& c) {
  return c.has_rollout() && c.rollout().state() != v1::ROLLOUT_STATE_UNSPECIFIED;
}

// "step 3/6 (25.00%)", or "before the first step".
std::string StepText(const v1::Rollout& r) {
  const int total = r.plan().steps_size();
  if (r.step() < 0) return "before step 1/" + std::to_string(total);
  std::string text = "step " + std::to_string(r.step() + 1) + "/" + std::to_string(total);
  if (r.step() < total) {
    // The step's percent is the new slot's share, and the new slot may be blue.
    text += " (" + agent::FormatPercent(r.plan().steps(r.step()).percent());
    if (r.to_slot() != v1::SLOT_UNSPECIFIED) text += " to " + SlotName(r.to_slot());
    text += ")";
  }
  return text;
}

std::chrono::nanoseconds HoldTotal(const v1::Rollout& r) {
  if (r.step() >= 0 && r.step() < r.plan().steps_size())
    return ToNanos(r.plan().steps(r.step()).hold());
  return ToNanos(r.hold_elapsed()) + ToNanos(r.hold_remaining());
}

std::string HoldText(const v1::Rollout& r) {
  const auto elapsed = ToNanos(r.hold_elapsed());
  const auto total = HoldTotal(r);
  // Past the hold the step waits for enough healthy requests: say so.
  return agent::FormatDuration(elapsed) + " of " + agent::FormatDuration(total) +
         (elapsed >= total ? " (done)" : "");
}

double HoldFraction(const v1::Rollout& r) {
  const auto total = HoldTotal(r).count();
  if (total <= 0) return 1.0;
  return static_cast<double>(ToNanos(r.hold_elapsed()).count()) / static_cast<double>(total);
}

std::string Rollout1Line(const v1::Rollout& r) {
  std::string line = "rollout " + r.id() + ": " + StateName(r.state()) + ", " +
                     SlotName(r.from_slot()) + " -> " + SlotName(r.to_slot()) +
                     (r.release().empty() ? "" : " (release " + r.release() + ")") + ", " +
                     StepText(r);
  if (!RolloutEnded(r.state())) {
    line += ", hold " + HoldText(r) + ", " + std::to_string(r.step_healthy_requests()) +
            " healthy requests";
    if (r.consecutive_failing_windows() > 0)
      line += ", " + std::to_string(r.consecutive_failing_windows()) + " failing window(s)";
  }
  return line;
}

std::string GateLines(const google::protobuf::RepeatedPtrField<v1::GateResult>& gates) {
  Table table({"GATE", "RESULT", "TOOK", "DETAIL"});
  for (const auto& g : gates) {
    const std::string result = !g.passed() ? "FAIL" : g.warning() ? "warn" : "pass";
    table.Add({g.name(), result, agent::FormatDuration(ToNanos(g.took())), g.detail()});
  }
  return table.Render();
}

void SlotRow(Table* table, const std::string& slot, const std::string& upstream, double weight,
             const v1::SlotStats& s) {
  table->Add({slot, upstream, s.release().empty() ? "-" : s.release(), agent::FormatPercent(weight),
              Number(s.requests_per_second()), agent::FormatFraction(s.error_rate()),
              FormatMillis(s.p99_ms()), std::to_string(s.window_requests()),
              std::to_string(s.requests()), std::to_string(s.responses_5xx()),
              std::to_string(s.failures()), std::to_string(s.failovers())});
}

// "gates: sql FAIL (lag 12s > 5s), parity pass": what a gate event saw.
std::string GatesText(const v1::Event& e) {
  std::string text;
  for (const auto& g : e.gates()) {
    text += text.empty() ? "gates: " : ", ";
    text += g.name() + (!g.passed() ? " FAIL" : g.warning() ? " warn" : " pass");
    if (!g.passed() || g.warning()) text += " (" + g.detail() + ")";
  }
  return text;
}

// What the judge sees beyond the window: stalls, the sequential statistics,
// the metric checks and the warnings in force.
std::string JudgeLines(const v1::Rollout& r) {
  const auto& m = r.judged();
  std::string out;
  if (m.stalled() > 0 || m.waiting() > 0)
    out += "waiting: " + std::to_string(m.waiting()) + " requests, " + std::to_string(m.stalled()) +
           " longer than the maximum P99\n";
  if (m.compare_bound() > 0) {
    out += "compare: errors " + Short(m.compare_statistic()) + " (" +
           std::to_string(m.compare_new_errors()) + " new vs " +
           Number(m.compare_expected_new_errors(), 1) + " expected), latency " +
           Short(m.latency_statistic()) + "; reverts at " + Short(m.compare_bound()) + "\n";
  }
  for (const auto& metric : r.metrics())
    out += "metric " + metric.name() + ": " +
           (metric.measured() ? Short(metric.value()) : std::string("not measured")) +
           (metric.healthy() ? " (healthy)" : "") +
           (metric.detail().empty() || metric.measured() ? "" : " - " + metric.detail()) + "\n";
  if (r.warnings_size() > 0) {
    std::string list;
    for (const auto& w : r.warnings()) list += (list.empty() ? "" : ", ") + w;
    out += "warnings: " + list + "\n";
  }
  return out;
}

// "0 pending, lag 1.2ms": one direction, briefly.
std::string DirectionText(const v1::SyncDirection& d) {
  return std::to_string(d.pending()) + " pending, lag " +
         (d.lag_ms() > 0 ? FormatMillis(d.lag_ms()) : "0ms") +
         (d.streaming() ? "" : ", not streaming");
}

std::string MeasurementText(const v1::Event& e) {
  if (e.has_revert_proof())
    return "in flight " + std::to_string(e.revert_proof().in_flight()) + ", applied " +
           std::to_string(e.revert_proof().applied()) + ", lost " +
           std::to_string(e.revert_proof().lost()) + ", took " +
           agent::FormatDuration(ToNanos(e.revert_proof().took()));
  if (e.has_sync_conflict())
    return e.sync_conflict().table() + " " + e.sync_conflict().key() + ": " +
           e.sync_conflict().resolution();
  if (!e.has_measurement()) return GatesText(e);
  const auto& m = e.measurement();
  std::string text = "window " + agent::FormatDuration(ToNanos(m.window())) + ": " +
                     std::to_string(m.requests()) + " req, 5xx " +
                     agent::FormatFraction(m.error_rate());
  if (m.max_error_rate() > 0) text += " (max " + agent::FormatFraction(m.max_error_rate()) + ")";
  text += ", p99 " + FormatMillis(m.p99_ms());
  if (m.max_p99_ms() > 0) text += " (max " + FormatMillis(m.max_p99_ms()) + ")";
  if (e.gates_size() > 0) text += "; " + GatesText(e);
  return text;
}

}  // namespace

std::string RenderCutoverList(const v1::ListCutoversResponse& list, std::size_t width) {
  if (list.cutovers_size() == 0) return "no cutovers (is nginx running with a cutover upstream?)\n";
  Table table({"CUTOVER", "BLUE", "GREEN", "SPLIT (BLUE/GREEN)", "EPOCH", "LIVE", "ROLLOUT"});
  std::string fleets;
  for (const auto& c : list.cutovers()) {
    std::string rollout = "-";
    if (HasRollout(c)) rollout = StateName(c.rollout().state()) + ", " + StepText(c.rollout());
    table.Add(
        {c.name(), c.blue_upstream(), c.green_upstream(),
         agent::FormatPercent(c.blue_percent()) + " / " + agent::FormatPercent(c.green_percent()),
         std::to_string(c.epoch()), SlotName(c.live_slot()), rollout});
    if (c.has_fleet()) fleets += c.name() + ": " + FleetSummary(c.fleet()) + "\n";
  }
  return table.Render(width) + fleets;
}

std::string RenderCutover(const v1::Cutover& c, std::size_t width) {
  std::string out = "cutover " + c.name() + "  epoch " + std::to_string(c.epoch()) +
                    "  live slot " + SlotName(c.live_slot()) + "\n";
  Table table({"SLOT", "UPSTREAM", "RELEASE", "WEIGHT", "REQ/S", "5XX RATE", "P99", "WINDOW REQ",
               "REQUESTS", "5XX", "FAILURES", "FAILOVERS"});
  SlotRow(&table, "blue", c.blue_upstream(), c.blue_percent(), c.blue());
  SlotRow(&table, "green", c.green_upstream(), c.green_percent(), c.green());
  out += table.Render(width);
  if (c.peers_size() > 0) {
    Table peers({"PEER", "SLOT", "STATE", "REQUESTS", "5XX", "FAILURES"});
    for (const auto& p : c.peers())
      peers.Add({p.address(), SlotName(p.slot()), PeerStateName(p.state()),
                 std::to_string(p.requests()), std::to_string(p.responses_5xx()),
                 std::to_string(p.failures())});
    out += peers.Render(width);
  }
  if (!c.green().waits_counted())
    out +=
        "note: nginx's module predates the waiting counters (state-file revision 0): a slot "
        "that stops answering is seen only when nginx times its requests out\n";
  if (c.has_fleet()) out += RenderFleet(c.fleet(), width);
  if (!HasRollout(c)) return out + "rollout: none\n";
  return out + FitLines(RenderRollout(c.rollout()), width);
}

std::string FleetSummary(const v1::FleetStatus& f) {
  int lagging = 0, stale = 0;
  for (const auto& n : f.nodes()) {
    lagging += n.lagging() ? 1 : 0;
    stale += n.stale() ? 1 : 0;
  }
  std::string out = "fleet of " + std::to_string(f.nodes_size()) + " node(s), decider " +
                    (f.decider().empty() ? "none" : f.decider()) + ", decided epoch " +
                    std::to_string(f.decided_epoch()) + " (" +
                    agent::FormatPercent(f.decided_green_percent()) + " green), " +
                    std::to_string(lagging) + " lagging, " + std::to_string(stale) + " stale";
  if (!f.connected()) out += "; node " + f.node() + " cannot reach the fleet's database";
  return out;
}

std::string RenderFleet(const v1::FleetStatus& f, std::size_t width) {
  std::string out = FleetSummary(f) + "\n";
  if (!f.connected())
    out += "as of " + FormatTimestamp(f.as_of()) + " (this node keeps its last weights)\n";
  Table table({"NODE", "DECIDER", "APPLIED GREEN", "EPOCH", "LAST HEARTBEAT", "STATE"});
  for (const auto& n : f.nodes()) {
    std::string state = n.stale() ? "stale" : "live";
    if (n.lagging()) state += ", lagging";
    table.Add({n.name() + (n.name() == f.node() ? " (this)" : ""), n.decider() ? "yes" : "-",
               agent::FormatPercent(n.applied_green_percent()), std::to_string(n.applied_epoch()),
               agent::FormatDuration(ToNanos(n.heartbeat_age())) + " ago", state});
  }
  return out + table.Render(width);
}

std::string RenderRollout(const v1::Rollout& r) {
  std::string out = Rollout1Line(r) + "\n";
  if (r.awaiting_apply() && !RolloutEnded(r.state()))
    out += "waiting for every live node of the fleet to apply the step (its hold starts then)\n";
  if (!r.pause_reason().empty()) out += "paused because: " + r.pause_reason() + "\n";
  if (r.has_judged()) out += "judged: " + JudgedText(r.judged()) + "\n";
  if (!r.last_decision().empty()) out += "last decision: " + r.last_decision() + "\n";
  if (r.gates_size() > 0) out += GateLines(r.gates());
  if (!RolloutEnded(r.state())) out += JudgeLines(r);
  return out;
}

std::string RenderHistory(const v1::GetHistoryResponse& history, std::size_t width) {
  if (history.events_size() == 0) return "no events\n";
  Table table({"SEQ", "TIME", "KIND", "STEP", "GREEN", "EPOCH", "ACTOR", "REASON", "MEASURED"});
  for (const auto& e : history.events()) {
    const std::string step =
        e.rollout_id().empty() || e.step() < 0 ? "-" : std::to_string(e.step() + 1);
    std::string green = agent::FormatPercent(e.weight_after());
    if (e.weight_before() != e.weight_after())
      green = agent::FormatPercent(e.weight_before()) + " -> " + green;
    std::string reason = e.reason();
    if (!e.release().empty())
      reason = "release " + e.release() + (reason.empty() ? "" : ": " + reason);
    table.Add({std::to_string(e.sequence()), FormatTimestamp(e.time()), e.kind(), step, green,
               std::to_string(e.epoch()), e.actor().empty() ? "-" : e.actor(),
               reason.empty() ? "-" : reason, MeasurementText(e)});
  }
  return table.Render(width);
}

std::string RenderPlan(const v1::Plan& plan) {
  std::string steps;
  for (const auto& s : plan.steps()) {
    if (!steps.empty()) steps += " -> ";
    steps += agent::FormatPercent(s.percent()) + " for " + agent::FormatDuration(ToNanos(s.hold()));
  }
  const auto& a = plan.analysis();
  std::string out = "steps: " + steps + "\n";
  out += "analysis: window " + agent::FormatDuration(ToNanos(a.window())) + ", at least " +
         std::to_string(a.min_requests()) + " requests, 5xx at most " +
         agent::FormatFraction(a.max_error_rate());
  if (ToNanos(a.max_p99()).count() > 0)
    out += ", P99 at most " + agent::FormatDuration(ToNanos(a.max_p99()));
  if (a.max_error_ratio_vs_blue() > 0)
    out += ", 5xx rate at most " + Number(a.max_error_ratio_vs_blue(), 2) + "x blue's";
  out +=
      ", act after " + std::to_string(std::max(1u, a.failure_threshold())) + " failing window(s)\n";
  if (ToNanos(a.max_p99()).count() > 0)
    out += "stall: " + std::to_string(agent::MinStalled(a)) +
           " requests waiting longer than the maximum P99 (over 1% of the window) act at once\n";
  std::string warn;
  if (a.warn_error_rate() > 0) warn += ", 5xx above " + agent::FormatFraction(a.warn_error_rate());
  if (ToNanos(a.warn_p99()).count() > 0)
    warn += ", P99 above " + agent::FormatDuration(ToNanos(a.warn_p99()));
  if (a.warn_error_ratio_vs_blue() > 0)
    warn += ", 5xx rate above " + Number(a.warn_error_ratio_vs_blue(), 2) + "x blue's";
  if (!warn.empty()) out += "warn (no action): " + warn.substr(2) + "\n";
  if (a.has_compare()) {
    const auto& c = a.compare();
    out += "compare: sequential, alpha " + Short(agent::CompareAlpha(c)) + " (reverts at " +
           Short(1.0 / agent::CompareAlpha(c)) + "), " +
           (agent::CompareLatency(c) ? "errors and latency" : "errors") +
           (c.promote_early() ? ", promotes early once 5xx is shown below " +
                                    agent::FormatFraction(a.max_error_rate())
                              : "") +
           "\n";
  }
  for (const auto& m : a.metrics()) {
    std::string limits;
    if (m.has_max()) limits += ", max " + Short(m.max());
    if (m.has_min()) limits += ", min " + Short(m.min());
    if (m.has_warn_max()) limits += ", warn above " + Short(m.warn_max());
    if (m.has_warn_min()) limits += ", warn below " + Short(m.warn_min());
    out += "metric " + m.name() + ": " + m.query() + " on " + m.prometheus() + limits + ", every " +
           agent::FormatDuration(agent::MetricInterval(m)) + " (timeout " +
           agent::FormatDuration(agent::MetricTimeout(m)) + "), pause after " +
           std::to_string(agent::MetricFailureLimit(m)) + " failed queries in a row\n";
  }
  out += std::string("on breach: ") +
         (plan.on_breach() == v1::BREACH_ACTION_PAUSE ? "pause" : "revert") + "\n";
  out += "gates: " + std::to_string(plan.gates_size()) + "\n";
  return out;
}

std::string RenderPreflight(const v1::PreflightResponse& preflight) {
  std::string out;
  if (preflight.gates_size() > 0)
    out += GateLines(preflight.gates());
  else
    out += "no gates to evaluate\n";
  out += preflight.go() ? "verdict: GO\n" : "verdict: NO-GO\n";
  return out;
}

std::string RenderSetWeight(const v1::SetWeightResponse& response) {
  const auto& c = response.cutover();
  std::string out = c.name() + ": green " + agent::FormatPercent(response.event().weight_before()) +
                    " -> " + agent::FormatPercent(c.green_percent()) + " (blue " +
                    agent::FormatPercent(c.blue_percent()) + "), epoch " +
                    std::to_string(c.epoch()) + "\n";
  return out;
}

std::string RenderPeerState(const v1::SetPeerStateResponse& response) {
  const auto& peer = response.event().peer();
  return response.cutover().name() + ": " + SlotName(peer.slot()) + " peer " + peer.address() +
         " " + PeerStateName(peer.before()) + " -> " + PeerStateName(peer.after()) +
         " (from the next request on)\n";
}

std::string SyncLine(const v1::Sync& sync) {
  std::string line = "sync " + agent::SyncStateName(sync.state());
  if (sync.state() == v1::SYNC_STATE_UNSPECIFIED) return line;
  line += ": blue->green " + DirectionText(sync.blue_to_green()) + "; green->blue " +
          DirectionText(sync.green_to_blue()) + "; " + std::to_string(sync.conflicts()) +
          " conflict" + (sync.conflicts() == 1 ? "" : "s");
  if (!sync.reason().empty() && sync.state() != v1::SYNC_STATE_RUNNING)
    line += " (" + sync.reason() + ")";
  return line;
}

std::string RenderSync(const v1::Sync& sync) {
  if (sync.state() == v1::SYNC_STATE_UNSPECIFIED)
    return "no sync for cutover " + sync.cutover() + " (start one: cutoverctl sync start " +
           sync.cutover() + " --blue sqlite:///PATH --green postgresql://... --tables a,b)\n";
  std::string tables;
  for (const auto& t : sync.tables()) tables += (tables.empty() ? "" : ", ") + t;
  if (tables.empty()) tables = sync.spec().all_tables() ? "all" : "-";
  std::string out = "sync " + sync.cutover() + ": " + agent::SyncStateName(sync.state()) +
                    (sync.state() == v1::SYNC_STATE_STOPPED ? " (started " : " since ") +
                    FormatTimestamp(sync.started_at()) +
                    (sync.state() == v1::SYNC_STATE_STOPPED ? ")" : "") + ", on_conflict " +
                    agent::SyncPolicyName(sync.spec().on_conflict()) + "\n";
  if (!sync.reason().empty()) out += "  " + sync.reason() + "\n";
  out += "  blue " + sync.spec().blue() + " <-> green " + agent::RedactDsn(sync.spec().green()) +
         "\n  tables: " + tables + "\n";
  Table table({"DIRECTION", "PENDING", "APPLIED", "LAG", "STREAMING", "POSITION"});
  for (const auto& [name, d] : {std::pair{"blue_to_green", &sync.blue_to_green()},
                                std::pair{"green_to_blue", &sync.green_to_blue()}})
    table.Add({name, std::to_string(d->pending()), std::to_string(d->applied()),
               d->lag_ms() > 0 ? FormatMillis(d->lag_ms()) : "0ms", d->streaming() ? "yes" : "no",
               d->position().empty() ? "-" : d->position()});
  out += table.Render();
  out += "conflicts: " + std::to_string(sync.conflicts());
  if (sync.has_last_conflict())
    out += " (last: " + sync.last_conflict().table() + " " + sync.last_conflict().key() + " at " +
           FormatTimestamp(sync.last_conflict().time()) + ", " + sync.last_conflict().resolution() +
           ")";
  out += "\n";
  if (sync.has_last_revert())
    out += "last revert: " + agent::RevertProofText(sync.last_revert()) + " (rollout " +
           sync.last_revert().rollout_id() + ", journal " +
           std::to_string(sync.last_revert().reverted_sequence()) + ")\n";
  return out;
}

const v1::SyncRevertProof* RevertProofOf(const v1::Cutover& c) {
  if (!c.has_sync() || !c.sync().has_last_revert() || !c.has_rollout()) return nullptr;
  return c.sync().last_revert().rollout_id() == c.rollout().id() ? &c.sync().last_revert()
                                                                 : nullptr;
}

std::string RenderWatchFrame(const v1::Cutover& c) {
  std::string out = c.name() + "  split blue " + agent::FormatPercent(c.blue_percent()) +
                    " / green " + agent::FormatPercent(c.green_percent()) + "  epoch " +
                    std::to_string(c.epoch()) + "\n";
  if (!HasRollout(c)) {
    out += "no rollout\n";
  } else {
    const auto& r = c.rollout();
    out += "rollout " + r.id() + "  " + StateName(r.state()) + "  " + StepText(r) +
           (r.release().empty() ? "" : "  release " + r.release()) + "\n";
    if (!RolloutEnded(r.state()))
      out += "hold   " + ProgressBar(HoldFraction(r), 30) + " " + HoldText(r) + ", " +
             std::to_string(r.step_healthy_requests()) + " healthy requests\n";
    if (!r.pause_reason().empty()) out += "paused because: " + r.pause_reason() + "\n";
    // What the agent judged the new slot on, against the plan's thresholds:
    // the numbers behind its decisions, not the status window's.
    if (r.has_judged())
      out += "judged " + SlotName(r.to_slot()) + ": " + JudgedText(r.judged()) + "\n";
  }
  Table table({"", "RELEASE", "REQ/S", "5XX RATE", "P99", "WINDOW REQ"});
  for (const auto& [name, s] : {std::pair{"green", &c.green()}, std::pair{"blue", &c.blue()}})
    table.Add({name, s->release().empty() ? "-" : s->release(), Number(s->requests_per_second()),
               agent::FormatFraction(s->error_rate()), FormatMillis(s->p99_ms()),
               std::to_string(s->window_requests())});
  out += table.Render();
  if (HasRollout(c) && !c.rollout().last_decision().empty())
    out += "last decision: " + c.rollout().last_decision() + "\n";
  if (c.has_fleet()) out += FleetSummary(c.fleet()) + "\n";
  if (c.has_sync()) out += SyncLine(c.sync()) + "\n";
  if (const auto* proof = RevertProofOf(c))
    out += "revert: " + agent::RevertProofText(*proof) + "\n";
  return out;
}

std::string RenderWatchLine(const v1::Cutover& c) {
  std::string line =
      c.name() + " split " + Number(c.blue_percent(), 2) + "/" + Number(c.green_percent(), 2);
  if (HasRollout(c)) {
    const auto& r = c.rollout();
    line += " " + StateName(r.state()) + " " + StepText(r);
    if (!r.release().empty()) line += " release " + r.release();
    if (!RolloutEnded(r.state())) line += " hold " + HoldText(r);
    if (r.has_judged()) line += " judged: " + JudgedText(r.judged()) + ";";
  }
  line += " green 5xx " + agent::FormatFraction(c.green().error_rate()) + " p99 " +
          FormatMillis(c.green().p99_ms()) + " blue 5xx " +
          agent::FormatFraction(c.blue().error_rate()) + " p99 " + FormatMillis(c.blue().p99_ms());
  if (HasRollout(c) && !c.rollout().last_decision().empty())
    line += " | " + c.rollout().last_decision();
  if (c.has_sync()) line += " | " + SyncLine(c.sync());
  if (const auto* proof = RevertProofOf(c)) line += " | revert: " + agent::RevertProofText(*proof);
  return line + "\n";
}

std::string ProtoToJson(const google::protobuf::Message& message) {
  try {
    return agent::ProtoToJson(message);  // the agent's one mapping, as its HTTP API prints it
  } catch (const std::runtime_error&) {
    return "{\"error\":\"cannot encode the answer as JSON\"}";
  }
}

}  // namespace cutover::cli

// The verbs that talk to cutover-agent.
#include <algorithm>
#include <optional>
#include <ostream>
#include <thread>

#include "agent/cli/command.hpp"
#include "agent/cli/errors.hpp"
#include "agent/cli/plan.hpp"
#include "agent/cli/render.hpp"
#include "agent/core/units.hpp"
#include "agent/core/validation.hpp"

namespace cutover::cli {

namespace v1 = cutover::v1;

namespace {

void Print(Context& ctx, const google::protobuf::Message& answer, const std::string& text) {
  if (ctx.json)
    *ctx.out << ProtoToJson(answer) << "\n";
  else
    *ctx.out << text;
}

// Arguments the agent checks, checked here by the same rules first
// (agent/core/validation.hpp): a usage error, before any call.
template <typename Check>
std::string Checked(const std::string& value, Check check) {
  try {
    check(value);
  } catch (const agent::InvalidArgument& e) {
    throw UsageError(e.what());
  }
  return value;
}

std::string CutoverArg(Context& ctx, std::size_t i = 0) {
  return Checked(ctx.Arg(i),
                 [](const std::string& v) { agent::ValidateCutoverName("CUTOVER", v); });
}

std::string ReasonFlag(Context& ctx) {
  return Checked(ctx.args.Get("reason").value_or(""),
                 [](const std::string& v) { agent::ValidateReason("--reason", v); });
}

// A plan file problem is a usage error naming the file, line and field.
v1::Plan LoadPlanOrThrow(const std::string& path) {
  try {
    return LoadPlanFile(path);
  } catch (const PlanError& e) {
    throw UsageError(std::string("bad plan: ") + e.what());
  }
}

// Gates run one after another, each bounded by its timeout (5s when unset):
// the preflight call may take that long, plus some slack.
std::chrono::milliseconds PreflightDeadline(const v1::Plan& plan, std::chrono::milliseconds base) {
  std::chrono::milliseconds total = base;
  for (const auto& g : plan.gates()) {
    const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(ToNanos(g.timeout()));
    total += t.count() > 0 ? t : std::chrono::milliseconds(5000);
  }
  return total;
}

// How long watch keeps retrying an agent that answered before and then went away.
constexpr std::chrono::seconds kWatchReconnectFor{60};
// How long a watch that saw a revert waits for the sync's proof of it.
constexpr std::chrono::seconds kProofWait{30};

// What watch shows: a frame redrawn in place on a terminal, one line per
// refresh when piped, one JSON status per line with --json.
class WatchView {
 public:
  // `width`: the terminal's columns when redrawing. Lines are cut one short
  // of it: a wrapped line would throw off the cursor-up count of the redraw.
  WatchView(std::ostream& out, std::ostream& err, bool redraw, bool json, std::size_t width)
      : out_(out), err_(err), redraw_(redraw), json_(json), width_(width > 1 ? width - 1 : 0) {}

  void Show(const v1::GetStatusResponse& status) {
    if (json_)
      out_ << ProtoToJson(status) << "\n";
    else if (redraw_)
      Draw(FitLines(RenderWatchFrame(status.cutover()), width_), "");
    else
      out_ << RenderWatchLine(status.cutover());
    out_.flush();
  }

  // A passing condition shown under the last frame, or as its own line.
  void Notice(const std::string& text) {
    if (json_)
      err_ << "cutoverctl: " << text << "\n";
    else if (redraw_)
      Draw(last_frame_, FitLines(text + "\n", width_));
    else
      out_ << text << "\n";
    out_.flush();
  }

 private:
  void Draw(const std::string& frame, const std::string& notice) {
    // Back to the top of the previous drawing and clear below it.
    if (drawn_lines_ > 0) out_ << "\033[" << drawn_lines_ << "A\r\033[J";
    out_ << frame << notice;
    last_frame_ = frame;
    drawn_lines_ = static_cast<std::size_t>(std::count(frame.begin(), frame.end(), '\n') +
                                            std::count(notice.begin(), notice.end(), '\n'));
  }

  std::ostream& out_;
  std::ostream& err_;
  bool redraw_;
  bool json_;
  std::size_t width_;
  std::size_t drawn_lines_ = 0;
  std::string last_frame_;
};

}  // namespace

int RunStatus(Context& ctx) {
  AgentClient agent = ctx.Agent();
  if (ctx.args.positionals.empty()) {
    const auto list = agent.ListCutovers();
    Print(ctx, list, RenderCutoverList(list, ctx.terminal_width));
  } else {
    const auto status = agent.GetStatus(CutoverArg(ctx));
    Print(ctx, status, RenderCutover(status.cutover(), ctx.terminal_width));
  }
  return kExitOk;
}

int RunWatch(Context& ctx) {
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  if (const auto text = ctx.args.Get("interval")) {
    std::string why;
    const auto d = agent::ParseDuration(*text, &why);
    if (!d || d->count() <= 0) throw UsageError("--interval: " + (d ? "must be above zero" : why));
    interval = *d;
  }
  const std::string cutover_name = CutoverArg(ctx);
  // Follow the cutover for good (a release day's window), or end with the
  // rollout in force, with its exit code (CI).
  const bool exit_on_end = ctx.args.Has("exit-on-end") || ctx.args.Has("once");
  AgentClient agent = ctx.Agent();
  WatchView view(*ctx.out, *ctx.err, ctx.stdout_is_tty && !ctx.json, ctx.json, ctx.terminal_width);
  bool answered_once = false;
  bool unreachable = false;
  std::optional<std::chrono::steady_clock::time_point> ended_at;
  std::chrono::steady_clock::time_point unreachable_since;
  for (;; std::this_thread::sleep_for(interval)) {  // the refresh period of a live view
    v1::GetStatusResponse status;
    try {
      status = agent.GetStatus(cutover_name);
    } catch (const CliError& e) {
      // An agent restarting mid-rollout (it resumes from its journal) should
      // not end the view; an agent that never answered, or stays away, does.
      if (e.code() != kExitUnreachable || !answered_once) throw;
      const auto now = std::chrono::steady_clock::now();
      if (!unreachable) unreachable_since = now;
      unreachable = true;
      if (exit_on_end && now - unreachable_since > kWatchReconnectFor) throw;
      view.Notice("agent unreachable for " +
                  agent::FormatDuration(
                      std::chrono::duration_cast<std::chrono::seconds>(now - unreachable_since)) +
                  ", retrying" +
                  (exit_on_end
                       ? " (gives up after " + agent::FormatDuration(kWatchReconnectFor) + ")"
                       : ""));
      continue;
    }
    answered_once = true;
    unreachable = false;
    view.Show(status);
    if (!exit_on_end) continue;
    const auto& cutover = status.cutover();
    const auto state =
        cutover.has_rollout() ? cutover.rollout().state() : v1::ROLLOUT_STATE_UNSPECIFIED;
    if (state == v1::ROLLOUT_STATE_UNSPECIFIED || state == v1::ROLLOUT_STATE_COMPLETED)
      return kExitOk;
    if (RolloutEnded(state)) {  // reverted or aborted
      // A running sync journals the revert's proof moments later: show it.
      const bool syncing = cutover.has_sync() && cutover.sync().state() != v1::SYNC_STATE_STOPPED &&
                           cutover.sync().state() != v1::SYNC_STATE_UNSPECIFIED;
      const auto now = std::chrono::steady_clock::now();
      if (!ended_at) ended_at = now;
      if (!syncing || RevertProofOf(cutover) != nullptr || now - *ended_at > kProofWait)
        return kExitFailed;
    }
  }
}

int RunSetWeight(Context& ctx) {
  std::string why;
  const auto percent = agent::ParsePercent(ctx.Arg(1), &why);
  if (!percent) throw UsageError("PERCENT: " + why);
  v1::SetWeightRequest request;
  request.set_cutover(CutoverArg(ctx));
  request.set_percent(*percent);
  request.set_reason(ReasonFlag(ctx));
  const auto answer = ctx.Agent().SetWeight(request);
  Print(ctx, answer, RenderSetWeight(answer));
  return kExitOk;
}

int RunRolloutStart(Context& ctx) {
  v1::StartRolloutRequest request;
  request.set_cutover(CutoverArg(ctx));
  *request.mutable_plan() = LoadPlanOrThrow(ctx.Arg(1));
  request.set_reason(ReasonFlag(ctx));
  request.set_release(ctx.args.Get("release").value_or(""));
  const auto answer = ctx.Agent().StartRollout(request);
  Print(ctx, answer,
        RenderRollout(answer.rollout()) + "follow it with: cutoverctl watch " + ctx.Arg(0) + "\n");
  return kExitOk;
}

int RunRolloutAction(Context& ctx) {
  const std::string action = ctx.verb.substr(ctx.verb.find(' ') + 1);
  v1::RolloutActionRequest request;
  request.set_cutover(CutoverArg(ctx));
  request.set_reason(ReasonFlag(ctx));
  request.set_release(ctx.args.Get("release").value_or(""));
  request.set_one_step(ctx.args.Has("step"));
  const auto answer = ctx.Agent().RolloutAction(action, request);
  Print(ctx, answer,
        RenderRollout(answer.rollout()) +
            (action == "retry" ? "follow it with: cutoverctl watch " + ctx.Arg(0) + "\n" : ""));
  return kExitOk;
}

int RunPeerState(Context& ctx) {
  v1::SetPeerStateRequest request;
  request.set_cutover(CutoverArg(ctx));
  const std::string& slot = ctx.Arg(1);
  if (slot == "blue")
    request.set_slot(v1::SLOT_BLUE);
  else if (slot == "green")
    request.set_slot(v1::SLOT_GREEN);
  else
    throw UsageError("SLOT: \"" + slot + "\" is not blue or green");
  request.set_address(ctx.Arg(2));
  request.set_state(ctx.verb == "drain"  ? v1::PEER_STATE_DRAIN
                    : ctx.verb == "down" ? v1::PEER_STATE_DOWN
                                         : v1::PEER_STATE_UP);
  request.set_reason(ReasonFlag(ctx));
  const auto answer = ctx.Agent().SetPeerState(request);
  Print(ctx, answer, RenderPeerState(answer));
  return kExitOk;
}

int RunHistory(Context& ctx) {
  v1::GetHistoryRequest request;
  request.set_cutover(CutoverArg(ctx));
  request.set_limit(20);
  if (const auto limit = ctx.args.Get("limit"))
    request.set_limit(
        static_cast<std::uint32_t>(ParseCount("limit", *limit, 1, agent::kMaxHistoryLimit)));
  const auto answer = ctx.Agent().GetHistory(request);
  Print(ctx, answer, RenderHistory(answer, ctx.terminal_width));
  return kExitOk;
}

int RunPreflight(Context& ctx) {
  v1::PreflightRequest request;
  *request.mutable_plan() = LoadPlanOrThrow(ctx.Arg(0));
  if (const auto cutover = ctx.args.Get("cutover"))
    request.set_cutover(Checked(
        *cutover, [](const std::string& v) { agent::ValidateCutoverName("--cutover", v); }));
  if (ctx.args.Has("offline")) {
    if (ctx.json)
      *ctx.out << "{\"valid\":true,\"plan\":" << ProtoToJson(request.plan()) << "}\n";
    else
      *ctx.out << RenderPlan(request.plan()) << "plan valid (gates not evaluated: --offline)\n";
    return kExitOk;
  }
  const auto answer =
      ctx.Agent().Preflight(request, PreflightDeadline(request.plan(), ctx.timeout));
  if (ctx.json)
    *ctx.out << "{\"valid\":true,\"plan\":" << ProtoToJson(request.plan())
             << ",\"preflight\":" << ProtoToJson(answer) << "}\n";
  else
    *ctx.out << RenderPlan(request.plan()) << RenderPreflight(answer);
  return answer.go() ? kExitOk : kExitFailed;
}

}  // namespace cutover::cli

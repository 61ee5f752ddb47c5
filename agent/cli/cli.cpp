#include "agent/cli/cli.hpp"

#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "agent/cli/command.hpp"
#include "agent/cli/errors.hpp"
#include "agent/cli/plan.hpp"
#include "agent/core/units.hpp"
#include "agent/core/version.hpp"

namespace cutover::cli {

namespace {

const FlagSpec kReason{"reason", "TEXT",
                       "why, recorded in the journal beside the actor (\"unix\" over the socket, "
                       "else the caller's address)"};
const FlagSpec kRelease{"release", "NAME",
                        "what the new slot runs (e.g. v1.3.0): journaled, shown in status and "
                        "watch, a metrics label"};

std::string ExitCodesHelp() {
  return "exit codes: 0 success, 1 a check or verdict failed (or the agent refused),\n"
         "            2 usage error (unknown verb, bad flag, bad plan file; a socket you may\n"
         "            not use: permission denied), 3 agent unreachable\n";
}

std::string FlagsHelp(const std::vector<FlagSpec>& flags) {
  std::string out;
  for (const auto& f : flags) {
    std::string left = "  --" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
    if (left.size() < 28)
      left += std::string(28 - left.size(), ' ');
    else
      left += "  ";
    out += left + f.help + "\n";
  }
  return out;
}

std::string GeneralHelp() {
  std::string out =
      "cutoverctl: drive blue-green and canary cutovers through cutover-agent, and check\n"
      "the real traffic split.\n\n"
      "usage: cutoverctl [--agent ADDR] [--token-file FILE] [--tls-ca FILE] [--json] COMMAND "
      "[ARGS]\n\n"
      "commands:\n";
  for (const auto& c : Commands()) {
    std::string left = "  " + c.path + (c.args.empty() ? "" : " " + c.args);
    if (left.size() < 44)
      left += std::string(44 - left.size(), ' ');
    else
      left += "  ";
    out += left + c.summary + "\n";
  }
  out += "\nglobal flags (before or after the command):\n" + FlagsHelp(GlobalFlags());
  out += "\n" + ExitCodesHelp();
  out += "\n'cutoverctl COMMAND --help' describes a command.\n";
  return out;
}

std::string CommandHelp(const Command& c) {
  std::string out = "usage: cutoverctl " + c.path + (c.args.empty() ? "" : " " + c.args) +
                    (c.flags.empty() ? "" : " [flags]") + "\n\n" + c.summary + "\n";
  if (!c.details.empty()) out += "\n" + c.details;
  if (!c.flags.empty()) out += "\nflags:\n" + FlagsHelp(c.flags);
  out += "\nglobal flags:\n" + FlagsHelp(GlobalFlags());
  out += "\n" + ExitCodesHelp();
  return out;
}

// The sub-verbs of a verb group ("rollout", "sync").
std::string GroupHelp(const std::string& group, const std::string& subverbs) {
  std::string out = "usage: cutoverctl " + group + " " + subverbs + " CUTOVER ...\n\n";
  for (const auto& c : Commands())
    if (c.path.starts_with(group + " "))
      out += "  " + c.path + " " + c.args + "\n      " + c.summary + "\n";
  return out;
}

// Verbs of two words, and what their second word may be.
const std::vector<std::pair<std::string, std::string>>& Groups() {
  static const std::vector<std::pair<std::string, std::string>> groups = {
      {"rollout", "start|pause|resume|promote|abort|retry"}, {"sync", "start|status|stop"}};
  return groups;
}

bool IsGroup(const std::string& word) {
  for (const auto& [group, subverbs] : Groups())
    if (word == group) return true;
  return false;
}

const Command* FindCommand(const std::string& path) {
  for (const auto& c : Commands())
    if (c.path == path) return &c;
  return nullptr;
}

// The verb words ("status", or "rollout" + sub-verb) and where they were.
struct VerbLocation {
  std::string path;
  std::vector<std::size_t> positions;
};

VerbLocation LocateVerb(const std::vector<std::string>& args) {
  VerbLocation verb;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.starts_with("-")) {
      // Skip a global flag's separate value; a verb's flags cannot come
      // before the verb.
      if (TakesSeparateValue(a, GlobalFlags())) ++i;
      continue;
    }
    verb.positions.push_back(i);
    verb.path += verb.path.empty() ? a : " " + a;
    if (!IsGroup(verb.path)) break;
  }
  return verb;
}

void WriteError(const CliError& e, bool json, std::ostream& out, std::ostream& err) {
  err << "cutoverctl: " << e.what() << "\n";
  if (json)
    out << nlohmann::json{{"error",
                           {{"exit_code", static_cast<int>(e.code())}, {"message", e.what()}}}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
}

bool WantsJson(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "--json") return true;
  }
  return false;
}

}  // namespace

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec> flags = {
      {"agent", "ADDR",
       "unix:PATH or HOST:PORT (default: $CUTOVER_AGENT, then " + std::string(kDefaultAgent) + ")"},
      {"token-file", "FILE", "bearer token for the agent (needed for changes over TCP)"},
      {"tls-ca", "FILE", "PEM CA to verify a TLS agent on HOST:PORT (turns TLS on)"},
      {"tls-server-name", "NAME", "the name in the agent's certificate, when not the host"},
      {"json", "", "machine-readable output (protobuf JSON mapping for agent answers)"},
      {"timeout", "DURATION", "how long to wait for one answer (default 10s)"},
      {"help", "", "describe the command"},
      {"version", "", "print the version and the state-file layout, and exit"},
  };
  return flags;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {.path = "status",
       .args = "[CUTOVER]",
       .summary = "show every cutover, or one in detail (slots, weights, rollout)",
       .details =
           "Without CUTOVER: one row per cutover. With it: per slot its weight, requests/s,\n"
           "5xx rate and P99 over the agent's window, counters since the start, and the\n"
           "rollout in force (step, hold, last decision, gates).\n",
       .max_args = 1,
       .run = &RunStatus},
      {.path = "watch",
       .args = "CUTOVER",
       .summary = "follow the cutover live, rollout after rollout, until interrupted",
       .details = "Redraws in place on a terminal; prints one line per refresh when piped\n"
                  "(one JSON status per line with --json). Shows the split, each slot's release,\n"
                  "the step and its hold, and the numbers the agent judged the new slot on beside\n"
                  "the plan's thresholds. Keeps going across rollouts and agent restarts until\n"
                  "interrupted (Ctrl-C). With --exit-on-end (or --once) it ends with the rollout,\n"
                  "for CI: exit 0 when it completed (or there is none), 1 when it was reverted or\n"
                  "aborted, 3 when the agent stays away for 60s.\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {{"interval", "DURATION", "time between refreshes (default 1s)"},
                 {"exit-on-end", "", "end with the rollout, with its exit code (CI)"},
                 {"once", "", "the same as --exit-on-end"}},
       .run = &RunWatch},
      {.path = "set-weight",
       .args = "CUTOVER PERCENT",
       .summary = "set green's share by hand (0 to 100, two decimals)",
       .details = "Refused while a rollout runs: pause or abort it first.\n",
       .min_args = 2,
       .max_args = 2,
       .flags = {kReason},
       .run = &RunSetWeight},
      {.path = "rollout start",
       .args = "CUTOVER PLAN",
       .summary = "start a rollout with a plan file (YAML or JSON)",
       .details =
           "The plan is checked here first; a bad plan names its line and field and exits 2.\n",
       .min_args = 2,
       .max_args = 2,
       .flags = {kReason, kRelease},
       .run = &RunRolloutStart},
      {.path = "rollout pause",
       .args = "CUTOVER",
       .summary = "hold the rollout at its current step",
       .min_args = 1,
       .max_args = 1,
       .flags = {kReason},
       .run = &RunRolloutAction},
      {.path = "rollout resume",
       .args = "CUTOVER",
       .summary = "carry on a paused rollout",
       .min_args = 1,
       .max_args = 1,
       .flags = {kReason},
       .run = &RunRolloutAction},
      {.path = "rollout promote",
       .args = "CUTOVER",
       .summary = "go to 100% of the new slot now and end the rollout (--step: one step)",
       .details = "Without --step: the new slot takes every request and the rollout completes.\n"
                  "With --step: the next step now, whatever its hold and gates (from the last\n"
                  "step, the same as without). Either is journaled with your reason.\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {kReason, {"step", "", "advance one step now instead of all the way"}},
       .run = &RunRolloutAction},
      {.path = "rollout abort",
       .args = "CUTOVER",
       .summary = "send every request back to the old slot and end the rollout",
       .min_args = 1,
       .max_args = 1,
       .flags = {kReason},
       .run = &RunRolloutAction},
      {.path = "rollout retry",
       .args = "CUTOVER",
       .summary = "start the last rollout's plan again, after a revert or an abort",
       .details = "The plan the last rollout ran, from the slot that is live now, with the same\n"
                  "release unless --release names another. After a restart of the agent the plan\n"
                  "comes from the journal, whose gate DSNs hold no passwords.\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {kReason, kRelease},
       .run = &RunRolloutAction},
      {.path = "drain",
       .args = "CUTOVER SLOT ADDRESS",
       .summary = "send one peer of a slot no new request while its slot has another up",
       .details = "SLOT is blue or green; ADDRESS as the slot's upstream lists it (see status).\n"
                  "Stored in the state file: the next request honours it, without a reload.\n"
                  "When every other peer of the slot is drained or down, draining peers serve.\n",
       .min_args = 3,
       .max_args = 3,
       .flags = {kReason},
       .run = &RunPeerState},
      {.path = "down",
       .args = "CUTOVER SLOT ADDRESS",
       .summary = "never send one peer of a slot a request",
       .details = "As drain, but the peer is never picked; a slot with no peer left fails over.\n",
       .min_args = 3,
       .max_args = 3,
       .flags = {kReason},
       .run = &RunPeerState},
      {.path = "up",
       .args = "CUTOVER SLOT ADDRESS",
       .summary = "put a drained or downed peer back into its slot's balancer",
       .min_args = 3,
       .max_args = 3,
       .flags = {kReason},
       .run = &RunPeerState},
      {.path = "history",
       .args = "CUTOVER",
       .summary = "the journal of decisions, newest first",
       .details = "Each event with the numbers it was judged on.\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {{"limit", "N", "how many events (default 20)"}},
       .run = &RunHistory},
      {.path = "preflight",
       .args = "PLAN",
       .summary = "validate a plan and evaluate every gate now: GO or NO-GO",
       .details =
           "The plan is validated locally (exit 2 naming line and field when bad), then the\n"
           "agent evaluates its gates. Exit 0 on GO, 1 on NO-GO. With --offline only the\n"
           "plan is validated and the agent is not asked.\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {{"cutover", "NAME", "the cutover the gates read counters of"},
                 {"offline", "", "validate the plan only"}},
       .run = &RunPreflight},
      {.path = "sync start",
       .args = "CUTOVER",
       .summary =
           "start (or resume, or re-configure) the two-way sync of blue's and green's databases",
       .details =
           "Blue is the SQLite file, green the PostgreSQL database (wal_level=logical, a role\n"
           "with REPLICATION). The agent checks both schemas (a table without a primary key,\n"
           "or with different key columns, is refused by name), installs capture triggers\n"
           "and a change log into the SQLite file and a logical replication slot on green,\n"
           "then carries every change both ways until `sync stop`, across rollouts and\n"
           "restarts. Start it before the first step. Run it again on a sync that paused on a\n"
           "conflict to resume it with another --on-conflict (--blue/--green may then be left\n"
           "out). See docs/gates.md, \"The sync\".\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {{"blue", "sqlite:///PATH", "blue's SQLite file (absolute path)"},
                 {"green", "DSN",
                  "green's PostgreSQL (postgresql://...; keep passwords in ~/.pgpass)"},
                 {"tables", "a,b|all", "the tables to sync (all: every table of the SQLite file)"},
                 {"on-conflict", "POLICY",
                  "pause (default: pause the sync and the rollout), blue_wins or green_wins"},
                 kReason},
       .run = &RunSyncStart},
      {.path = "sync status",
       .args = "CUTOVER",
       .summary = "the sync's state, pending, applied and lag each way, conflicts, last revert",
       .details = "With --json: the Sync message, with state, blue_to_green and green_to_blue\n"
                  "(pending, applied, lag_ms, streaming, position) and conflicts at the top.\n",
       .min_args = 1,
       .max_args = 1,
       .run = &RunSyncStatus},
      {.path = "sync stop",
       .args = "CUTOVER",
       .summary = "stop the sync and remove its triggers, change log, slot and publication",
       .details =
           "Run it once the stabilization window has passed and `sync status` shows nothing\n"
           "pending. With --keep the capture and the slot stay (green keeps its WAL for the\n"
           "slot meanwhile) and a later `sync start` resumes where it stopped.\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {{"keep", "", "keep the capture and the slot: sync start resumes"}, kReason},
       .run = &RunSyncStop},
      {.path = "sample",
       .args = "URL",
       .summary = "send real requests and measure the split",
       .details =
           "Counts the values of a response header (X-Backend-Server by default) over\n"
           "concurrent keep-alive requests; responses without the header count as\n"
           "(missing), with it more than once as (repeated). Prints each value's share with a\n"
           "95% Wilson confidence interval.\n\n"
           "Verdict (--expect SLOT=PERCENT, repeatable): PASS when every expected slot's\n"
           "observed share is within --tolerance percentage points of its expectation\n"
           "(|observed - expected| <= tolerance) and at least one request was answered;\n"
           "FAIL (exit 1) otherwise. Transport errors are reported but are not part of the\n"
           "split. When the interval is wider than the tolerance the output warns that the\n"
           "sample is too small and suggests a request count. Exit 1 also when nothing\n"
           "answered.\n",
       .min_args = 1,
       .max_args = 1,
       .flags = {{"requests", "N", "how many requests (default 1000)"},
                 {"concurrency", "C",
                  "requests in flight at once, each on its own connection (default 8)"},
                 {"header", "NAME", "the header to count (default X-Backend-Server)"},
                 {"expect", "SLOT=PERCENT", "expected share of a slot, e.g. green=20", true},
                 {"tolerance", "POINTS", "allowed distance in percentage points (default 2)"},
                 {"request-header", "'NAME: VALUE'", "send this header with every request", true}},
       .run = &RunSample},
  };
  return commands;
}

AgentClient Context::Agent() const {
  AgentOptions options;
  options.address = agent_address;
  options.timeout = timeout;
  if (const auto file = args.Get("token-file")) options.token = ReadTokenFile(*file);
  if (const auto file = args.Get("tls-ca")) options.tls_ca_pem = ReadPemFile("--tls-ca", *file);
  options.tls_server_name = args.Get("tls-server-name").value_or("");
  return AgentClient(options);
}

int RunCli(const std::vector<std::string>& args, const Environment& env, std::ostream& out,
           std::ostream& err) {
  const bool json = WantsJson(args);
  try {
    const VerbLocation verb = LocateVerb(args);
    std::vector<std::string> rest;
    for (std::size_t i = 0, next = 0; i < args.size(); ++i) {
      if (next < verb.positions.size() && verb.positions[next] == i) {
        ++next;
        continue;
      }
      rest.push_back(args[i]);
    }
    if (verb.path.empty()) {
      const ParsedArgs globals = ParseArgs(rest, GlobalFlags());
      if (globals.Has("help")) {
        out << GeneralHelp();
        return kExitOk;
      }
      if (globals.Has("version")) {
        out << agent::VersionText("cutoverctl");
        return kExitOk;
      }
      err << GeneralHelp();
      throw UsageError("no command given");
    }
    if (verb.path == "help") {
      out << GeneralHelp();
      return kExitOk;
    }
    const Command* command = FindCommand(verb.path);
    if (command == nullptr) {
      for (const auto& [group, subverbs] : Groups()) {
        if (verb.path != group && !verb.path.starts_with(group + " ")) continue;
        std::string choices = subverbs;
        for (char& c : choices)
          if (c == '|') c = ',';
        const ParsedArgs globals = ParseArgs(rest, GlobalFlags());
        if (verb.path == group && globals.Has("help")) {
          out << GroupHelp(group, subverbs);
          return kExitOk;
        }
        throw UsageError(verb.path == group ? group + " needs one of: " + choices
                                            : "unknown command \"" + verb.path + "\" (" + group +
                                                  " takes " + choices + ")");
      }
      throw UsageError("unknown command \"" + verb.path + "\" (see cutoverctl --help)");
    }
    std::vector<FlagSpec> flags = GlobalFlags();
    flags.insert(flags.end(), command->flags.begin(), command->flags.end());
    Context ctx;
    ctx.verb = command->path;
    ctx.args = ParseArgs(rest, flags);
    if (ctx.args.Has("help")) {
      out << CommandHelp(*command);
      return kExitOk;
    }
    const auto n = ctx.args.positionals.size();
    if (n < command->min_args || n > command->max_args)
      throw UsageError("usage: cutoverctl " + command->path + " " + command->args +
                       (n < command->min_args
                            ? " (missing an argument)"
                            : " (unexpected \"" + ctx.args.positionals.back() + "\")"));
    ctx.json = json;
    ctx.stdout_is_tty = env.stdout_is_tty;
    ctx.terminal_width = env.terminal_width;
    ctx.agent_address =
        ctx.args.Get("agent").value_or(env.agent.empty() ? kDefaultAgent : env.agent);
    if (const auto t = ctx.args.Get("timeout")) {
      std::string why;
      const auto d = agent::ParseDuration(*t, &why);
      if (!d || d->count() <= 0) throw UsageError("--timeout: " + (d ? "must be above zero" : why));
      ctx.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      if (ctx.timeout.count() == 0) ctx.timeout = std::chrono::milliseconds(1);
    }
    ctx.out = &out;
    ctx.err = &err;
    return command->run(ctx);
  } catch (const CliError& e) {
    WriteError(e, json, out, err);
    return e.code();
  } catch (const PlanError& e) {
    WriteError(UsageError(std::string("bad plan: ") + e.what()), json, out, err);
    return kExitUsage;
  } catch (const std::exception& e) {
    WriteError(CliError(kExitFailed, e.what()), json, out, err);
    return kExitFailed;
  }
}

}  // namespace cutover::cli

#include "agent/gates/exec_gate.hpp"

#include <stdexcept>

#include "agent/gates/command.hpp"
#include "agent/gates/evaluation.hpp"

namespace cutover::gates {

namespace {

constexpr std::size_t kMaxArgs = 64;
constexpr std::size_t kMaxArgLength = 4096;

[[noreturn]] void Invalid(const std::string& field, const std::string& why) {
  throw std::invalid_argument(field + ": " + why);
}

std::string Joined(const std::vector<std::string>& peers) {
  std::string out;
  for (const auto& p : peers) out += (out.empty() ? "" : " ") + p;
  return out;
}

// The command as a detail shows it: its first word and how many more.
std::string Shown(const std::vector<std::string>& command) {
  std::string out = "\"" + command.front() + "\"";
  if (command.size() > 1) out += " (+" + std::to_string(command.size() - 1) + " args)";
  return out;
}

// The last non-empty line of the output, for a one-line detail.
std::string LastLine(const std::string& output) {
  std::size_t end = output.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  const std::size_t begin = output.rfind('\n', end);
  std::string line = output.substr(begin == std::string::npos ? 0 : begin + 1,
                                   end + 1 - (begin == std::string::npos ? 0 : begin + 1));
  constexpr std::size_t kMax = 200;
  if (line.size() > kMax) line = line.substr(0, kMax) + "...";
  return line;
}

std::string Stage(const GateContext& context) {
  if (context.before_revert) return "revert";
  if (context.before_promotion) return "promotion";
  if (context.step >= 0) return "step";
  return "preflight";
}

}  // namespace

ExecGate::ExecGate(Spec spec, std::chrono::milliseconds timeout, const std::string& field)
    : spec_(std::move(spec)), timeout_(timeout) {
  const std::string command = field + ".command";
  if (spec_.command.empty()) Invalid(command, "must not be empty (a program and its arguments)");
  if (spec_.command.front().empty()) Invalid(command + "[0]", "must not be empty");
  if (spec_.command.size() > kMaxArgs)
    Invalid(command, "at most " + std::to_string(kMaxArgs) + " words");
  for (std::size_t i = 0; i < spec_.command.size(); ++i) {
    const std::string& arg = spec_.command[i];
    const std::string arg_field = command + "[" + std::to_string(i) + "]";
    if (arg.size() > kMaxArgLength)
      Invalid(arg_field, "at most " + std::to_string(kMaxArgLength) + " characters");
    if (arg.find('\0') != std::string::npos) Invalid(arg_field, "must not contain a NUL byte");
  }
  if (!spec_.dir.empty() && spec_.dir.front() != '/')
    Invalid(field + ".dir", "must be an absolute path, got \"" + spec_.dir + "\"");
}

std::vector<std::string> ExecGate::Environment(const GateContext& context) {
  return {std::string("PATH=") + kExecPath,
          "LANG=C.UTF-8",
          "CUTOVER_CUTOVER=" + context.cutover,
          "CUTOVER_STAGE=" + Stage(context),
          "CUTOVER_STEP=" + (context.step >= 0 ? std::to_string(context.step) : std::string()),
          "CUTOVER_NEW_SLOT=" + context.new_slot,
          "CUTOVER_GREEN_PEERS=" + Joined(context.green_peers),
          "CUTOVER_BLUE_PEERS=" + Joined(context.blue_peers)};
}

GateOutcome ExecGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    CommandSpec command;
    command.argv = spec_.command;
    command.dir = spec_.dir;
    command.env = Environment(context);
    command.timeout = timeout_;
    command.output_limit = kExecOutputLimit;
    command.cancel = context.cancel;
    const CommandResult run = RunCommand(command);
    GateOutcome outcome;
    outcome.output = run.output;
    if (!run.started) {
      outcome.detail = run.start_error;
      return outcome;
    }
    const std::string last = LastLine(run.output);
    const std::string said = last.empty() ? "" : ": " + last;
    const std::string took = FormatSeconds(run.took.count() / 1000.0);
    if (run.cancelled) {
      outcome.detail = Shown(spec_.command) + " stopped: the agent is stopping" + said;
    } else if (run.timed_out) {
      outcome.detail = Shown(spec_.command) + " timed out after " +
                       FormatSeconds(timeout_.count() / 1000.0) +
                       ": killed with its process group " + std::to_string(run.pid) + said;
    } else if (run.signal != 0) {
      outcome.detail = Shown(spec_.command) + " killed by signal " + std::to_string(run.signal) +
                       " after " + took + said;
    } else {
      outcome.passed = run.exit_code == 0;
      outcome.detail = Shown(spec_.command) + " exited " + std::to_string(run.exit_code) +
                       " after " + took + said;
    }
    return outcome;
  });
}

}  // namespace cutover::gates

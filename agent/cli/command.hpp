// What every verb gets to work with, and the table of verbs.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

#include "agent/cli/agent_client.hpp"
#include "agent/cli/args.hpp"

namespace cutover::cli {

inline constexpr const char* kDefaultAgent = "unix:/run/cutover/agent.sock";

struct Context {
  std::string verb;  // the command path, e.g. "rollout pause"
  ParsedArgs args;   // the verb's positionals; its flags and the global ones
  bool json = false;
  bool stdout_is_tty = false;
  std::size_t terminal_width = 0;  // 0: not a terminal, print tables whole
  std::string agent_address;
  std::chrono::milliseconds timeout{10000};
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;

  // A client for --agent with the token of --token-file.
  AgentClient Agent() const;
  const std::string& Arg(std::size_t i) const { return args.positionals.at(i); }
};

struct Command {
  std::string path;     // "status", "rollout start"
  std::string args;     // "CUTOVER PLAN", for the usage line
  std::string summary;  // one line
  std::string details;  // --help text after the usage line
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  std::vector<FlagSpec> flags;
  int (*run)(Context&) = nullptr;
};

// The verbs, in the order help lists them.
const std::vector<Command>& Commands();
const std::vector<FlagSpec>& GlobalFlags();

// Verb implementations (commands_agent.cpp, command_sample.cpp, commands_sync.cpp).
int RunStatus(Context& ctx);
int RunWatch(Context& ctx);
int RunSetWeight(Context& ctx);
int RunRolloutStart(Context& ctx);
int RunRolloutAction(Context& ctx);  // pause, resume, promote, abort, retry: the verb is in args
int RunPeerState(Context& ctx);      // drain, down, up
int RunHistory(Context& ctx);
int RunPreflight(Context& ctx);
int RunSample(Context& ctx);
int RunSyncStart(Context& ctx);  // commands_sync.cpp
int RunSyncStatus(Context& ctx);
int RunSyncStop(Context& ctx);

}  // namespace cutover::cli

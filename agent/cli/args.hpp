// Command-line flags: "--name value", "--name=value", boolean "--name", and
// "--" to end flags. Knows nothing about verbs; the command table says which
// flags each verb takes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cutover::cli {

struct FlagSpec {
  std::string name;        // without the leading dashes
  std::string value_name;  // empty: a boolean flag
  std::string help;
  bool repeatable = false;
};

struct ParsedArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>> flags;  // booleans hold one ""

  bool Has(const std::string& name) const { return flags.count(name) != 0; }
  std::optional<std::string> Get(const std::string& name) const;
  std::vector<std::string> All(const std::string& name) const;
};

// Throws CliError(kExitUsage) on an unknown flag, a missing value, a value
// given to a boolean flag, or a non-repeatable flag given twice.
ParsedArgs ParseArgs(const std::vector<std::string>& tokens, const std::vector<FlagSpec>& flags);

// Whether `token` names a flag in `flags` that takes a value (for "--agent X"
// before the verb is known). "--name=value" does not count: it is one token.
bool TakesSeparateValue(const std::string& token, const std::vector<FlagSpec>& flags);

// Strict whole-number parsing for flag values; throws a usage error naming the flag.
std::uint64_t ParseCount(const std::string& flag, const std::string& value, std::uint64_t min,
                         std::uint64_t max);

}  // namespace cutover::cli

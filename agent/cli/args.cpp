#include "agent/cli/args.hpp"

#include <charconv>

#include "agent/cli/errors.hpp"

namespace cutover::cli {

std::optional<std::string> ParsedArgs::Get(const std::string& name) const {
  const auto it = flags.find(name);
  if (it == flags.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::All(const std::string& name) const {
  const auto it = flags.find(name);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

namespace {

const FlagSpec* Find(const std::string& name, const std::vector<FlagSpec>& flags) {
  for (const auto& f : flags)
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

bool TakesSeparateValue(const std::string& token, const std::vector<FlagSpec>& flags) {
  if (!token.starts_with("--") || token.find('=') != std::string::npos) return false;
  const FlagSpec* spec = Find(token.substr(2), flags);
  return spec != nullptr && !spec->value_name.empty();
}

ParsedArgs ParseArgs(const std::vector<std::string>& tokens, const std::vector<FlagSpec>& flags) {
  ParsedArgs out;
  bool flags_ended = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (flags_ended || token == "-" || !token.starts_with("-")) {
      out.positionals.push_back(token);
      continue;
    }
    if (token == "--") {
      flags_ended = true;
      continue;
    }
    if (!token.starts_with("--")) {
      if (token == "-h") {
        out.flags["help"].push_back("");
        continue;
      }
      throw UsageError("unknown flag \"" + token + "\" (flags are spelled --name)");
    }
    const auto eq = token.find('=');
    const std::string name = token.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const FlagSpec* spec = Find(name, flags);
    if (spec == nullptr) throw UsageError("unknown flag \"--" + name + "\"");
    std::string value;
    if (spec->value_name.empty()) {
      if (eq != std::string::npos) throw UsageError("--" + name + " takes no value");
    } else if (eq != std::string::npos) {
      value = token.substr(eq + 1);
    } else {
      if (i + 1 >= tokens.size())
        throw UsageError("--" + name + " needs a value (" + spec->value_name + ")");
      value = tokens[++i];
    }
    auto& slot = out.flags[name];
    if (!slot.empty() && !spec->repeatable && name != "help")
      throw UsageError("--" + name + " given more than once");
    slot.push_back(value);
  }
  return out;
}

std::uint64_t ParseCount(const std::string& flag, const std::string& value, std::uint64_t min,
                         std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n < min ||
      n > max)
    throw UsageError("--" + flag + " \"" + value + "\" is not a whole number from " +
                     std::to_string(min) + " to " + std::to_string(max));
  return n;
}

}  // namespace cutover::cli

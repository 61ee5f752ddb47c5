// Minimal logging to stderr: one line per message, UTC timestamp and level,
// written with a single write() so lines from threads do not interleave.
// Control characters and backslashes in a message are escaped (\n, \t,
// \x1b, \\): text from callers can never start a line of its own.
#pragma once

#include <string>

namespace cutover::agent {

enum class LogLevel { kInfo, kWarning, kError };

void Log(LogLevel level, const std::string& message);
inline void LogInfo(const std::string& m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(const std::string& m) { Log(LogLevel::kWarning, m); }
inline void LogError(const std::string& m) { Log(LogLevel::kError, m); }

}  // namespace cutover::agent

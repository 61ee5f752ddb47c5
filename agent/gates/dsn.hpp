// Connection strings: which kind a DSN is, how to show it to a human, and how
// to keep its secrets out of every message built from it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::gates {

// "sqlite:PATH", "sqlite://PATH" or "sqlite:///ABSOLUTE/PATH".
bool IsSqliteDsn(std::string_view dsn);
// The file a sqlite DSN names ("sqlite:///var/a.db" -> "/var/a.db").
std::string SqlitePath(std::string_view dsn);
// "postgresql://..." or "postgres://..." URIs.
bool IsPostgresUri(std::string_view dsn);

// Renders a DSN/URI for humans with any password replaced by "***" (URI user
// info, ?password= and key=value password=/sslpassword= alike). A key=value
// string too broken to parse is masked from the point where it breaks.
std::string RedactDsn(std::string_view dsn);

// Why libpq would refuse this PostgreSQL DSN, in words safe to show; nullopt
// when it parses. libpq's own message can quote the string, so a DSN holding
// a password gets a generic message instead.
std::optional<std::string> PostgresDsnProblem(const std::string& dsn);

// Removes the secrets of one DSN from text built from it (libpq error
// messages can echo parts of the connection string).
class SecretScrubber {
 public:
  explicit SecretScrubber(std::string_view dsn);
  std::string Scrub(std::string text) const;

 private:
  std::vector<std::string> secrets_;  // longest first
};

}  // namespace cutover::gates

// Connection strings: which kind a DSN is, how to show it to a human, and how
// to keep its secrets out of every message built from it. The one place the
// journal, the gates (and anything else holding a DSN) redact.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::agent {

// "sqlite:PATH", "sqlite://PATH" or "sqlite:///ABSOLUTE/PATH".
bool IsSqliteDsn(std::string_view dsn);
// The file a sqlite DSN names ("sqlite:///var/a.db" -> "/var/a.db").
std::string SqlitePath(std::string_view dsn);
// "postgresql://..." or "postgres://..." URIs.
bool IsPostgresUri(std::string_view dsn);

// Renders a DSN for humans with every password replaced by "***": the user
// info's (masked up to the last '@' before the path, so "p@ss" is hidden
// whole), and every password=/sslpassword= parameter or keyword, with keys
// percent-decoded as libpq decodes them. The result is checked against
// libpq's own parse (PQconninfoParse): when that still finds a password, or
// a URI does not parse at all, everything after the scheme is masked. A
// key=value string that does not parse is masked from where it breaks.
std::string RedactDsn(std::string_view dsn);

// Why libpq would refuse this PostgreSQL DSN, in words safe to show; nullopt
// when it parses. libpq's own message can quote the string, so a DSN holding
// a password gets a generic message instead.
std::optional<std::string> PostgresDsnProblem(const std::string& dsn);

// Removes the secrets of one DSN from text built from it (libpq error
// messages can echo parts of the connection string). Linear in the text; a
// secret given twice is kept once; its own "***" is never scanned again.
class SecretScrubber {
 public:
  explicit SecretScrubber(std::string_view dsn);
  std::string Scrub(const std::string& text) const;

 private:
  std::vector<std::string> secrets_;  // distinct, longest first
};

}  // namespace cutover::agent

// Connection strings and their redaction (agent/core/dsn.hpp). Whatever the
// text: RedactDsn and SecretScrubber never crash, and no password libpq
// would read survives them:
//  - libpq reading the redacted text finds no password but masks ("***",
//    or "******" where two masked spans meet);
//  - a password libpq reads from the original (8 bytes or more, found at
//    most once in the text, so it is not also a host or a user name) is not
//    in the redacted text;
//  - the scrubber of a DSN leaves none of the passwords libpq reads from it
//    in any text it scrubs (here, the DSN itself); a password holding a '*'
//    can seem to re-form from a mask and its neighbours, so those are left
//    to the other checks.
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/dsn.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace cutover::agent;
using cutover::fuzz::Check;

namespace {

struct Free {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

bool IsSecret(const char* keyword) {
  const std::string k = keyword;
  return k == "password" || k == "sslpassword";
}

// The passwords libpq reads from `dsn`; nullopt when it does not parse.
std::optional<std::vector<std::string>> LibpqSecrets(const std::string& dsn) {
  std::unique_ptr<PQconninfoOption, Free> options(PQconninfoParse(dsn.c_str(), nullptr));
  if (!options) return std::nullopt;
  std::vector<std::string> secrets;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o)
    if (o->val != nullptr && IsSecret(o->keyword) && *o->val != '\0') secrets.emplace_back(o->val);
  return secrets;
}

std::size_t Occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dsn(cutover::fuzz::Text(data, size));
  if (dsn.find('\0') != std::string::npos) return 0;  // libpq reads C strings
  const std::string redacted = RedactDsn(dsn);
  if (IsSqliteDsn(dsn)) {
    Check(redacted == dsn, "a sqlite DSN is shown as it is");
    return 0;
  }
  if (const auto left = LibpqSecrets(redacted))
    for (const std::string& s : *left)
      Check(s.find_first_not_of('*') == std::string::npos,
            "libpq reads password \"" + s + "\" from the redaction \"" + redacted + "\"");
  const auto secrets = LibpqSecrets(dsn);
  if (!secrets) return 0;
  const std::string scrubbed = SecretScrubber(dsn).Scrub(dsn);
  for (const std::string& s : *secrets) {
    if (s.size() >= 8 && Occurrences(dsn, s) <= 1)
      Check(redacted.find(s) == std::string::npos,
            "password \"" + s + "\" survives in the redaction \"" + redacted + "\"");
    if (s.find('*') == std::string::npos)
      Check(scrubbed.find(s) == std::string::npos,
            "password \"" + s + "\" survives the scrubber: \"" + scrubbed + "\"");
  }
  return 0;
}

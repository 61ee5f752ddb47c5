#include "agent/core/dsn.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>

#include "agent/core/url.hpp"  // PercentDecode: as libpq decodes URI keys and values

namespace cutover::agent {

namespace {

constexpr std::string_view kMask = "***";

struct Span {
  std::size_t begin;
  std::size_t end;
};

bool IsSecretKey(std::string_view key) { return key == "password" || key == "sslpassword"; }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// URI form: the password of the user info and any ?password=/&sslpassword=,
// found where libpq looks for them (fe-connect.c, conninfo_uri_parse_options).
std::vector<Span> UriSecretSpans(std::string_view uri) {
  std::vector<Span> spans;
  const std::size_t start = uri.find("://") + 3;
  const std::size_t n = uri.size();
  // libpq's user info ends at the first '@' met before any '/' ('?' does not
  // end it: "u:Pw?Secret1@host" has the password "Pw?Secret1").
  const std::size_t at_or_slash = std::min(uri.find_first_of("@/", start), n);
  const bool has_user_info = at_or_slash < n && uri[at_or_slash] == '@';
  std::size_t netloc = start;
  if (has_user_info) {
    // A password holding a raw '@' spills into libpq's host: mask up to the
    // last '@' before the host list ends (at '/' or '?'), to hide it whole.
    const std::size_t netloc_end = std::min(uri.find_first_of("/?", at_or_slash), n);
    const std::size_t last_at = uri.substr(0, netloc_end).rfind('@');
    const std::size_t colon = uri.find(':', start);
    if (colon < at_or_slash) spans.push_back({colon + 1, last_at});
    netloc = at_or_slash + 1;
  }
  // The query begins at the first '?' after the user info: the host list
  // cannot hold one and the database name ends at it.
  std::size_t pos = std::min(uri.find('?', netloc), n) + 1;
  while (pos < n) {
    const std::size_t amp = std::min(uri.find('&', pos), n);
    const std::string_view param = uri.substr(pos, amp - pos);
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos && IsSecretKey(PercentDecode(param.substr(0, eq))))
      spans.push_back({pos + eq + 1, amp});
    pos = amp + 1;
  }
  return spans;
}

// key=value form, tokenised the way libpq does (values may be single-quoted,
// backslash escapes). Where the string stops making sense, the rest is masked.
std::vector<Span> KeywordSecretSpans(std::string_view s) {
  std::vector<Span> spans;
  const auto space = [&](std::size_t i) {
    return std::isspace(static_cast<unsigned char>(s[i])) != 0;
  };
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    while (i < n && space(i)) ++i;
    if (i == n) break;
    const std::size_t key_begin = i;
    while (i < n && !space(i) && s[i] != '=') ++i;
    const std::string_view key = s.substr(key_begin, i - key_begin);
    while (i < n && space(i)) ++i;
    if (i == n || s[i] != '=' || key.empty()) {
      spans.push_back({key_begin, n});
      break;
    }
    ++i;
    while (i < n && space(i)) ++i;
    const std::size_t value_begin = i;
    if (i < n && s[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (s[i] == '\\' && i + 1 < n) {
          i += 2;
        } else if (s[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          ++i;
        }
      }
      if (!closed) {
        spans.push_back({value_begin, n});
        break;
      }
    } else {
      while (i < n && !space(i)) i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
    }
    if (IsSecretKey(key)) spans.push_back({value_begin, i});
  }
  return spans;
}

std::vector<Span> SecretSpans(std::string_view dsn) {
  if (IsSqliteDsn(dsn)) return {};
  if (IsPostgresUri(dsn)) return UriSecretSpans(dsn);
  return KeywordSecretSpans(dsn);
}

struct ConninfoDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Conninfo = std::unique_ptr<PQconninfoOption, ConninfoDeleter>;

Conninfo Parse(const std::string& dsn) { return Conninfo(PQconninfoParse(dsn.c_str(), nullptr)); }

}  // namespace

bool IsSqliteDsn(std::string_view dsn) { return StartsWith(dsn, "sqlite:"); }

std::string SqlitePath(std::string_view dsn) {
  std::string_view path = dsn.substr(std::string_view("sqlite:").size());
  if (StartsWith(path, "//")) path.remove_prefix(2);
  return std::string(path);
}

bool IsPostgresUri(std::string_view dsn) {
  return StartsWith(dsn, "postgresql://") || StartsWith(dsn, "postgres://");
}

std::string RedactDsn(std::string_view dsn) {
  if (IsSqliteDsn(dsn)) return std::string(dsn);
  const bool uri = IsPostgresUri(dsn);
  const std::string everything_masked =
      uri ? std::string(dsn.substr(0, dsn.find("://") + 3)) + std::string(kMask)
          : std::string(kMask);
  std::string masked;
  std::size_t pos = 0;
  for (const Span& span : SecretSpans(dsn)) {
    masked.append(dsn.substr(pos, span.begin - pos));
    masked.append(kMask);
    pos = span.end;
  }
  masked.append(dsn.substr(pos));
  // What libpq makes of the original decides whether the masking can be
  // trusted: the masked string must parse too, and hold no password but ours.
  // (A string libpq cannot read at all gives nothing away where it breaks,
  // but its masked form may read: "password='x'y=z" masks to
  // "password=***y=z", whose password libpq would take to be "***y=z".)
  const Conninfo original = Parse(std::string(dsn));
  if (!original && uri) return everything_masked;
  const Conninfo check = Parse(masked);
  if (!check) return original ? everything_masked : masked;
  for (const auto* o = check.get(); o->keyword != nullptr; ++o)
    if (o->val != nullptr && IsSecretKey(o->keyword) &&
        std::string_view(o->val).find_first_not_of('*') != std::string_view::npos)
      return everything_masked;
  return masked;
}

std::optional<std::string> PostgresDsnProblem(const std::string& dsn) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoDeleter> options(PQconninfoParse(dsn.c_str(), &error));
  if (options) return std::nullopt;
  std::string message = error != nullptr ? error : "out of memory";
  PQfreemem(error);
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back())))
    message.pop_back();
  if (!SecretSpans(dsn).empty() || dsn.find("password") != std::string::npos)
    return "libpq cannot parse the connection string " + RedactDsn(dsn);
  return SecretScrubber(dsn).Scrub(message);
}

SecretScrubber::SecretScrubber(std::string_view dsn) {
  for (const Span& span : SecretSpans(dsn)) {
    const std::string_view secret = dsn.substr(span.begin, span.end - span.begin);
    secrets_.emplace_back(secret);
    // A password holding a raw '@' is read by libpq as a password and part
    // of the host name, which its messages then quote: every piece counts.
    for (std::size_t from = 0, at; (at = secret.find('@', from)) != std::string_view::npos;
         from = at + 1) {
      secrets_.emplace_back(secret.substr(from, at - from));
      secrets_.emplace_back(secret.substr(at + 1));
    }
  }
  // libpq reports decoded values (percent-decoding, quote removal).
  if (!IsSqliteDsn(dsn)) {
    const Conninfo options = Parse(std::string(dsn));
    for (auto* o = options.get(); o != nullptr && o->keyword != nullptr; ++o)
      if (o->val != nullptr && IsSecretKey(o->keyword)) secrets_.emplace_back(o->val);
  }
  std::erase_if(secrets_, [](const std::string& s) { return s.empty(); });
  std::sort(secrets_.begin(), secrets_.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
}

std::string SecretScrubber::Scrub(const std::string& text) const {
  if (secrets_.empty()) return text;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::string* hit = nullptr;
    for (const std::string& secret : secrets_) {
      if (text.compare(i, secret.size(), secret) == 0) {
        hit = &secret;
        break;
      }
    }
    if (hit != nullptr) {
      out.append(kMask);
      i += hit->size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

}  // namespace cutover::agent

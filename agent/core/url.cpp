#include "agent/core/url.hpp"

#include <algorithm>
#include <cctype>

namespace cutover::agent {

namespace {

constexpr std::string_view kMask = "***";

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string MaskedAfterScheme(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(kMask);
  return std::string(url.substr(0, sep + 3)) + std::string(kMask);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<UrlParts> SplitUrl(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  UrlParts parts;
  parts.scheme = Lower(url.substr(0, sep));
  if (parts.scheme != "http" && parts.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    parts.fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    parts.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) parts.path = rest.substr(slash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    parts.userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return std::nullopt;
  for (char c : authority)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return std::nullopt;
  parts.authority = authority;
  return parts;
}

std::optional<std::string> HttpUrlProblem(std::string_view url) {
  if (url.empty()) return "must not be empty";
  if (url.size() > 2048) return "at most 2048 characters";
  for (char c : url)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return "must not contain spaces or control characters";
  if (!SplitUrl(url)) return "must be an http:// or https:// URL with a host";
  return std::nullopt;
}

std::string RedactUrl(std::string_view url) {
  const auto parts = SplitUrl(url);
  if (!parts) return MaskedAfterScheme(url);
  std::string out = parts->scheme + "://";
  if (!parts->userinfo.empty()) {
    const auto colon = parts->userinfo.find(':');
    out += colon == std::string::npos ? parts->userinfo
                                      : parts->userinfo.substr(0, colon + 1) + std::string(kMask);
    out += '@';
  }
  out += parts->authority + parts->path;
  if (!parts->query.empty() || url.find('?') != std::string_view::npos) {
    out += '?';
    std::size_t pos = 0;
    bool first = true;
    while (pos <= parts->query.size()) {
      const auto amp = std::min(parts->query.find('&', pos), parts->query.size());
      const std::string param = parts->query.substr(pos, amp - pos);
      if (!first) out += '&';
      first = false;
      const auto eq = param.find('=');
      out += eq == std::string::npos ? param : param.substr(0, eq + 1) + std::string(kMask);
      pos = amp + 1;
    }
  }
  return out;
}

std::string RedactWebhookUrl(std::string_view url) {
  const auto parts = SplitUrl(url);
  if (!parts) return MaskedAfterScheme(url);
  std::string out = parts->scheme + "://" + parts->authority;
  const bool secret_part = !parts->userinfo.empty() || parts->path.size() > 1 ||
                           !parts->query.empty() || !parts->fragment.empty();
  return secret_part ? out + "/" + std::string(kMask) : out + parts->path;
}

}  // namespace cutover::agent

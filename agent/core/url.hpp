// http:// and https:// URLs as the agent takes them (gate URLs, webhooks):
// split into parts, checked, and shown without their secrets. The DSN
// counterpart is dsn.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cutover::agent {

struct UrlParts {
  std::string scheme;     // "http" or "https", lower case
  std::string userinfo;   // "user:password" before '@', or ""
  std::string authority;  // "host:port", "[::1]:8080", "host"
  std::string path;       // from the first '/' on, without the query; "" when none
  std::string query;      // after '?', without it
  std::string fragment;   // after '#', without it
};

// nullopt when `url` is not scheme://authority[/path][?query][#fragment]
// with an http or https scheme and a non-empty authority.
std::optional<UrlParts> SplitUrl(std::string_view url);

// Why `url` is not an http(s) URL the agent can use, or nullopt.
std::optional<std::string> HttpUrlProblem(std::string_view url);

// %XX sequences decoded (a bad one is kept as it is); with `plus_is_space`,
// '+' too, as query strings encode a space.
std::string PercentDecode(std::string_view text, bool plus_is_space = false);

// Every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX,
// for a value put into a query string.
std::string PercentEncode(std::string_view text);

// For logs, details and status: the password of the user info and every
// query value masked ("http://u:***@h/p?token=***"). A URL that does not
// split is masked after its scheme.
std::string RedactUrl(std::string_view url);

// For a webhook, whose path is often the secret (Slack, Teams, Discord):
// only scheme and authority stay ("https://hooks.slack.com/***").
std::string RedactWebhookUrl(std::string_view url);

}  // namespace cutover::agent

// The `cutover` directive's parameters, parsed without nginx: plain strings
// in, the parameters or nginx's words for what is wrong out. The directive
// (ngx_http_cutover_upstream.cpp) feeds it cf->args; tests and the libFuzzer
// target (tests/fuzz/) feed it anything. C++17, no allocation, no exception.
//
//   CutoverParams params;
//   for (std::string_view arg : args)   // the arguments after "cutover"
//     if (!params.Add(arg)) return params.error();
//   if (!params.Finish()) return params.error();
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "cutover/percent.hpp"
#include "cutover/state_layout.hpp"

namespace cutover::module {

class CutoverParams {
 public:
  // One argument ("blue=app_blue", "weight=5", "key=$cookie_uid"...); false
  // with error() set when it is not a valid parameter.
  bool Add(std::string_view arg) noexcept {
    if (Prefixed(arg, "blue=") || Prefixed(arg, "green=")) {
      const bool blue = Prefixed(arg, "blue=");
      const std::string_view name = arg.substr(blue ? 5 : 6);
      if (name.empty() || name.size() >= state::kNameSize)
        return Fail("invalid upstream name in \"%.*s\"", arg);
      std::string_view& slot = blue ? blue_ : green_;
      if (!slot.empty()) return Fail("duplicate parameter \"%.*s\"", arg);
      slot = name;
      return true;
    }
    if (Prefixed(arg, "weight=")) {
      const std::string_view text = arg.substr(7);
      const PercentBp bp = ParsePercentText(text, PercentSign::kForbidden);
      if (!bp.ok()) {
        std::snprintf(error_, sizeof error_,
                      "invalid weight \"%.*s\": a percentage from 0 to 100 with at most two "
                      "decimals; the value %s",
                      Len(text), text.data(), Explain(bp.problem));
        return false;
      }
      weight_bp_ = bp.bp;
      return true;
    }
    if (Prefixed(arg, "key=")) {
      key_ = arg.substr(4);
      has_key_ = true;
      return true;
    }
    if (Prefixed(arg, "force=")) {
      force_ = arg.substr(6);
      has_force_ = true;
      return true;
    }
    if (Prefixed(arg, "failover=")) {
      const std::string_view v = arg.substr(9);
      if (v == "on" || v == "off") {
        failover_ = v == "on";
        return true;
      }
      return Fail("invalid value \"%.*s\": failover= takes on or off", arg);
    }
    return Fail("invalid parameter \"%.*s\"", arg);
  }

  // After the last argument: false with error() set when the parameters do
  // not make a cutover.
  bool Finish() noexcept {
    if (blue_.empty() || green_.empty()) return Fail("\"cutover\" needs both blue= and green=", {});
    if (SameName(blue_, green_))
      return Fail("blue= and green= name the same upstream \"%.*s\": a cutover needs two", blue_);
    return true;
  }

  // Upstream names, as nginx compares them: ASCII case-insensitively.
  static constexpr bool SameName(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }

  std::string_view blue() const noexcept { return blue_; }
  std::string_view green() const noexcept { return green_; }
  std::uint32_t weight_bp() const noexcept { return weight_bp_; }  // default 0: all blue
  bool has_key() const noexcept { return has_key_; }
  std::string_view key() const noexcept { return key_; }  // may hold variables
  bool has_force() const noexcept { return has_force_; }
  std::string_view force() const noexcept { return force_; }
  bool failover() const noexcept { return failover_; }  // default on
  const char* error() const noexcept { return error_; }

 private:
  static constexpr bool Prefixed(std::string_view s, std::string_view prefix) noexcept {
    return s.substr(0, prefix.size()) == prefix;
  }
  static int Len(std::string_view s) noexcept {
    return static_cast<int>(s.size() > 200 ? 200 : s.size());
  }
  bool Fail(const char* format, std::string_view arg) noexcept {
    std::snprintf(error_, sizeof error_, format, Len(arg), arg.data());
    return false;
  }

  std::string_view blue_, green_, key_, force_;
  std::uint32_t weight_bp_ = 0;
  bool has_key_ = false, has_force_ = false, failover_ = true;
  char error_[320] = {};
};

}  // namespace cutover::module

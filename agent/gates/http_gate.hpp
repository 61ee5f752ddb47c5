// http {url, expect_status, expect_body}: GETs a URL (or the same path on
// every peer of a slot) and passes when each answer has the expected status
// and, when asked, a body the regex finds a match in.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/core/gate.hpp"

namespace re2 {
class RE2;
}

namespace cutover::gates {

class HttpGate : public Gate {
 public:
  struct Spec {
    std::string url;                  // may have a slot placeholder as its authority
    std::uint32_t expect_status = 0;  // 0: any 2xx
    std::string expect_body;          // RE2; empty: any body
    bool before_promotion = false;
  };

  // Throws std::invalid_argument naming `field` ("gates[0].http.url: ...").
  HttpGate(Spec spec, std::chrono::milliseconds timeout, const std::string& field);
  ~HttpGate() override;

  std::string name() const override { return "http"; }
  GateOutcome Evaluate(const GateContext& context) override;
  bool checks_promotion() const override { return spec_.before_promotion; }

 private:
  Spec spec_;
  std::chrono::milliseconds timeout_;
  std::string slot_;  // "green", "blue", "new", "live" when the authority is a placeholder
  std::unique_ptr<re2::RE2> body_;
};

// The bytes of a body an http gate reads and searches; the rest is not read.
inline constexpr std::size_t kHttpGateMaxBody = 256 * 1024;

}  // namespace cutover::gates

#include "agent/gates/http_gate.hpp"

#include <re2/re2.h>

#include <stdexcept>
#include <vector>

#include "agent/core/http_fetch.hpp"
#include "agent/core/text.hpp"
#include "agent/core/url.hpp"
#include "agent/gates/deadline.hpp"
#include "agent/gates/evaluation.hpp"

namespace cutover::gates {

namespace {

using agent::Excerpt;
using agent::HttpFetch;
using agent::HttpFetchRequest;
using agent::HttpFetchResult;
using agent::HttpUrlProblem;
using agent::RedactUrl;

constexpr std::size_t kBodyExcerpt = 512;

[[noreturn]] void Invalid(const std::string& field, const std::string& why) {
  throw std::invalid_argument(field + ": " + why);
}

// One URL to ask: the spec's, or the spec's path on one peer.
struct Target {
  std::string url;          // what is fetched
  std::string shown;        // what a detail says (redacted)
  std::string unix_socket;  // a peer that is a unix socket
};

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

HttpGate::HttpGate(Spec spec, std::chrono::milliseconds timeout, const std::string& field)
    : spec_(std::move(spec)), timeout_(timeout) {
  const std::string url_field = field + ".url";
  const auto open = spec_.url.find('{');
  std::string checked = spec_.url;
  if (open != std::string::npos) {
    const auto close = spec_.url.find('}', open);
    const auto authority = spec_.url.find("://");
    if (close == std::string::npos || authority == std::string::npos || open != authority + 3 ||
        (close + 1 < spec_.url.size() && spec_.url[close + 1] != '/' &&
         spec_.url[close + 1] != '?') ||
        spec_.url.find_first_of("{}", close + 1) != std::string::npos)
      Invalid(url_field,
              "a slot placeholder is the whole host:port and nothing else has braces "
              "(\"http://{green}/health\")");
    slot_ = spec_.url.substr(open + 1, close - open - 1);
    if (slot_ != "green" && slot_ != "blue" && slot_ != "new" && slot_ != "live")
      Invalid(url_field, Quoted("{" + slot_ + "}") +
                             " is not a slot (expected {green}, {blue}, {new} or {live})");
    checked = spec_.url.substr(0, open) + "placeholder" + spec_.url.substr(close + 1);
  }
  if (auto problem = HttpUrlProblem(checked)) Invalid(url_field, *problem);
  if (spec_.expect_status != 0 && (spec_.expect_status < 100 || spec_.expect_status > 599))
    Invalid(field + ".expect_status",
            "must be an HTTP status from 100 to 599 (or 0: any 2xx), got " +
                std::to_string(spec_.expect_status));
  if (!spec_.expect_body.empty()) {
    if (spec_.expect_body.size() > 1024) Invalid(field + ".expect_body", "at most 1024 characters");
    RE2::Options options;
    options.set_log_errors(false);
    body_ = std::make_unique<re2::RE2>(spec_.expect_body, options);
    if (!body_->ok()) Invalid(field + ".expect_body", "not a valid regex: " + body_->error());
  }
}

HttpGate::~HttpGate() = default;

GateOutcome HttpGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    const Deadline deadline(timeout_);
    GateOutcome outcome;
    std::vector<Target> targets;
    std::string slot;  // the slot the placeholder stands for
    if (slot_.empty()) {
      targets.push_back({spec_.url, RedactUrl(spec_.url), ""});
    } else {
      slot = slot_;
      if (slot == "new" || slot == "live") {
        if (context.new_slot.empty()) {
          outcome.detail = RedactUrl(spec_.url) + ": {" + slot_ +
                           "} needs a cutover to know which slot it is (preflight: --cutover)";
          return outcome;
        }
        slot = slot == "new" ? context.new_slot : (context.new_slot == "green" ? "blue" : "green");
      }
      const auto& peers = slot == "green" ? context.green_peers : context.blue_peers;
      if (peers.empty()) {
        outcome.detail =
            RedactUrl(spec_.url) + ": " +
            (context.cutover.empty()
                 ? "{" + slot_ + "} needs a cutover to find its peers (preflight: --cutover)"
                 : "cutover " + Quoted(context.cutover) + " has no " + slot +
                       " peer in the state file");
        return outcome;
      }
      const auto open = spec_.url.find('{');
      const auto close = spec_.url.find('}');
      for (const auto& peer : peers) {
        Target t;
        std::string authority = peer;
        if (peer.rfind("unix:", 0) == 0) {
          t.unix_socket = peer.substr(5);
          authority = "localhost";
        }
        t.url = spec_.url.substr(0, open) + authority + spec_.url.substr(close + 1);
        t.shown = RedactUrl(t.url);
        if (!t.unix_socket.empty()) t.shown += " (via " + peer + ")";
        targets.push_back(std::move(t));
      }
    }

    const std::string expected =
        spec_.expect_status == 0 ? "a 2xx status" : std::to_string(spec_.expect_status);
    std::vector<std::string> failures;
    long last_status = 0;
    for (const auto& target : targets) {
      if (deadline.expired()) {
        failures.push_back("GET " + target.shown + " not asked: the gate timed out after " +
                           agent::FormatDuration(timeout_));
        continue;
      }
      HttpFetchRequest request;
      request.url = target.url;
      request.unix_socket = target.unix_socket;
      request.timeout = deadline.remaining();
      request.max_body = kHttpGateMaxBody;
      request.cancel = context.cancel;
      const HttpFetchResult answer = HttpFetch(request);
      if (answer.status == 0) {
        // The gate's whole budget ran out, whatever part of it this one had.
        failures.push_back("GET " + target.shown + " failed: " +
                           (answer.timed_out ? "timed out after " + agent::FormatDuration(timeout_)
                                             : answer.error));
        continue;
      }
      last_status = answer.status;
      const bool status_ok = spec_.expect_status == 0
                                 ? answer.status >= 200 && answer.status <= 299
                                 : answer.status == static_cast<long>(spec_.expect_status);
      const std::string said = "GET " + target.shown + " answered " + std::to_string(answer.status);
      if (!status_ok) {
        failures.push_back(said + ", expected " + expected);
        if (outcome.output.empty()) outcome.output = Excerpt(answer.body, kBodyExcerpt);
        continue;
      }
      if (body_ && !RE2::PartialMatch(answer.body, *body_)) {
        failures.push_back(said + " but its body" +
                           (answer.body_cut
                                ? " (first " + std::to_string(kHttpGateMaxBody / 1024) + " KiB)"
                                : "") +
                           " has no match for " + Quoted(spec_.expect_body));
        if (outcome.output.empty()) outcome.output = Excerpt(answer.body, kBodyExcerpt);
      }
    }
    const std::string matched = body_ ? ", body matches " + Quoted(spec_.expect_body) : "";
    if (failures.empty()) {
      outcome.passed = true;
      outcome.detail = targets.size() == 1 ? "GET " + targets.front().shown + " answered " +
                                                 std::to_string(last_status) + matched
                                           : "GET " + RedactUrl(spec_.url) + ": all " +
                                                 std::to_string(targets.size()) + " " + slot +
                                                 " peers answered " + expected + matched;
      return outcome;
    }
    outcome.detail = targets.size() == 1 ? failures.front()
                                         : std::to_string(failures.size()) + " of " +
                                               std::to_string(targets.size()) + " " + slot +
                                               " peers failed: " + failures.front();
    for (std::size_t i = 1; i < failures.size() && i < 4; ++i) outcome.detail += "; " + failures[i];
    if (failures.size() > 4) outcome.detail += "; ...";
    return outcome;
  });
}

}  // namespace cutover::gates

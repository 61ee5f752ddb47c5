// What the agent tells a webhook about one journaled event: a JSON object
// with a Slack-compatible "text" line first, then the facts:
//   {"text": "app: reverted: green 25.00% -> 0.00% (breach: error rate ...)",
//    "cutover": "app", "kind": "reverted", "severity": "critical",
//    "event": {...the journal's Event, proto field names, without its plan}}
// Nothing in it is secret: the journal's event already holds none, and the
// plan (with its gate specs and webhooks) is left out.
#pragma once

#include <string>

#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// Every event but agent_started: a rollout's start, steps, holds
// (gate_failed, inconclusive), breach, revert, pause, resume, promotion,
// completion, abort, and weights set by hand.
bool Notifiable(const v1::Event& event);

// "critical" (breach, reverted), "warning" (gate_failed, inconclusive,
// paused, aborted, or a gate outcome with a warning), "info" otherwise.
std::string Severity(const v1::Event& event);

// The one line a chat shows.
std::string NotificationText(const v1::Event& event);

// The JSON body POSTed.
std::string NotificationJson(const v1::Event& event);

}  // namespace cutover::agent

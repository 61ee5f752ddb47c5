// Tells webhooks what the agent decided: a ControllerListener whose OnEvent
// only formats and queues (it runs under the controller's lock, in the
// decision's path), and one worker thread per webhook that POSTs, in order,
// retrying with backoff. A full queue drops its oldest entry; a webhook that
// hangs or is gone delays only its own queue. Failures are logged and
// counted, never fatal.
//
// Webhooks: the agent's (--notify, every notifiable event of every cutover)
// and a plan's notify: (that rollout's events), each URL one queue.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/server/controller.hpp"

namespace cutover::agent {

struct NotifierOptions {
  std::vector<std::string> urls;   // --notify
  std::size_t queue_limit = 1000;  // per webhook
  int attempts = 5;
  std::chrono::milliseconds first_backoff{500};  // doubled after each failed attempt
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds timeout{5000};  // per attempt
  std::size_t max_webhooks = 32;            // distinct URLs, agent's and plans' together
  // Told "sent", "retried", "failed" or "dropped" for each notification (metrics).
  std::function<void(const std::string&)> count;
};

class Notifier final : public ControllerListener {
 public:
  explicit Notifier(NotifierOptions options);
  ~Notifier() override;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void OnTick(const std::vector<state::RecordSnapshot>&,
              const std::map<std::string, v1::Rollout>&) override {}
  void OnEvent(const v1::Event& event) override;
  void OnRolloutPlan(const std::string& rollout_id, const v1::Plan& plan) override;

  // Delivers what is queued for up to `grace` (one attempt each), then
  // abandons the rest and joins the workers. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

 private:
  struct Webhook;
  Webhook* WebhookFor(const std::string& url);  // under mutex_
  void Enqueue(Webhook& webhook, const std::string& json, const std::string& what);
  void Run(Webhook& webhook);
  void Count(const std::string& result);

  NotifierOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Webhook>> webhooks_;  // by URL
  std::vector<Webhook*> agent_webhooks_;
  std::map<std::string, std::vector<Webhook*>> rollout_webhooks_;  // by rollout id
  std::map<std::string, std::string> last_hold_;  // rollout id -> its last gate_failed told
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandon_{false};
  std::chrono::steady_clock::time_point stop_by_{};
  bool stopped_ = false;
};

}  // namespace cutover::agent

#include "agent/notify/notifier.hpp"

#include <algorithm>

#include "agent/core/event_kinds.hpp"
#include "agent/core/http_fetch.hpp"
#include "agent/core/log.hpp"
#include "agent/core/url.hpp"
#include "agent/notify/notification.hpp"

namespace cutover::agent {

struct Notifier::Webhook {
  std::string url;    // a secret, often (Slack's path is its token)
  std::string shown;  // what logs say
  struct Item {
    std::string json;
    std::string what;  // "reverted #12 of app"
  };
  std::deque<Item> queue;
  std::condition_variable wake;
  std::thread worker;
  std::uint64_t dropped_since_logged = 0;
};

namespace {

bool Ends(const std::string& kind) {
  return kind == event_kind::kCompleted || kind == event_kind::kPromoted ||
         kind == event_kind::kReverted || kind == event_kind::kAborted;
}

// What a gate_failed says is held, without the numbers that change from one
// retry to the next: a hold is told once, until it changes or ends.
std::string HoldKey(const v1::Event& e) {
  std::string key = std::to_string(e.step());
  for (const auto& g : e.gates())
    if (!g.passed()) key += " " + g.name();
  return key;
}

}  // namespace

Notifier::Notifier(NotifierOptions options) : options_(std::move(options)) {
  std::lock_guard lock(mutex_);
  for (const auto& url : options_.urls)
    if (Webhook* w = WebhookFor(url)) agent_webhooks_.push_back(w);
}

Notifier::~Notifier() { Stop(std::chrono::milliseconds(0)); }

Notifier::Webhook* Notifier::WebhookFor(const std::string& url) {
  auto it = webhooks_.find(url);
  if (it != webhooks_.end()) return it->second.get();
  if (webhooks_.size() >= options_.max_webhooks) {
    LogWarning("notify: more than " + std::to_string(options_.max_webhooks) +
               " webhooks; not notifying " + RedactWebhookUrl(url));
    return nullptr;
  }
  auto webhook = std::make_unique<Webhook>();
  webhook->url = url;
  webhook->shown = RedactWebhookUrl(url);
  Webhook* w = webhook.get();
  webhooks_.emplace(url, std::move(webhook));
  w->worker = std::thread([this, w] { Run(*w); });
  return w;
}

void Notifier::Count(const std::string& result) {
  if (options_.count) options_.count(result);
}

void Notifier::OnRolloutPlan(const std::string& rollout_id, const v1::Plan& plan) {
  if (plan.notify().empty()) return;
  std::lock_guard lock(mutex_);
  auto& hooks = rollout_webhooks_[rollout_id];
  for (const auto& url : plan.notify())
    if (Webhook* w = WebhookFor(url))
      if (std::find(hooks.begin(), hooks.end(), w) == hooks.end() &&
          std::find(agent_webhooks_.begin(), agent_webhooks_.end(), w) == agent_webhooks_.end())
        hooks.push_back(w);
}

void Notifier::OnEvent(const v1::Event& event) {
  if (!Notifiable(event) || stopping_) return;
  std::lock_guard lock(mutex_);
  const std::string& id = event.rollout_id();
  if (!id.empty()) {
    if (event.kind() == event_kind::kGateFailed) {
      std::string key = HoldKey(event);
      auto& last = last_hold_[id];
      if (last == key) return;  // the same hold, asked again one window later
      last = std::move(key);
    } else {
      last_hold_.erase(id);
    }
  }
  const std::string json = NotificationJson(event);
  const std::string what =
      event.kind() + " #" + std::to_string(event.sequence()) + " of " + event.cutover();
  for (Webhook* w : agent_webhooks_) Enqueue(*w, json, what);
  if (auto it = rollout_webhooks_.find(id); !id.empty() && it != rollout_webhooks_.end()) {
    for (Webhook* w : it->second) Enqueue(*w, json, what);
    if (Ends(event.kind())) {
      rollout_webhooks_.erase(it);
      last_hold_.erase(id);
    }
  }
}

void Notifier::Enqueue(Webhook& w, const std::string& json, const std::string& what) {
  if (w.queue.size() >= options_.queue_limit) {
    w.queue.pop_front();  // the newest matter most: a revert must not wait behind a backlog
    Count("dropped");
    if (w.dropped_since_logged++ == 0)
      LogWarning("notify " + w.shown + ": queue full (" + std::to_string(options_.queue_limit) +
                 "), dropping the oldest notifications");
  }
  w.queue.push_back({json, what});
  w.wake.notify_one();
}

void Notifier::Run(Webhook& w) {
  for (;;) {
    Webhook::Item item;
    {
      std::unique_lock lock(mutex_);
      w.wake.wait(lock, [&] { return stopping_ || !w.queue.empty(); });
      if (w.queue.empty() || abandon_ ||
          (stopping_ && std::chrono::steady_clock::now() >= stop_by_))
        return;
      item = std::move(w.queue.front());
      w.queue.pop_front();
      if (w.queue.empty()) w.dropped_since_logged = 0;
    }
    auto backoff = options_.first_backoff;
    for (int attempt = 1;; ++attempt) {
      HttpFetchRequest post;
      post.method = "POST";
      post.url = w.url;
      post.body = item.json;
      post.headers = {"Content-Type: application/json"};
      post.timeout = options_.timeout;
      post.max_body = 4096;
      post.cancel = &abandon_;
      const HttpFetchResult answer = HttpFetch(post);
      if (answer.status >= 200 && answer.status <= 299) {
        Count("sent");
        break;
      }
      const std::string why =
          answer.status != 0 ? "HTTP " + std::to_string(answer.status) : answer.error;
      // A 4xx other than 408 and 429 will not change by asking again.
      const bool permanent = answer.status >= 400 && answer.status <= 499 && answer.status != 408 &&
                             answer.status != 429;
      if (permanent || attempt >= options_.attempts || stopping_) {
        Count("failed");
        LogWarning("notify " + w.shown + ": " + item.what + " not delivered after " +
                   std::to_string(attempt) + " attempt" + (attempt == 1 ? "" : "s") + ": " + why);
        break;
      }
      Count("retried");
      std::unique_lock lock(mutex_);
      if (w.wake.wait_for(lock, backoff, [&] { return stopping_.load(); })) {
        Count("failed");
        LogWarning("notify " + w.shown + ": " + item.what + " not delivered (stopping): " + why);
        break;
      }
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }
}

void Notifier::Stop(std::chrono::milliseconds grace) {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    stop_by_ = std::chrono::steady_clock::now() + grace;
    stopping_ = true;
    for (auto& [url, w] : webhooks_) {
      w->wake.notify_all();
      workers.push_back(std::move(w->worker));
    }
  }
  // Past the grace, an attempt still in flight is abandoned too.
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread deadline([&] {
    std::unique_lock lock(done_mutex);
    if (!done_cv.wait_for(lock, grace, [&] { return done; })) abandon_ = true;
  });
  for (auto& t : workers)
    if (t.joinable()) t.join();
  {
    std::lock_guard lock(done_mutex);
    done = true;
  }
  done_cv.notify_all();
  deadline.join();
}

}  // namespace cutover::agent

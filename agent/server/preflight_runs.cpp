#include "agent/server/preflight_runs.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <string>
#include <thread>

#include "agent/engine/rollout_engine.hpp"
#include "agent/server/api_error.hpp"

namespace cutover::agent {

struct PreflightRuns::Job {
  // The evaluation's own: set when its caller leaves or the agent stops.
  std::atomic<bool> cancel{false};
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  v1::PreflightResponse response;
};

std::optional<v1::Sync> PreflightRuns::SyncView::SyncOf(const std::string& cutover) const {
  std::lock_guard lock(mutex_);
  if (sync_ == nullptr) return std::nullopt;
  return sync_->SyncOf(cutover);
}

void PreflightRuns::SyncView::Detach() {
  std::lock_guard lock(mutex_);  // waits out a SyncOf in progress (it never blocks)
  sync_ = nullptr;
}

std::shared_ptr<PreflightRuns> PreflightRuns::Create(const SyncStatusSource* sync) {
  return std::shared_ptr<PreflightRuns>(new PreflightRuns(sync));
}

int PreflightRuns::running() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(jobs_.size());
}

void PreflightRuns::Shutdown() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  for (const auto& job : jobs_) job->cancel = true;
  sync_.Detach();
}

void PreflightRuns::Finished(const Job* job) {
  std::lock_guard lock(mutex_);
  std::erase_if(jobs_, [job](const std::shared_ptr<Job>& j) { return j.get() == job; });
}

v1::PreflightResponse PreflightRuns::Run(std::shared_ptr<GateSet> gates, gates::GateContext context,
                                         const std::function<bool()>& cancelled) {
  auto job = std::make_shared<Job>();
  {
    std::lock_guard lock(mutex_);
    if (stopped_) throw ApiError(grpc::StatusCode::UNAVAILABLE, "preflight: the agent is stopping");
    if (static_cast<int>(jobs_.size()) >= kMax)
      throw ApiError(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "preflight: " + std::to_string(kMax) +
                         " are evaluating gates already; try again when one has ended");
    jobs_.push_back(job);
  }
  context.cancel = &job->cancel;
  context.sync = has_sync_ ? &sync_ : nullptr;
  // Owns what it uses (this object, the gates, a copy of the context).
  std::thread([self = shared_from_this(), job, gates = std::move(gates),
               context = std::move(context)] {
    v1::PreflightResponse response;
    bool go = true;
    for (auto& gate : *gates) {
      if (job->cancel) break;  // nobody is left to read the answer
      gates::GateContext c = context;
      c.before_revert = !gate->checks_steps() && gate->checks_reverts();
      const gates::GateOutcome outcome = EvaluateGate(*gate, c);
      go = go && outcome.passed;
      ToProto(outcome, response.add_gates());
    }
    response.set_go(go);
    self->Finished(job.get());  // first: its caller may start another at once
    {
      std::lock_guard lock(job->mutex);
      job->response = std::move(response);
      job->done = true;
    }
    job->done_cv.notify_all();
  }).detach();
  std::unique_lock lock(job->mutex);
  while (!job->done_cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return job->done; }))
    if (cancelled && cancelled()) {
      job->cancel = true;
      throw ApiError(grpc::StatusCode::CANCELLED,
                     "preflight: the caller has gone; its gates were told to give up");
    }
  // Only Shutdown cancels a job whose caller is still here.
  if (job->cancel)
    throw ApiError(grpc::StatusCode::UNAVAILABLE,
                   "preflight: the agent is stopping; its gates were told to give up");
  return std::move(job->response);
}

}  // namespace cutover::agent

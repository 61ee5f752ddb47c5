// One thread that runs jobs in the order they were submitted: what keeps
// slow work (a gate's database, a metric's Prometheus) off the tick.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cutover::agent {

class Worker {
 public:
  Worker();
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Submit(std::function<void()> job);
  // Drops queued jobs and waits for the one running: call before whatever
  // the jobs touch is destroyed. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cutover::agent

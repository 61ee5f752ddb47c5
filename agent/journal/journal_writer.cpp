#include "agent/journal/journal_writer.hpp"

#include <algorithm>

namespace cutover::agent {

namespace {
// Failed batches remembered for WaitWritten: a waiter asks right after its
// call, so the latest few are plenty.
constexpr std::size_t kFailuresKept = 256;
}  // namespace

JournalWriter::JournalWriter(Journal& journal, Mode mode, std::size_t max_queued)
    : journal_(journal), mode_(mode), max_queued_(max_queued) {
  decided_through_ = journal_.last_sequence();
  if (mode_ == Mode::kThread) thread_ = std::thread([this] { Run(); });
}

JournalWriter::~JournalWriter() {
  Stop(std::chrono::hours(24));
  if (thread_.joinable()) thread_.join();
}

void JournalWriter::Observe(Observer observer) { observers_.push_back(std::move(observer)); }

bool JournalWriter::failing() const {
  std::lock_guard lock(mutex_);
  return failing_;
}

std::uint64_t JournalWriter::Submit(v1::Event& event) {
  std::unique_lock lock(mutex_);
  const std::uint64_t sequence = journal_.Number(event);
  if (mode_ == Mode::kInline) {
    lock.unlock();
    Write({event});
    return sequence;
  }
  if (queue_.size() >= max_queued_ || stopped_) {
    Outcome dropped{sequence, sequence, false,
                    stopped_ ? "the journal writer has stopped"
                             : "the journal is " + std::to_string(queue_.size()) +
                                   " events behind: event not journaled"};
    Decide(dropped);
    lock.unlock();
    for (const Observer& o : observers_) o(dropped);
    return sequence;
  }
  queue_.push_back(event);
  lock.unlock();
  wake_.notify_one();
  return sequence;
}

void JournalWriter::Run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and everything is written
    std::vector<v1::Event> batch;
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    Write(std::move(batch));
    lock.lock();
  }
  stopped_ = true;
  decided_.notify_all();
}

void JournalWriter::Write(std::vector<v1::Event> batch) {
  Outcome outcome{batch.front().sequence(), batch.back().sequence(), true, ""};
  try {
    journal_.Write(batch);
  } catch (const std::exception& e) {
    outcome.written = false;
    outcome.error = e.what();
  }
  {
    std::lock_guard lock(mutex_);
    Decide(outcome);
  }
  // Observers first, then waiters: a caller that returns after its event is
  // written finds the metrics and the health already saying so.
  for (const Observer& o : observers_) o(outcome);
  decided_.notify_all();
}

void JournalWriter::Decide(const Outcome& outcome) {
  decided_through_ = std::max(decided_through_, outcome.last);
  failing_ = !outcome.written;
  if (!outcome.written) {
    failures_.push_back(outcome);
    if (failures_.size() > kFailuresKept) failures_.pop_front();
  }
}

bool JournalWriter::Failed(std::uint64_t sequence, std::string* error) const {
  for (const Outcome& f : failures_)
    if (sequence >= f.first && sequence <= f.last) {
      *error = f.error;
      return true;
    }
  return false;
}

std::string JournalWriter::WaitWritten(std::uint64_t sequence) {
  std::unique_lock lock(mutex_);
  std::string error;
  decided_.wait(
      lock, [&] { return Failed(sequence, &error) || decided_through_ >= sequence || stopped_; });
  if (error.empty() && decided_through_ < sequence) return "the journal writer has stopped";
  return error;
}

bool JournalWriter::Stop(std::chrono::milliseconds timeout) {
  if (mode_ == Mode::kInline) return true;
  std::unique_lock lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
  return decided_.wait_for(lock, timeout, [&] { return stopped_; });
}

}  // namespace cutover::agent

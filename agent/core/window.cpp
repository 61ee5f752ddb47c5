#include "agent/core/window.hpp"

namespace cutover::agent {

namespace {
bool WentBackwards(const state::SlotSnapshot& now, const state::SlotSnapshot& before) {
  return now.requests < before.requests || now.failures < before.failures ||
         now.Responses5xx() < before.Responses5xx() || now.waits_started < before.waits_started;
}

std::uint64_t Delta(std::uint64_t newer, std::uint64_t older) {
  return newer >= older ? newer - older : 0;
}
}  // namespace

WindowStats Difference(const state::SlotSnapshot& newer, const state::SlotSnapshot& older,
                       std::chrono::nanoseconds span) {
  WindowStats w;
  w.span = span;
  w.requests = Delta(newer.requests, older.requests);
  w.responses_5xx = Delta(newer.Responses5xx(), older.Responses5xx());
  w.failures = Delta(newer.failures, older.failures);
  w.abandoned = Delta(newer.abandoned, older.abandoned);
  w.writes = Delta(newer.writes, older.writes);
  for (std::size_t i = 0; i < w.latency.size(); ++i)
    w.latency[i] = Delta(newer.latency[i], older.latency[i]);
  w.p50_ms = state::LatencyQuantileUs(w.latency.data(), 0.50) / 1000.0;
  w.p95_ms = state::LatencyQuantileUs(w.latency.data(), 0.95) / 1000.0;
  w.p99_ms = state::LatencyQuantileUs(w.latency.data(), 0.99) / 1000.0;
  w.waiting = newer.Waiting();
  return w;
}

std::uint64_t StalledSince(const state::SlotSnapshot& base, const state::SlotSnapshot& cut,
                           const state::SlotSnapshot& newest) {
  const std::uint64_t started = Delta(cut.waits_started, base.waits_started);
  const std::uint64_t ended = Delta(newest.waits_ended, base.waits_ended);
  return started > ended ? started - ended : 0;
}

void SlotHistory::Add(SteadyTime at, const state::SlotSnapshot& totals) {
  if (!samples_.empty() && WentBackwards(totals, samples_.back().totals)) samples_.clear();
  // Thin: replace the newest sample instead of appending when it is closer
  // than retention / kMaxSamples to the one before it.
  const auto spacing = retention_ / static_cast<long>(kMaxSamples);
  if (samples_.size() >= 2 && at - samples_[samples_.size() - 2].at < spacing) {
    samples_.back() = Sample{at, totals};
  } else {
    samples_.push_back(Sample{at, totals});
  }
  // Keep one sample older than the retention so a full window has a base.
  while (samples_.size() > 2 && at - samples_[1].at >= retention_) samples_.pop_front();
}

WindowStats SlotHistory::Window(const WindowQuery& query) const {
  // The oldest sample the evidence allows.
  std::size_t first = 0;
  while (first < samples_.size() && samples_[first].at <= query.evidence_after) ++first;
  if (samples_.size() < first + 2) {
    WindowStats none;
    if (!samples_.empty()) none.waiting = samples_.back().totals.Waiting();
    return none;
  }
  const Sample& newest = samples_.back();
  const SteadyTime start = newest.at - query.window;
  // The newest allowed sample at or before the window's start; else the oldest allowed.
  const Sample* base = &samples_[first];
  for (std::size_t i = first; i < samples_.size() && samples_[i].at <= start; ++i)
    base = &samples_[i];
  WindowStats w = Difference(newest.totals, base->totals, newest.at - base->at);
  if (query.stall_after > std::chrono::nanoseconds(0)) {
    // The newest sample at least stall_after old, no older than the evidence.
    const SteadyTime cut_time = newest.at - query.stall_after;
    const Sample* cut = nullptr;
    for (std::size_t i = first; i < samples_.size() && samples_[i].at <= cut_time; ++i)
      cut = &samples_[i];
    if (cut != nullptr)
      w.stalled = StalledSince(samples_[first].totals, cut->totals, newest.totals);
  }
  return w;
}

}  // namespace cutover::agent

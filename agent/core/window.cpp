#include "agent/core/window.hpp"

namespace cutover::agent {

namespace {
bool WentBackwards(const state::SlotSnapshot& now, const state::SlotSnapshot& before) {
  return now.requests < before.requests || now.failures < before.failures ||
         now.Responses5xx() < before.Responses5xx();
}
}  // namespace

WindowStats Difference(const state::SlotSnapshot& newer, const state::SlotSnapshot& older,
                       std::chrono::nanoseconds span) {
  WindowStats w;
  w.span = span;
  w.requests = newer.requests - older.requests;
  w.responses_5xx = newer.Responses5xx() - older.Responses5xx();
  w.failures = newer.failures - older.failures;
  w.writes = newer.writes - older.writes;
  std::array<std::uint64_t, state::kLatencyBuckets> delta{};
  for (std::size_t i = 0; i < delta.size(); ++i)
    delta[i] = newer.latency[i] >= older.latency[i] ? newer.latency[i] - older.latency[i] : 0;
  w.p50_ms = state::LatencyQuantileUs(delta.data(), 0.50) / 1000.0;
  w.p95_ms = state::LatencyQuantileUs(delta.data(), 0.95) / 1000.0;
  w.p99_ms = state::LatencyQuantileUs(delta.data(), 0.99) / 1000.0;
  return w;
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

WindowStats SlotHistory::Window(std::chrono::nanoseconds window) const {
  if (samples_.size() < 2) return WindowStats{};
  const Sample& newest = samples_.back();
  const SteadyTime start = newest.at - window;
  // The newest sample at or before the window's start; else the oldest.
  const Sample* base = &samples_.front();
  for (const Sample& s : samples_) {
    if (s.at > start) break;
    base = &s;
  }
  return Difference(newest.totals, base->totals, newest.at - base->at);
}

}  // namespace cutover::agent

#include "agent/engine/comparison.hpp"

#include <algorithm>
#include <cstdio>

#include "agent/core/analysis_defaults.hpp"

namespace cutover::agent {

namespace {

bool NotBelow(const state::SlotSnapshot& now, const state::SlotSnapshot& before) {
  if (now.requests < before.requests || now.failures < before.failures ||
      now.Responses5xx() < before.Responses5xx())
    return false;
  for (std::size_t i = 0; i < now.latency.size(); ++i)
    if (now.latency[i] < before.latency[i]) return false;
  return true;
}

std::uint64_t Tried(const state::SlotSnapshot& s) { return s.requests + s.failures; }
std::uint64_t Errors(const state::SlotSnapshot& s) { return s.Responses5xx() + s.failures; }

double Capped(double statistic) { return std::min(statistic, 1e300); }

}  // namespace

Comparison::Comparison(const v1::Analysis& analysis, int steps)
    : alpha_(CompareAlpha(analysis.compare())),
      latency_(CompareLatency(analysis.compare())),
      promote_early_(analysis.compare().promote_early()),
      max_error_rate_(analysis.max_error_rate()),
      errors_(steps),
      latency_test_(steps) {}

void Comparison::BeginStep() {
  started_ = true;
  errors_.BeginStep();
  latency_test_.BeginStep();
  if (promote_early_) promote_.emplace(max_error_rate_);
}

std::optional<std::size_t> Comparison::SlowFrom() const {
  std::uint64_t total = 0;
  for (std::uint64_t c : old_latency_) total += c;
  if (total < kLatencyCutMinRequests) return std::nullopt;
  const double rank = 0.99 * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < old_latency_.size(); ++i) {
    seen += static_cast<double>(old_latency_[i]);
    if (seen >= rank) {
      if (i + 1 >= old_latency_.size()) return std::nullopt;  // nothing is slower
      return i + 1;
    }
  }
  return std::nullopt;
}

void Comparison::Observe(std::uint64_t epoch, const state::SlotSnapshot& new_totals,
                         const state::SlotSnapshot& old_totals) {
  if (!started_) return;
  const bool usable = previous_ && previous_->epoch == epoch &&
                      NotBelow(new_totals, previous_->new_totals) &&
                      NotBelow(old_totals, previous_->old_totals);
  if (usable) {
    const state::SlotSnapshot& n0 = previous_->new_totals;
    const state::SlotSnapshot& o0 = previous_->old_totals;
    const std::uint64_t new_tried = Tried(new_totals) - Tried(n0);
    const std::uint64_t old_tried = Tried(old_totals) - Tried(o0);
    errors_.Add(new_tried, Errors(new_totals) - Errors(n0), old_tried,
                Errors(old_totals) - Errors(o0));
    if (promote_) promote_->Add(new_tried, Errors(new_totals) - Errors(n0));
    // Latency: the cut comes from the ticks before this one (it must not
    // depend on what it judges), the old slot's P99 bucket so far.
    slow_from_ = SlowFrom();
    std::uint64_t new_done = 0, old_done = 0, new_slow = 0, old_slow = 0;
    for (std::size_t i = 0; i < state::kLatencyBuckets; ++i) {
      const std::uint64_t dn = new_totals.latency[i] - n0.latency[i];
      const std::uint64_t dold = old_totals.latency[i] - o0.latency[i];
      new_done += dn;
      old_done += dold;
      if (slow_from_ && i >= *slow_from_) {
        new_slow += dn;
        old_slow += dold;
      }
      old_latency_[i] += dold;
    }
    if (latency_ && slow_from_) latency_test_.Add(new_done, new_slow, old_done, old_slow);
  }
  previous_ = Base{epoch, new_totals, old_totals};
}

Comparison::Finding Comparison::finding() const {
  if (errors_.Statistic() >= bound()) return Finding::kErrorsWorse;
  if (latency_ && latency_test_.Statistic() >= bound()) return Finding::kLatencyWorse;
  return Finding::kNone;
}

bool Comparison::promote_ready() const {
  return promote_ && promote_->Statistic() >= bound() && finding() == Finding::kNone;
}

void Comparison::Fill(v1::Measurement* m) const {
  m->set_compare_statistic(Capped(errors_.Statistic()));
  m->set_compare_bound(bound());
  if (const RateRatioTest* whole = errors_.whole()) {
    m->set_compare_new_errors(whole->new_events());
    m->set_compare_old_errors(whole->old_events());
    m->set_compare_expected_new_errors(whole->expected_new_events());
  }
  if (latency_) {
    m->set_latency_statistic(Capped(latency_test_.Statistic()));
    if (slow_from_)
      m->set_latency_cut_ms(static_cast<double>(state::kLatencyBoundsUs[*slow_from_ - 1]) / 1000.0);
    if (const RateRatioTest* whole = latency_test_.whole()) {
      m->set_latency_new_slow(whole->new_events());
      m->set_latency_old_slow(whole->old_events());
      m->set_latency_expected_new_slow(whole->expected_new_events());
    }
  }
  if (promote_) m->set_promote_statistic(Capped(promote_->Statistic()));
}

std::string Comparison::Reason(Finding f) const {
  char buf[320];
  v1::Measurement m;
  Fill(&m);
  if (f == Finding::kErrorsWorse) {
    std::snprintf(
        buf, sizeof buf,
        "sequential comparison: the new slot's error rate is above the old slot's "
        "(statistic %.3g reached 1/alpha = %.3g; %llu errors on the new slot where "
        "%.1f were expected, %llu on the old)",
        m.compare_statistic(), bound(), static_cast<unsigned long long>(m.compare_new_errors()),
        m.compare_expected_new_errors(), static_cast<unsigned long long>(m.compare_old_errors()));
  } else if (f == Finding::kLatencyWorse) {
    std::snprintf(buf, sizeof buf,
                  "sequential comparison: the new slot is slower than the old slot (statistic "
                  "%.3g reached 1/alpha = %.3g; %llu of its requests slower than %.1fms where "
                  "%.1f were expected, %llu of the old slot's)",
                  m.latency_statistic(), bound(),
                  static_cast<unsigned long long>(m.latency_new_slow()), m.latency_cut_ms(),
                  m.latency_expected_new_slow(),
                  static_cast<unsigned long long>(m.latency_old_slow()));
  } else {
    std::snprintf(buf, sizeof buf,
                  "sequential comparison: the new slot's error rate is below %.2f%% (statistic "
                  "%.3g reached 1/alpha = %.3g)",
                  max_error_rate_ * 100, m.promote_statistic(), bound());
  }
  return buf;
}

}  // namespace cutover::agent

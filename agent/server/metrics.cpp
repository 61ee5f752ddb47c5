#include "agent/server/metrics.hpp"

#include "agent/core/event_kinds.hpp"
#include "agent/core/units.hpp"

namespace cutover::agent {

namespace {

prometheus::Histogram::BucketBoundaries LatencyBounds() {
  prometheus::Histogram::BucketBoundaries b;
  for (auto us : state::kLatencyBoundsUs) b.push_back(static_cast<double>(us) / 1e6);
  return b;
}

const char* kClasses[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

std::uint64_t Delta(std::uint64_t now, std::uint64_t before) {
  return now >= before ? now - before : 0;
}

}  // namespace

Metrics::Metrics(const std::string& address)
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("cutover_requests_total")
                    .Help("Requests served, by cutover and slot (the module's counters)")
                    .Register(*registry_)),
      responses_(prometheus::BuildCounter()
                     .Name("cutover_responses_total")
                     .Help("Responses by cutover, slot and status class")
                     .Register(*registry_)),
      failures_(prometheus::BuildCounter()
                    .Name("cutover_upstream_failures_total")
                    .Help("Failed upstream attempts by cutover and slot")
                    .Register(*registry_)),
      failovers_(prometheus::BuildCounter()
                     .Name("cutover_failovers_total")
                     .Help("Requests moved to the other slot after a failure or for want of a "
                           "live peer, by cutover and the slot they left")
                     .Register(*registry_)),
      writes_(prometheus::BuildCounter()
                  .Name("cutover_writes_total")
                  .Help("Writes (methods other than GET, HEAD, OPTIONS, PROPFIND, TRACE) "
                        "answered 2xx, by cutover and slot: what a revert would strand")
                  .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("cutover_upstream_latency_seconds")
                   .Help("Upstream latency by cutover and slot, from the module's histogram")
                   .Register(*registry_)),
      weight_(prometheus::BuildGauge()
                  .Name("cutover_weight_percent")
                  .Help("Share of traffic by cutover and slot, percent")
                  .Register(*registry_)),
      epoch_(prometheus::BuildGauge()
                 .Name("cutover_weight_epoch")
                 .Help("Change epoch of the weight")
                 .Register(*registry_)),
      rollout_step_(prometheus::BuildGauge()
                        .Name("cutover_rollout_step")
                        .Help("The step in force, numbered from 1 as the CLI and the "
                              "journal number it (0 before the first step)")
                        .Register(*registry_)),
      rollout_state_(prometheus::BuildGauge()
                         .Name("cutover_rollout_state")
                         .Help("Rollout state: 1 running, 2 paused, 3 completed, 4 reverted, "
                               "5 aborted")
                         .Register(*registry_)),
      reverts_(prometheus::BuildCounter()
                   .Name("cutover_reverts_total")
                   .Help("Automatic reverts by cutover")
                   .Register(*registry_)),
      decisions_(prometheus::BuildCounter()
                     .Name("cutover_decisions_total")
                     .Help("Journaled decisions by cutover and kind")
                     .Register(*registry_)),
      last_decision_(prometheus::BuildGauge()
                         .Name("cutover_last_decision_timestamp_seconds")
                         .Help("Unix time of the last journaled decision, by cutover")
                         .Register(*registry_)),
      journal_write_failures_(prometheus::BuildCounter()
                                  .Name("cutover_journal_write_failures_total")
                                  .Help("Journal writes that failed (full disk, I/O error, lost "
                                        "database); the decisions stood, their events were lost")
                                  .Register(*registry_)
                                  .Add({})),
      journal_events_lost_(prometheus::BuildCounter()
                               .Name("cutover_journal_events_lost_total")
                               .Help("Events that could not be journaled")
                               .Register(*registry_)
                               .Add({})),
      journal_writable_(prometheus::BuildGauge()
                            .Name("cutover_journal_writable")
                            .Help("1 while the last journal write succeeded, 0 after a failure")
                            .Register(*registry_)
                            .Add({})),
      release_(prometheus::BuildGauge()
                   .Name("cutover_release_info")
                   .Help("1 for the release each slot runs, as the last rollout to that slot "
                         "named it (rollout start --release)")
                   .Register(*registry_)),
      warnings_(prometheus::BuildCounter()
                    .Name("cutover_warnings_total")
                    .Help("Warning levels crossed (journaled warning events), by cutover and "
                          "signal")
                    .Register(*registry_)),
      compare_statistic_(prometheus::BuildGauge()
                             .Name("cutover_compare_statistic")
                             .Help("The sequential comparison's statistic for the running "
                                   "rollout (it reverts at 1/alpha), by cutover and test "
                                   "(errors, latency)")
                             .Register(*registry_)),
      notifications_(prometheus::BuildCounter()
                         .Name("cutover_notifications_total")
                         .Help("Webhook notifications by result: sent, retried, failed, dropped")
                         .Register(*registry_)) {
  journal_writable_.Set(1);
  for (const char* result : {"sent", "retried", "failed", "dropped"})
    notifications_.Add({{"result", result}});  // every series from the start, at 0
  if (!address.empty()) {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
    exposer_->RegisterCollectable(registry_);
  }
}

void Metrics::OnTick(const std::vector<state::RecordSnapshot>& records,
                     const std::map<std::string, v1::Rollout>& rollouts) {
  std::lock_guard lock(mutex_);
  static const auto bounds = LatencyBounds();
  for (const auto& r : records) {
    auto [it, fresh] = last_.try_emplace(r.name);
    auto& last = it->second;
    for (std::size_t s = 0; s < state::kSlotCount; ++s) {
      const auto slot = static_cast<state::Slot>(s);
      const std::string slot_name = state::SlotName(slot);
      const state::SlotSnapshot& now = r.slots[s];
      // Counters that went backwards: the record was recreated; start over.
      const bool reset = now.requests < last[s].requests;
      const state::SlotSnapshot& before = (fresh || reset) ? state::SlotSnapshot{} : last[s];
      requests_.Add({{"cutover", r.name}, {"slot", slot_name}})
          .Increment(static_cast<double>(Delta(now.requests, before.requests)));
      for (std::size_t c = 0; c < 5; ++c)
        responses_.Add({{"cutover", r.name}, {"slot", slot_name}, {"class", kClasses[c]}})
            .Increment(static_cast<double>(Delta(now.responses[c], before.responses[c])));
      failures_.Add({{"cutover", r.name}, {"slot", slot_name}})
          .Increment(static_cast<double>(Delta(now.failures, before.failures)));
      failovers_.Add({{"cutover", r.name}, {"slot", slot_name}})
          .Increment(static_cast<double>(Delta(now.failovers, before.failovers)));
      writes_.Add({{"cutover", r.name}, {"slot", slot_name}})
          .Increment(static_cast<double>(Delta(now.writes, before.writes)));
      std::vector<double> buckets(state::kLatencyBuckets);
      bool any = false;
      for (std::size_t b = 0; b < state::kLatencyBuckets; ++b) {
        buckets[b] = static_cast<double>(Delta(now.latency[b], before.latency[b]));
        any = any || buckets[b] > 0;
      }
      auto& histogram = latency_.Add({{"cutover", r.name}, {"slot", slot_name}}, bounds);
      if (any)
        histogram.ObserveMultiple(
            buckets, static_cast<double>(Delta(now.latency_sum_us, before.latency_sum_us)) / 1e6);
      weight_.Add({{"cutover", r.name}, {"slot", slot_name}})
          .Set(BpToPercent(state::SlotName(slot) == std::string("green")
                               ? r.control.weight_bp
                               : state::kWeightScale - r.control.weight_bp));
      last[s] = now;
    }
    epoch_.Add({{"cutover", r.name}}).Set(static_cast<double>(r.control.epoch));
    if (fresh) {
      // Every series of a cutover exists from the tick it is first seen, at
      // 0: increase() over a series that appears at 1 never fires.
      reverts_.Add({{"cutover", r.name}});
      decisions_.Add({{"cutover", r.name}, {"kind", event_kind::kReverted}});
      rollout_step_.Add({{"cutover", r.name}});
      rollout_state_.Add({{"cutover", r.name}});
    }
  }
  for (const auto& [cutover, rollout] : rollouts) {
    rollout_step_.Add({{"cutover", cutover}}).Set(rollout.step() + 1);
    rollout_state_.Add({{"cutover", cutover}}).Set(rollout.state());
    if (rollout.judged().compare_bound() > 0) {
      compare_statistic_.Add({{"cutover", cutover}, {"test", "errors"}})
          .Set(rollout.judged().compare_statistic());
      compare_statistic_.Add({{"cutover", cutover}, {"test", "latency"}})
          .Set(rollout.judged().latency_statistic());
    }
  }
}

void Metrics::OnJournalWrite(const JournalWriter::Outcome& outcome) {
  std::lock_guard lock(mutex_);
  journal_writable_.Set(outcome.written ? 1 : 0);
  if (outcome.written) return;
  journal_write_failures_.Increment();
  journal_events_lost_.Increment(static_cast<double>(outcome.last - outcome.first + 1));
}

void Metrics::CountNotification(const std::string& result) {
  std::lock_guard lock(mutex_);
  notifications_.Add({{"result", result}}).Increment();
}

void Metrics::OnEvent(const v1::Event& event) {
  std::lock_guard lock(mutex_);
  decisions_.Add({{"cutover", event.cutover()}, {"kind", event.kind()}}).Increment();
  if (event.kind() == event_kind::kReverted)
    reverts_.Add({{"cutover", event.cutover()}}).Increment();
  if (event.kind() == event_kind::kWarning) {
    const auto& m = event.measurement();
    const std::string signal = m.signal() == "metric" ? "metric:" + m.metric() : m.signal();
    warnings_.Add({{"cutover", event.cutover()}, {"signal", signal}}).Increment();
  }
  last_decision_.Add({{"cutover", event.cutover()}})
      .Set(static_cast<double>(event.time().seconds()) + event.time().nanos() / 1e9);
}

void Metrics::OnReleases(const std::string& cutover, const std::string& blue,
                         const std::string& green) {
  std::lock_guard lock(mutex_);
  auto& series = release_series_[cutover];
  const std::string releases[state::kSlotCount] = {blue, green};
  for (std::size_t s = 0; s < state::kSlotCount; ++s) {
    if (series[s] != nullptr) {
      release_.Remove(series[s]);
      series[s] = nullptr;
    }
    if (releases[s].empty()) continue;
    series[s] = &release_.Add({{"cutover", cutover},
                               {"slot", state::SlotName(static_cast<state::Slot>(s))},
                               {"release", releases[s]}});
    series[s]->Set(1);
  }
}

}  // namespace cutover::agent

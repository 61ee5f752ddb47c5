// Prometheus metrics (prometheus-cpp) on --metrics: the module's counters
// per cutover, slot and class, latency histograms built from the module's
// own buckets, weights, rollout step (numbered from 1, as people see it) and
// state, reverts, the time of the last decision, and the release each slot
// runs (an info metric, so the other series keep their labels); warnings by
// signal, the sequential comparison's statistic, and what became of the
// notifications.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/server/controller.hpp"

namespace cutover::agent {

class Metrics final : public ControllerListener {
 public:
  // Serves on `address` (HOST:PORT) when given; the registry alone otherwise (tests).
  explicit Metrics(const std::string& address);

  void OnTick(const std::vector<state::RecordSnapshot>& records,
              const std::map<std::string, v1::Rollout>& rollouts) override;
  void OnEvent(const v1::Event& event) override;
  void OnJournalWrite(const JournalWriter::Outcome& outcome) override;
  void OnReleases(const std::string& cutover, const std::string& blue,
                  const std::string& green) override;
  // A notification's fate: "sent", "retried" (an attempt failed, another
  // follows), "failed" (given up), "dropped" (its queue was full).
  void CountNotification(const std::string& result);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::mutex mutex_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& responses_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& failovers_;
  prometheus::Family<prometheus::Counter>& writes_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Gauge>& weight_;
  prometheus::Family<prometheus::Gauge>& epoch_;
  prometheus::Family<prometheus::Gauge>& rollout_step_;
  prometheus::Family<prometheus::Gauge>& rollout_state_;
  prometheus::Family<prometheus::Counter>& reverts_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Gauge>& last_decision_;
  prometheus::Counter& journal_write_failures_;
  prometheus::Counter& journal_events_lost_;
  prometheus::Gauge& journal_writable_;
  prometheus::Family<prometheus::Gauge>& release_;
  prometheus::Family<prometheus::Counter>& warnings_;
  prometheus::Family<prometheus::Gauge>& compare_statistic_;
  prometheus::Family<prometheus::Counter>& notifications_;
  std::map<std::string, std::array<state::SlotSnapshot, state::kSlotCount>> last_;
  // The cutover_release_info series in force, by cutover and slot.
  std::map<std::string, std::array<prometheus::Gauge*, state::kSlotCount>> release_series_;
};

}  // namespace cutover::agent

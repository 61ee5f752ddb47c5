#include "agent/fleet/counter_pool.hpp"

namespace cutover::fleet {

namespace {

void ToProto(const state::SlotSnapshot& s, v1::FleetSlotCounters* out) {
  out->set_requests(s.requests);
  for (auto r : s.responses) out->add_responses(r);
  out->set_failures(s.failures);
  out->set_failovers(s.failovers);
  out->set_writes(s.writes);
  out->set_latency_sum_us(s.latency_sum_us);
  for (auto b : s.latency) out->add_latency(b);
  out->set_waits_started(s.waits_started);
  out->set_waits_ended(s.waits_ended);
  out->set_abandoned(s.abandoned);
  out->set_no_live_peer(s.no_live_peer);
  out->set_duration_sum_us(s.duration_sum_us);
}

state::SlotSnapshot FromProto(const v1::FleetSlotCounters& c) {
  state::SlotSnapshot s;
  s.requests = c.requests();
  for (int i = 0; i < c.responses_size() && i < static_cast<int>(s.responses.size()); ++i)
    s.responses[static_cast<std::size_t>(i)] = c.responses(i);
  s.failures = c.failures();
  s.failovers = c.failovers();
  s.writes = c.writes();
  s.latency_sum_us = c.latency_sum_us();
  for (int i = 0; i < c.latency_size() && i < static_cast<int>(s.latency.size()); ++i)
    s.latency[static_cast<std::size_t>(i)] = c.latency(i);
  s.waits_started = c.waits_started();
  s.waits_ended = c.waits_ended();
  s.abandoned = c.abandoned();
  s.no_live_peer = c.no_live_peer();
  s.duration_sum_us = c.duration_sum_us();
  return s;
}

// The module's counters only grow; fewer means a new record (or file).
bool WentBackwards(const state::SlotSnapshot& now, const state::SlotSnapshot& before) {
  return now.requests < before.requests || now.failures < before.failures ||
         now.Responses5xx() < before.Responses5xx() || now.writes < before.writes;
}

std::uint64_t Delta(std::uint64_t now, std::uint64_t before) {
  return now >= before ? now - before : 0;
}

// pooled += now - before, field by field.
void AddDelta(const state::SlotSnapshot& now, const state::SlotSnapshot& before,
              state::SlotSnapshot* pooled) {
  pooled->requests += Delta(now.requests, before.requests);
  for (std::size_t i = 0; i < now.responses.size(); ++i)
    pooled->responses[i] += Delta(now.responses[i], before.responses[i]);
  pooled->failures += Delta(now.failures, before.failures);
  pooled->failovers += Delta(now.failovers, before.failovers);
  pooled->writes += Delta(now.writes, before.writes);
  pooled->latency_sum_us += Delta(now.latency_sum_us, before.latency_sum_us);
  for (std::size_t i = 0; i < now.latency.size(); ++i)
    pooled->latency[i] += Delta(now.latency[i], before.latency[i]);
  pooled->waits_started += Delta(now.waits_started, before.waits_started);
  pooled->waits_ended += Delta(now.waits_ended, before.waits_ended);
  pooled->abandoned += Delta(now.abandoned, before.abandoned);
  pooled->no_live_peer += Delta(now.no_live_peer, before.no_live_peer);
  pooled->duration_sum_us += Delta(now.duration_sum_us, before.duration_sum_us);
}

}  // namespace

std::string EncodeCounters(const std::vector<state::RecordSnapshot>& records) {
  v1::FleetCounters counters;
  for (const auto& r : records) {
    auto* c = counters.add_cutovers();
    c->set_cutover(r.name);
    ToProto(r.slot(state::Slot::kBlue), c->mutable_blue());
    ToProto(r.slot(state::Slot::kGreen), c->mutable_green());
  }
  return counters.SerializeAsString();
}

NodeCounters DecodeCounters(const std::string& bytes) {
  v1::FleetCounters counters;
  NodeCounters out;
  if (!counters.ParseFromString(bytes)) return out;
  for (const auto& c : counters.cutovers())
    out[c.cutover()] = SlotPair{FromProto(c.blue()), FromProto(c.green())};
  return out;
}

void CounterPooling::Update(const std::map<std::string, NodeCounters>& nodes) {
  for (auto it = last_.begin(); it != last_.end();)
    it = nodes.count(it->first) ? std::next(it) : last_.erase(it);
  for (const auto& [node, cutovers] : nodes) {
    auto [previous, first_seen] = last_.try_emplace(node, cutovers);
    if (first_seen) continue;
    for (const auto& [cutover, slots] : cutovers) {
      auto before = previous->second.find(cutover);
      if (before == previous->second.end()) continue;  // a new record: its baseline
      SlotPair& pooled = pooled_[cutover];
      for (std::size_t s = 0; s < state::kSlotCount; ++s)
        if (!WentBackwards(slots[s], before->second[s]))
          AddDelta(slots[s], before->second[s], &pooled[s]);
    }
    previous->second = cutovers;
  }
}

std::vector<state::RecordSnapshot> CounterPooling::Apply(
    const std::vector<state::RecordSnapshot>& local) const {
  std::vector<state::RecordSnapshot> out = local;
  for (auto& record : out) {
    // Before the pool has seen a record, nothing: pooled counters start at zero.
    auto it = pooled_.find(record.name);
    record.slots = it != pooled_.end() ? it->second : SlotPair{};
  }
  return out;
}

const SlotPair* CounterPooling::Pooled(const std::string& cutover) const {
  auto it = pooled_.find(cutover);
  return it == pooled_.end() ? nullptr : &it->second;
}

}  // namespace cutover::fleet

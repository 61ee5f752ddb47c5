// cutover_status: a JSON snapshot of every cutover of this configuration,
// read from the state file like any other reader does (the shards added by
// include/cutover/state_layout.hpp's SumSlotShards/SumPeerShards).

#include "ngx_http_cutover_module.h"

#pragma GCC visibility push(hidden)
#include "cutover/latency.hpp"
#include "cutover/percent.hpp"
#pragma GCC visibility pop

using namespace cutover::module;

static ngx_int_t ngx_http_cutover_status_handler(ngx_http_request_t* r);

char* ngx_http_cutover_status(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
      ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  clcf->handler = ngx_http_cutover_status_handler;
  return NGX_CONF_OK;
}

static u_char* JsonString(u_char* p, const ngx_str_t& s) {
  *p++ = '"';
  p = reinterpret_cast<u_char*>(ngx_escape_json(p, s.data, s.len));
  *p++ = '"';
  return p;
}

static u_char* JsonMs(u_char* p, double us) {
  const auto v = static_cast<std::uint64_t>(us + 0.5);
  return ngx_sprintf(p, "%uL.%03uL", v / 1000, v % 1000);
}

static u_char* JsonPercent(u_char* p, std::uint32_t bp) {
  return p + cutover::FormatBp(bp, reinterpret_cast<char*>(p), cutover::PercentStyle::kFixed);
}

static u_char* JsonSlot(u_char* p, const cs::Record* rec, Slot slot) {
  const cs::SlotTotals t = cs::SumSlotShards(*rec, slot);
  std::uint64_t count = 0;
  for (auto c : t.latency) count += c;
  const std::uint64_t started = t.ext[cs::kWaitsStarted], ended = t.ext[cs::kWaitsEnded];
  p = ngx_sprintf(p,
                  "{\"requests\": %uL, \"responses\": {\"1xx\": %uL, \"2xx\": %uL, \"3xx\": %uL, "
                  "\"4xx\": %uL, \"5xx\": %uL}, \"failures\": %uL, \"failovers\": %uL, "
                  "\"writes\": %uL, \"abandoned\": %uL, \"no_live_peer\": %uL, \"waiting\": %uL, "
                  "\"waits\": {\"started\": %uL, \"ended\": %uL}, \"duration_sum_us\": %uL, ",
                  t.scalar[cs::kRequests], t.scalar[cs::kResponses1xx], t.scalar[cs::kResponses2xx],
                  t.scalar[cs::kResponses3xx], t.scalar[cs::kResponses4xx],
                  t.scalar[cs::kResponses5xx], t.scalar[cs::kFailures], t.scalar[cs::kFailovers],
                  t.scalar[cs::kWrites], t.ext[cs::kAbandoned], t.ext[cs::kNoLivePeer],
                  started > ended ? started - ended : 0, started, ended, t.ext[cs::kDurationSumUs]);
  p = ngx_sprintf(p, "\"latency\": {\"count\": %uL, \"sum_us\": %uL, \"p50_ms\": ", count,
                  t.scalar[cs::kLatencySumUs]);
  p = JsonMs(p, cs::LatencyQuantileUs(t.latency, 0.50));
  p = ngx_sprintf(p, ", \"p95_ms\": ");
  p = JsonMs(p, cs::LatencyQuantileUs(t.latency, 0.95));
  p = ngx_sprintf(p, ", \"p99_ms\": ");
  p = JsonMs(p, cs::LatencyQuantileUs(t.latency, 0.99));
  p = ngx_sprintf(p, ", \"bounds_us\": [");
  for (std::size_t b = 0; b < cs::kLatencyBounds; ++b)
    p = ngx_sprintf(p, b ? ", %uL" : "%uL", cs::kLatencyBoundsUs[b]);
  p = ngx_sprintf(p, "], \"buckets\": [");
  for (std::size_t b = 0; b < cs::kLatencyBuckets; ++b)
    p = ngx_sprintf(p, b ? ", %uL" : "%uL", t.latency[b]);
  return ngx_sprintf(p, "]}}");
}

// Whether the peer at `i` of `su` appeared earlier in the block (a server
// listed twice, or two names resolving to one address): one peer, one entry.
static bool SeenBefore(const SlotUpstream& su, ngx_uint_t i) {
  for (ngx_uint_t j = 0; j < i; ++j)
    if (su.peer_index[j] == su.peer_index[i]) return true;
  return false;
}

static u_char* JsonPeers(u_char* p, const CutoverUpstream* cu) {
  const cs::Record* rec = cu->record;
  bool first = true;
  for (std::size_t s = 0; s < kSlots; ++s) {
    const SlotUpstream& su = cu->slot[s];
    for (ngx_uint_t i = 0; i < su.npeers; ++i) {
      if (su.peer_index[i] < 0 || SeenBefore(su, i)) continue;
      const cs::PeerTotals t = cs::SumPeerShards(*rec, static_cast<std::size_t>(su.peer_index[i]));
      p = ngx_sprintf(p, "%s{\"slot\": \"%s\", \"address\": ", first ? "" : ", ",
                      cs::SlotName(static_cast<Slot>(s)));
      p = JsonString(p, su.peer_names[i]);
      const cs::PeerAdmin admin =
          cs::PeerAdminOf(rec->peer_admin[su.peer_index[i]].load(std::memory_order_relaxed));
      p = ngx_sprintf(p,
                      ", \"state\": \"%s\", \"requests\": %uL, \"2xx\": %uL, \"4xx\": %uL, "
                      "\"5xx\": %uL, \"failures\": %uL}",
                      cs::PeerAdminName(admin), t.value[cs::kPeerRequests], t.value[cs::kPeer2xx],
                      t.value[cs::kPeer4xx], t.value[cs::kPeer5xx], t.value[cs::kPeerFailures]);
      first = false;
    }
  }
  return p;
}

static ngx_int_t Status(ngx_http_request_t* r) {
  if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
  if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  auto* mcf = static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_cutover_module));
  auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);

  std::size_t size = 64;
  for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i) {
    size += 8192 + 512 + 3 * 6 * cs::kNameSize;
    size += (ups[i]->slot[0].npeers + ups[i]->slot[1].npeers) * (256 + 6 * cs::kAddressSize);
  }
  ngx_buf_t* b = ngx_create_temp_buf(r->pool, size);
  if (b == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  u_char* p = ngx_sprintf(b->last, "{\"cutovers\": {");
  for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i) {
    const CutoverUpstream* cu = ups[i];
    const cs::Control c =
        cs::Control::Unpack(cu->record->control.word.load(std::memory_order_acquire));
    if (i) p = ngx_sprintf(p, ", ");
    p = JsonString(p, cu->name);
    p = ngx_sprintf(p, ": {\"blue\": ");
    p = JsonString(p, cu->slot[0].name);
    p = ngx_sprintf(p, ", \"green\": ");
    p = JsonString(p, cu->slot[1].name);
    p = ngx_sprintf(p, ", \"weight\": {\"blue\": ");
    p = JsonPercent(p, cs::kWeightScale - c.weight_bp);
    p = ngx_sprintf(p, ", \"green\": ");
    p = JsonPercent(p, c.weight_bp);
    p = ngx_sprintf(p, "}, \"epoch\": %uL, \"slots\": {\"blue\": ", c.epoch);
    p = JsonSlot(p, cu->record, Slot::kBlue);
    p = ngx_sprintf(p, ", \"green\": ");
    p = JsonSlot(p, cu->record, Slot::kGreen);
    p = ngx_sprintf(p, "}, \"peers\": [");
    p = JsonPeers(p, cu);
    p = ngx_sprintf(p, "]}");
  }
  p = ngx_sprintf(p, "}}\n");
  b->last = p;
  b->last_buf = (r == r->main) ? 1 : 0;
  b->last_in_chain = 1;

  r->headers_out.status = NGX_HTTP_OK;
  r->headers_out.content_length_n = b->last - b->pos;
  ngx_str_set(&r->headers_out.content_type, "application/json");
  r->headers_out.content_type_len = r->headers_out.content_type.len;
  r->headers_out.content_type_lowcase = nullptr;
  ngx_int_t rc = ngx_http_send_header(r);
  if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return rc;
  ngx_chain_t out = {b, nullptr};
  return ngx_http_output_filter(r, &out);
}

static ngx_int_t ngx_http_cutover_status_handler(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                 [&] { return Status(r); });
}

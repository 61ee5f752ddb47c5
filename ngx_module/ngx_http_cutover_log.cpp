// Log phase: each request's outcome into the counters of its slot and
// peer in the state file: relaxed atomic adds to the worker's shard.

#include "ngx_http_cutover_module.h"

using namespace cutover::module;

static ngx_int_t ngx_http_cutover_log_handler(ngx_http_request_t* r);

ngx_int_t ngx_http_cutover_log_init(ngx_conf_t* cf) {
  auto* cmcf = static_cast<ngx_http_core_main_conf_t*>(
      ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
  auto* h =
      static_cast<ngx_http_handler_pt*>(ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers));
  if (h == nullptr) return NGX_ERROR;
  *h = ngx_http_cutover_log_handler;
  return NGX_OK;
}

static bool IsWrite(ngx_uint_t method) {
  return (method & (NGX_HTTP_GET | NGX_HTTP_HEAD | NGX_HTTP_OPTIONS | NGX_HTTP_PROPFIND |
                    NGX_HTTP_TRACE)) == 0;
}

namespace cutover::module {

// Adds one pass of a request through the cutover to the counters of the
// slot and peer of its last attempt.
void CountOutcome(RequestState* st, ngx_uint_t status) {
  st->counted = true;
  cs::Record* rec = st->conf->record;
  cs::SlotCounters& sc = SlotCountersOf(rec, st->slot);
  const ngx_uint_t klass = status / 100;
  const std::uint64_t end = st->end_us ? st->end_us : MonotonicUs();
  const std::uint64_t latency = end > st->start_us ? end - st->start_us : 0;

  Add(sc.scalar[cs::kRequests]);
  if (klass >= 1 && klass <= 5) {
    Add(sc.scalar[cs::kResponses1xx + (klass - 1)]);
    if (klass == 2 && IsWrite(st->method)) Add(sc.scalar[cs::kWrites]);
  }
  Add(sc.latency[cs::LatencyBucket(latency)]);
  Add(sc.scalar[cs::kLatencySumUs], latency);
  if (st->peer >= 0) {
    cs::PeerCounters& pc = rec->peer_counters[st->peer][Shard()];
    if (klass >= 1 && klass <= 5) Add(pc.value[cs::kPeer1xx + (klass - 1)]);
    Add(pc.value[cs::kPeerLatencySumUs], latency);
  }
}

}  // namespace cutover::module

// The request's final pass, with the status the client got.
static ngx_int_t LogRequest(ngx_http_request_t* r) {
  RequestState* st = StateOf(r);
  if (st == nullptr || st->counted || st->attempts == 0) return NGX_OK;
  CountOutcome(st, r->err_status ? r->err_status : r->headers_out.status);
  return NGX_OK;
}

static ngx_int_t ngx_http_cutover_log_handler(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_OK), [&] { return LogRequest(r); });
}

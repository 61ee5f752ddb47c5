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
// slot (and peer) of its last attempt, or of its decided slot when it made
// none (no live peer: nginx answered 502).
//
// A client that went away (499) while the slot's upstream had not sent the
// response header abandoned a wait for that slot: a failure of the slot,
// counted apart and not as a request. Otherwise the pass is a request with
// the status the client got; its latency is the time from the first attempt
// on the slot to the response header (or to the end of waiting for one, when
// nginx gave up), and its duration runs to the end of the response. Upgraded
// (101) connections stay out of both: a session's length says nothing about
// the backend's health.
void CountOutcome(RequestState* st, ngx_uint_t status) {
  st->counted = true;
  cs::Record* rec = st->conf->record;
  cs::SlotCounters& sc = SlotCountersOf(rec, st->slot);
  cs::PeerCounters* pc = st->peer >= 0 ? &rec->peer_counters[st->peer][Shard()] : nullptr;
  if (status == NGX_HTTP_CLIENT_CLOSED_REQUEST && st->attempts > 0 && st->header_us == 0) {
    Add(sc.scalar[cs::kFailures]);
    Add(sc.ext[cs::kAbandoned]);
    if (pc != nullptr) Add(pc->value[cs::kPeerFailures]);
    return;
  }

  const ngx_uint_t klass = status / 100;
  Add(sc.scalar[cs::kRequests]);
  if (klass >= 1 && klass <= 5) {
    Add(sc.scalar[cs::kResponses1xx + (klass - 1)]);
    if (pc != nullptr) Add(pc->value[cs::kPeer1xx + (klass - 1)]);
    if (klass == 2 && IsWrite(st->method)) Add(sc.scalar[cs::kWrites]);
  }
  if (st->attempts == 0 || status == NGX_HTTP_SWITCHING_PROTOCOLS) return;

  const std::uint64_t end = st->end_us ? st->end_us : MonotonicUs();
  const std::uint64_t waited_until = st->header_us ? st->header_us : end;
  const std::uint64_t slot_start = st->slot_start_us[Index(st->slot)];
  const std::uint64_t latency = waited_until > slot_start ? waited_until - slot_start : 0;
  const std::uint64_t duration = end > st->start_us ? end - st->start_us : 0;
  Add(sc.latency[cs::LatencyBucket(latency)]);
  Add(sc.scalar[cs::kLatencySumUs], latency);
  Add(sc.ext[cs::kDurationSumUs], duration);
  if (pc != nullptr) Add(pc->value[cs::kPeerLatencySumUs], latency);
}

}  // namespace cutover::module

// The request's final pass, with the status the client got.
static ngx_int_t LogRequest(ngx_http_request_t* r) {
  RequestState* st = StateOf(r);
  if (st == nullptr || st->counted || st->conf == nullptr) return NGX_OK;
  CountOutcome(st, r->err_status ? r->err_status : r->headers_out.status);
  return NGX_OK;
}

static ngx_int_t ngx_http_cutover_log_handler(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_OK), [&] { return LogRequest(r); });
}

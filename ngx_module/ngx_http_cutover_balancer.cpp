// Request time: the cutover's peer.init and the wrappers it puts in front
// of the chosen slot's own balancer (get, free, notify, set/save_session),
// the slot choice, and the per-worker free list of request states.
//
// Nothing here takes a lock or allocates on the heap: a request state comes
// from the worker's free list (grown from the cycle's pool only when
// concurrency passes its previous peak), counters are relaxed atomic adds to
// the worker's shard, and the weight is one acquire load.

#include "ngx_http_cutover_module.h"

using namespace cutover::module;

static ngx_int_t ngx_http_cutover_get_peer(ngx_peer_connection_t* pc, void* data);
static void ngx_http_cutover_free_peer(ngx_peer_connection_t* pc, void* data, ngx_uint_t state);
static void ngx_http_cutover_notify_peer(ngx_peer_connection_t* pc, void* data, ngx_uint_t type);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_cutover_set_session(ngx_peer_connection_t* pc, void* data);
static void ngx_http_cutover_save_session(ngx_peer_connection_t* pc, void* data);
#endif
static void ngx_http_cutover_release_state(void* data);

// Runs the slot's own peer init, keeps what it installed, and puts our
// wrappers back in front.
static bool InitSlot(RequestState* st, Slot slot) {
  ngx_http_upstream_t* u = st->r->upstream;
  ngx_http_upstream_srv_conf_t* us = st->conf->slot[Index(slot)].uscf;
  // Round robin's init reuses u->peer.data when it is set (least_conn and
  // hash rely on that): it must not find our state there, nor take our
  // wrappers (installed when the other slot ran first) for the slot's own.
  u->peer.data = nullptr;
  u->peer.notify = nullptr;
#if (NGX_HTTP_SSL)
  u->peer.set_session = nullptr;
  u->peer.save_session = nullptr;
#endif
  if (us->peer.init(st->r, us) != NGX_OK) {
    u->peer.data = st;
    return false;
  }
  SlotPeerState& sp = st->slots[Index(slot)];
  sp.data = u->peer.data;
  sp.get = u->peer.get;
  sp.free = u->peer.free;
  sp.notify = u->peer.notify;
#if (NGX_HTTP_SSL)
  sp.set_session = u->peer.set_session;
  sp.save_session = u->peer.save_session;
#endif
  sp.tries = u->peer.tries;
  sp.initialized = true;
  u->peer.data = st;
  u->peer.get = ngx_http_cutover_get_peer;
  u->peer.free = ngx_http_cutover_free_peer;
  u->peer.notify = ngx_http_cutover_notify_peer;
#if (NGX_HTTP_SSL)
  u->peer.set_session = ngx_http_cutover_set_session;
  u->peer.save_session = ngx_http_cutover_save_session;
#endif
  return true;
}

static ngx_uint_t RemainingTries(const RequestState* st, Slot slot) {
  const SlotPeerState& sp = st->slots[Index(slot)];
  // Before its balancer has run, a slot may be tried once per address.
  return sp.initialized ? sp.tries : st->conf->slot[Index(slot)].npeers;
}

static bool CanFailover(const RequestState* st) {
  return st->conf->failover && RemainingTries(st, cs::Other(st->slot)) > 0;
}

// What nginx should believe is left: the current slot's tries plus the
// other slot's when failover may still go there, capped by
// proxy_next_upstream_tries.
static ngx_uint_t TotalTries(const RequestState* st) {
  ngx_uint_t total = st->slots[Index(st->slot)].tries;
  if (CanFailover(st)) total += RemainingTries(st, cs::Other(st->slot));
  const ngx_uint_t cap = st->r->upstream->conf->next_upstream_tries;
  if (cap != 0) {
    if (st->attempts >= cap) return 0;
    if (total > cap - st->attempts) total = cap - st->attempts;
  }
  return total;
}

static bool Failover(RequestState* st) {
  const Slot from = st->slot;
  const Slot to = cs::Other(from);
  if (!st->slots[Index(to)].initialized && !InitSlot(st, to)) return false;
  Add(SlotCountersOf(st->conf->record, from).scalar[cs::kFailovers]);
  st->slot = to;
  return true;
}

static ngx_int_t FindPeer(const SlotUpstream& su, const ngx_str_t* name) {
  if (name == nullptr) return -1;
  for (ngx_uint_t i = 0; i < su.npeers; ++i) {
    if (su.peer_names[i].len == name->len &&
        ngx_memcmp(su.peer_names[i].data, name->data, name->len) == 0)
      return su.peer_index[i];
  }
  return -1;
}

static ngx_int_t GetPeer(ngx_peer_connection_t* pc, RequestState* st) {
  // Switched (and counted) here rather than in free: only now is it sure
  // that nginx retries.
  if (st->failover_pending) {
    st->failover_pending = false;
    if (CanFailover(st) && !Failover(st)) return NGX_ERROR;
  }
  for (int pass = 0; pass < 2; ++pass) {
    SlotPeerState& sp = st->slots[Index(st->slot)];
    const ngx_int_t rc = sp.get(pc, sp.data);
    if (rc == NGX_OK || rc == NGX_DONE) {
      ++st->attempts;
      if (st->start_us == 0) st->start_us = MonotonicUs();
      st->peer = FindPeer(st->conf->slot[Index(st->slot)], pc->name);
      if (st->peer >= 0)
        Add(st->conf->record->peer_counters[st->peer][Shard()].value[cs::kPeerRequests]);
      pc->tries = TotalTries(st);
      if (pc->tries == 0) pc->tries = 1;  // this attempt itself
      return rc;
    }
    // The slot has no live peer: the other slot, if allowed, takes it.
    if (rc == NGX_BUSY && CanFailover(st)) {
      if (!Failover(st)) return NGX_ERROR;
      continue;
    }
    return rc;
  }
  return NGX_BUSY;
}

static ngx_int_t ngx_http_cutover_get_peer(ngx_peer_connection_t* pc, void* data) {
  auto* st = static_cast<RequestState*>(data);
  return Guarded(pc->log, static_cast<ngx_int_t>(NGX_ERROR), [&] { return GetPeer(pc, st); });
}

static void FreePeer(ngx_peer_connection_t* pc, RequestState* st, ngx_uint_t state) {
  st->end_us = MonotonicUs();
  st->upstream_status = st->r->upstream->headers_in.status_n;
  cs::Record* rec = st->conf->record;
  if (state & NGX_PEER_FAILED) {
    Add(SlotCountersOf(rec, st->slot).scalar[cs::kFailures]);
    if (st->peer >= 0) Add(rec->peer_counters[st->peer][Shard()].value[cs::kPeerFailures]);
  }
  SlotPeerState& sp = st->slots[Index(st->slot)];
  pc->tries = sp.tries;
  sp.free(pc, sp.data, state);
  sp.tries = pc->tries;
  // A failed attempt that nginx retries goes to the other slot.
  st->failover_pending = state != 0 && CanFailover(st);
  pc->tries = TotalTries(st);
}

static void ngx_http_cutover_free_peer(ngx_peer_connection_t* pc, void* data, ngx_uint_t state) {
  auto* st = static_cast<RequestState*>(data);
  GuardedVoid(pc->log, [&] { FreePeer(pc, st, state); });
}

// nginx tells the balancer about an attempt's progress (the response
// header arrived, on versions that call it); forwarded to the slot's own
// balancer when it asked to hear, as the keepalive module does.
static void ngx_http_cutover_notify_peer(ngx_peer_connection_t* pc, void* data, ngx_uint_t type) {
  auto* st = static_cast<RequestState*>(data);
  GuardedVoid(pc->log, [&] {
    SlotPeerState& sp = st->slots[Index(st->slot)];
    if (sp.notify) sp.notify(pc, sp.data, type);
  });
}

#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_cutover_set_session(ngx_peer_connection_t* pc, void* data) {
  auto* st = static_cast<RequestState*>(data);
  return Guarded(pc->log, static_cast<ngx_int_t>(NGX_OK), [&]() -> ngx_int_t {
    SlotPeerState& sp = st->slots[Index(st->slot)];
    return sp.set_session ? sp.set_session(pc, sp.data) : NGX_OK;
  });
}

static void ngx_http_cutover_save_session(ngx_peer_connection_t* pc, void* data) {
  auto* st = static_cast<RequestState*>(data);
  GuardedVoid(pc->log, [&] {
    SlotPeerState& sp = st->slots[Index(st->slot)];
    if (sp.save_session) sp.save_session(pc, sp.data);
  });
}
#endif

static bool SlotNamed(const ngx_str_t& v, Slot* out) {
  if (v.len == 4 &&
      ngx_strncasecmp(v.data, const_cast<u_char*>(reinterpret_cast<const u_char*>("blue")), 4) ==
          0) {
    *out = Slot::kBlue;
    return true;
  }
  if (v.len == 5 &&
      ngx_strncasecmp(v.data, const_cast<u_char*>(reinterpret_cast<const u_char*>("green")), 5) ==
          0) {
    *out = Slot::kGreen;
    return true;
  }
  return false;
}

static Slot ChooseSlot(ngx_http_request_t* r, CutoverUpstream* cu, const cs::Control& control) {
  ngx_str_t value;
  Slot forced;
  if (cu->force != nullptr && ngx_http_complex_value(r, cu->force, &value) == NGX_OK &&
      SlotNamed(value, &forced))
    return forced;
  if (cu->key != nullptr && ngx_http_complex_value(r, cu->key, &value) == NGX_OK && value.len > 0)
    return KeyGoesGreen(KeyBucket(View(value)), control.weight_bp) ? Slot::kGreen : Slot::kBlue;
  // A new epoch starts a new interleave, so the new split is exact from
  // its first request.
  if (control.epoch != cu->interleave_epoch) {
    cu->interleave.Reset();
    cu->interleave_epoch = control.epoch;
  }
  return cu->interleave.Next(control.weight_bp);
}

// A pass the log phase did not count (one that error_page intercepted and
// sent through the cutover again, or a subrequest's) is counted here, with
// the upstream's status, so a slot's errors cannot hide behind error_page.
// Then the state goes back to its worker's free list.
static void ReleaseState(RequestState* st) {
  if (!st->counted && st->attempts > 0)
    CountOutcome(st, st->upstream_status ? st->upstream_status : NGX_HTTP_BAD_GATEWAY);
  st->next_free = st->owner->free_states;
  st->owner->free_states = st;
}

static void ngx_http_cutover_release_state(void* data) {
  auto* st = static_cast<RequestState*>(data);
  GuardedVoid(ngx_cycle->log, [&] { ReleaseState(st); });
}

// Request states are recycled per worker rather than taken from the request
// pool, which holds only the 24-byte cleanup that hands the state back when
// the pool is destroyed (always, subrequests and internal redirects
// included, so a state cannot leak). The list grows in chunks from the
// cycle's pool only when concurrency passes its previous peak.
static RequestState* AcquireState(ngx_http_request_t* r) {
  auto* mcf = static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_cutover_module));
  ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(r->pool, 0);
  if (cln == nullptr) return nullptr;
  if (mcf->free_states == nullptr) {
    constexpr std::size_t kChunk = 64;
    auto* chunk =
        static_cast<RequestState*>(ngx_palloc(ngx_cycle->pool, kChunk * sizeof(RequestState)));
    if (chunk == nullptr) return nullptr;
    for (std::size_t i = 0; i < kChunk; ++i) {
      chunk[i].next_free = mcf->free_states;
      mcf->free_states = &chunk[i];
    }
  }
  RequestState* st = mcf->free_states;
  mcf->free_states = st->next_free;
  ngx_memzero(st, sizeof(*st));
  st->owner = mcf;
  cln->handler = ngx_http_cutover_release_state;
  cln->data = st;
  return st;
}

static ngx_int_t InitPeer(ngx_http_request_t* r, ngx_http_upstream_srv_conf_t* us) {
  auto* cu =
      static_cast<CutoverUpstream*>(ngx_http_conf_upstream_srv_conf(us, ngx_http_cutover_module));
  RequestState* st = AcquireState(r);
  if (st == nullptr) return NGX_ERROR;
  st->conf = cu;
  st->r = r;
  st->method = r->method;
  st->peer = -1;
  const cs::Control control =
      cs::Control::Unpack(cu->record->control.word.load(std::memory_order_acquire));
  st->weight_bp = control.weight_bp;
  st->epoch = control.epoch;
  st->slot = ChooseSlot(r, cu, control);
  if (!InitSlot(st, st->slot)) return NGX_ERROR;
  r->upstream->peer.tries = TotalTries(st);
  ngx_http_set_ctx(r, st, ngx_http_cutover_module);
  return NGX_OK;
}

ngx_int_t ngx_http_cutover_init_peer(ngx_http_request_t* r, ngx_http_upstream_srv_conf_t* us) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR),
                 [&] { return InitPeer(r, us); });
}

namespace cutover::module {

// The request's state: its ctx, or (after an internal redirect cleared the
// ctx, as error_page does) the upstream it ran through.
RequestState* StateOf(ngx_http_request_t* r) {
  auto* st = static_cast<RequestState*>(ngx_http_get_module_ctx(r, ngx_http_cutover_module));
  if (st != nullptr) return st;
  if (r->upstream != nullptr && r->upstream->peer.get == ngx_http_cutover_get_peer)
    return static_cast<RequestState*>(r->upstream->peer.data);
  return nullptr;
}

}  // namespace cutover::module

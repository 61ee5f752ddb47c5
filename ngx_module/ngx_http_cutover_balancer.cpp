// Request time: the cutover's peer.init and the wrappers it puts in front
// of the chosen slot's own balancer (get, free, notify, set/save_session)
// and of the upstream module's process_header/reinit_request (to see the
// response header arrive), the slot choice, and the per-worker free list of
// request states.
//
// Nothing here takes a lock or allocates on the heap: a request state comes
// from the worker's free list (grown from the cycle's pool only when
// concurrency passes its previous peak), counters are relaxed atomic adds to
// the worker's shard, and the weight and peer states are atomic loads.
//
// A pass's attempts: the decided slot's balancer picks peers until that slot
// has no try left or no live peer (nginx's own retries, inside the slot);
// only then, with failover=on, does the next attempt go to the other slot.

#include "ngx_http_cutover_module.h"

using namespace cutover::module;

static ngx_int_t ngx_http_cutover_get_peer(ngx_peer_connection_t* pc, void* data);
static void ngx_http_cutover_free_peer(ngx_peer_connection_t* pc, void* data, ngx_uint_t state);
static void ngx_http_cutover_notify_peer(ngx_peer_connection_t* pc, void* data, ngx_uint_t type);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_cutover_set_session(ngx_peer_connection_t* pc, void* data);
static void ngx_http_cutover_save_session(ngx_peer_connection_t* pc, void* data);
#endif
static ngx_int_t ngx_http_cutover_process_header(ngx_http_request_t* r);
static ngx_int_t ngx_http_cutover_reinit_request(ngx_http_request_t* r);
static void ngx_http_cutover_release_state(void* data);

static cs::SlotCounters& Counters(const RequestState* st, Slot slot) {
  return SlotCountersOf(st->conf->record, slot);
}

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

static cs::PeerAdmin AdminOf(const cs::Record* rec, ngx_int_t peer);

// Tries of a slot whose balancer has not run yet: once per address neither
// its block nor the operator marked down, as round robin will count them
// (worked out once per pass). A slot with none adds no try, so nginx does
// not give up a real response for a retry that could only find no peer.
static ngx_uint_t EstimateTries(const RequestState* st, Slot slot) {
  const SlotUpstream& su = st->conf->slot[Index(slot)];
  ngx_uint_t tries = 0;
  for (ngx_uint_t i = 0; i < su.npeers; ++i)
    tries +=
        !su.peer_down[i] && AdminOf(st->conf->record, su.peer_index[i]) != cs::PeerAdmin::kDown;
  auto& sp = const_cast<SlotPeerState&>(st->slots[Index(slot)]);
  sp.tries = tries;
  sp.estimated = true;
  return tries;
}

// Tries a slot may still take in this pass.
static inline ngx_uint_t RemainingTries(const RequestState* st, Slot slot) {
  const SlotPeerState& sp = st->slots[Index(slot)];
  if (sp.no_live) return 0;
  return sp.initialized || sp.estimated ? sp.tries : EstimateTries(st, slot);
}

static bool CanMoveTo(const RequestState* st, Slot to) {
  return st->conf->failover && RemainingTries(st, to) > 0;
}

// What nginx should believe is left: the tries of the slot in use plus the
// other slot's when failover may still go there, capped by
// proxy_next_upstream_tries. nginx reads u->peer.tries during an attempt
// (a status-based retry needs tries > 1) with the attempt in flight still
// counted, and after free without it, as round robin keeps it.
static ngx_uint_t TotalTries(const RequestState* st, Slot current, bool in_flight) {
  ngx_uint_t total = RemainingTries(st, current);
  if (st->conf->failover) total += RemainingTries(st, cs::Other(current));
  const ngx_uint_t cap = st->r->upstream->conf->next_upstream_tries;
  const ngx_uint_t done = in_flight ? st->attempts - 1 : st->attempts;
  if (cap != 0) {
    if (done >= cap) return 0;
    if (total > cap - done) total = cap - done;
  }
  return total;
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

static cs::PeerAdmin AdminOf(const cs::Record* rec, ngx_int_t peer) {
  if (peer < 0) return cs::PeerAdmin::kUp;  // not in the state file: nobody can set it
  return cs::PeerAdminOf(rec->peer_admin[peer].load(std::memory_order_relaxed));
}

// Whether the operator lets `peer` of `slot` take a new request: down
// never; drain only when no peer of the slot is up.
static bool Admitted(const RequestState* st, Slot slot, ngx_int_t peer) {
  const cs::Record* rec = st->conf->record;
  const cs::PeerAdmin admin = AdminOf(rec, peer);
  if (admin == cs::PeerAdmin::kUp) return true;
  if (admin == cs::PeerAdmin::kDown) return false;
  const SlotUpstream& su = st->conf->slot[Index(slot)];
  for (ngx_uint_t i = 0; i < su.npeers; ++i)
    if (AdminOf(rec, su.peer_index[i]) == cs::PeerAdmin::kUp) return false;
  return true;
}

// Hands a peer the operator did not admit back to the slot's balancer
// untried, as if it had been skipped: a cached keepalive connection to it is
// closed (it cannot go back to the cache from here), and the balancer's
// free marks it tried and spends one of the slot's tries.
static void Reject(ngx_peer_connection_t* pc, SlotPeerState& sp) {
  if (ngx_connection_t* c = pc->connection) {
#if (NGX_HTTP_SSL)
    if (c->ssl) {
      c->ssl->no_wait_shutdown = 1;
      c->ssl->no_send_shutdown = 1;
      (void)ngx_ssl_shutdown(c);
    }
#endif
    if (c->pool) ngx_destroy_pool(c->pool);
    ngx_close_connection(c);
    pc->connection = nullptr;
  }
  pc->cached = 0;
  pc->tries = sp.tries;
  sp.free(pc, sp.data, 0);
  sp.tries = pc->tries;
  pc->sockaddr = nullptr;
}

// Asks the slot's balancer for a peer the operator admits. NGX_BUSY when the
// slot has no live peer for this pass (none left, or only down ones).
static ngx_int_t PickPeer(ngx_peer_connection_t* pc, RequestState* st, Slot slot, ngx_int_t* peer) {
  SlotPeerState& sp = st->slots[Index(slot)];
  const SlotUpstream& su = st->conf->slot[Index(slot)];
  while (sp.tries > 0) {
    const ngx_int_t rc = sp.get(pc, sp.data);
    if (rc != NGX_OK && rc != NGX_DONE) return rc;
    *peer = FindPeer(su, pc->name);
    if (Admitted(st, slot, *peer)) return rc;
    Reject(pc, sp);
  }
  return NGX_BUSY;
}

static void StartAttempt(ngx_peer_connection_t* pc, RequestState* st, Slot slot, ngx_int_t peer) {
  const std::uint64_t now = MonotonicUs();
  cs::Record* rec = st->conf->record;
  // A move counts as a failover of the slot left, once the new slot has
  // really made an attempt.
  if (slot != st->slot) Add(Counters(st, st->slot).scalar[cs::kFailovers]);
  st->slot = slot;
  ++st->attempts;
  if (st->start_us == 0) st->start_us = now;
  if (st->slot_start_us[Index(slot)] == 0) st->slot_start_us[Index(slot)] = now;
  st->header_us = 0;
  st->upstream_status = 0;
  st->waiting = true;
  Add(Counters(st, slot).ext[cs::kWaitsStarted]);
  st->peer = peer;
  if (peer >= 0) Add(rec->peer_counters[peer][Shard()].value[cs::kPeerRequests]);
  pc->tries = TotalTries(st, slot, true);
  if (pc->tries == 0) pc->tries = 1;  // this attempt itself
}

static void MarkNoLivePeer(RequestState* st, Slot slot) {
  SlotPeerState& sp = st->slots[Index(slot)];
  if (sp.no_live) return;
  sp.no_live = true;
  Add(Counters(st, slot).ext[cs::kNoLivePeer]);
}

static ngx_int_t GetPeer(ngx_peer_connection_t* pc, RequestState* st) {
  // nginx adds a try of its own after a cached keepalive connection failed
  // (it may only have been stale): the slot in use gets it, as it would
  // without the cutover.
  if (st->attempts > 0 && pc->tries > st->tries_told)
    st->slots[Index(st->slot)].tries += pc->tries - st->tries_told;
  // The slot in use keeps the request while it has tries; then the other.
  Slot slot = st->slot;
  for (int hop = 0; hop < 2; ++hop) {
    SlotPeerState& sp = st->slots[Index(slot)];
    if (RemainingTries(st, slot) > 0) {
      if (!sp.initialized && !InitSlot(st, slot)) return NGX_ERROR;
      ngx_int_t peer = -1;
      const ngx_int_t rc = PickPeer(pc, st, slot, &peer);
      if (rc == NGX_OK || rc == NGX_DONE) {
        StartAttempt(pc, st, slot, peer);
        return rc;
      }
      if (rc != NGX_BUSY) return rc;
      MarkNoLivePeer(st, slot);
    } else if (st->slot_start_us[Index(slot)] == 0) {
      // No try at all before any attempt: every peer is `down` (round
      // robin gives such a slot zero tries).
      MarkNoLivePeer(st, slot);
    }
    if (!CanMoveTo(st, cs::Other(slot))) break;
    slot = cs::Other(slot);
  }
  // As round robin names its upstream when it has no live peer
  // ($upstream_addr, the "no live upstreams" log line): the cutover's name.
  pc->name = &st->conf->name;
  return NGX_BUSY;
}

static ngx_int_t ngx_http_cutover_get_peer(ngx_peer_connection_t* pc, void* data) {
  auto* st = static_cast<RequestState*>(data);
  return Guarded(pc->log, static_cast<ngx_int_t>(NGX_ERROR), [&] { return GetPeer(pc, st); });
}

// The last attempt stops waiting for its response header.
static void EndWait(RequestState* st, std::uint64_t now, bool header) {
  if (!st->waiting) return;
  st->waiting = false;
  if (header) st->header_us = now;
  Add(Counters(st, st->slot).ext[cs::kWaitsEnded]);
}

static void FreePeer(ngx_peer_connection_t* pc, RequestState* st, ngx_uint_t state) {
  const std::uint64_t now = MonotonicUs();
  EndWait(st, now, false);
  st->end_us = now;
  st->upstream_status = st->r->upstream->headers_in.status_n;
  cs::Record* rec = st->conf->record;
  if (state & NGX_PEER_FAILED) {
    Add(Counters(st, st->slot).scalar[cs::kFailures]);
    if (st->peer >= 0) Add(rec->peer_counters[st->peer][Shard()].value[cs::kPeerFailures]);
  }
  SlotPeerState& sp = st->slots[Index(st->slot)];
  pc->tries = sp.tries;
  sp.free(pc, sp.data, state);
  sp.tries = pc->tries;
  pc->tries = TotalTries(st, st->slot, false);
  st->tries_told = pc->tries;
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

// ---------------------------------------------------------------------------
// The response header: the upstream module (proxy, fastcgi, grpc...) parses
// it in u->process_header, which it may replace while parsing (the status
// line, then the headers) and resets in u->reinit_request before a retry;
// both are wrapped so the wrapper stays in front. NGX_OK from the upstream
// module means the whole header has arrived.

static RequestState* UpstreamState(ngx_http_request_t* r) {
  auto* st = StateOf(r);
  return st != nullptr && st->process_header != nullptr ? st : nullptr;
}

static void KeepInFront(ngx_http_upstream_t* u, RequestState* st) {
  if (u->process_header != ngx_http_cutover_process_header) {
    st->process_header = u->process_header;
    u->process_header = ngx_http_cutover_process_header;
  }
}

static ngx_int_t ProcessHeader(ngx_http_request_t* r, RequestState* st) {
  const ngx_int_t rc = st->process_header(r);
  KeepInFront(r->upstream, st);
  if (rc == NGX_OK) EndWait(st, MonotonicUs(), true);
  return rc;
}

static ngx_int_t ngx_http_cutover_process_header(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR), [&]() -> ngx_int_t {
    RequestState* st = UpstreamState(r);
    return st != nullptr ? ProcessHeader(r, st) : NGX_ERROR;
  });
}

static ngx_int_t ngx_http_cutover_reinit_request(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR), [&]() -> ngx_int_t {
    RequestState* st = UpstreamState(r);
    if (st == nullptr) return NGX_ERROR;
    const ngx_int_t rc = st->reinit_request != nullptr ? st->reinit_request(r) : NGX_OK;
    KeepInFront(r->upstream, st);
    return rc;
  });
}

// ---------------------------------------------------------------------------
// The slot of a pass

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

// An earlier pass of the same request through this cutover (a subrequest,
// the main request before an error_page re-pass...): every pass of a request
// registers its state's cleanup on the one pool they share, the main
// request's. Passes that force= decided are not a choice to follow.
static const RequestState* EarlierPass(ngx_http_request_t* r, const RequestState* self) {
  for (ngx_pool_cleanup_t* c = r->pool->cleanup; c != nullptr; c = c->next) {
    if (c->handler != ngx_http_cutover_release_state || c->data == self) continue;
    const auto* other = static_cast<const RequestState*>(c->data);
    if (other->conf == self->conf && !other->forced) return other;
  }
  return nullptr;
}

// force= names a slot: that one. Else a request that already passed through
// this cutover keeps its slot, so one page view (its auth_request, mirror,
// slice, SSI or error_page passes) reads one backend and the interleave
// advances once per request. Else key=, else the interleave.
static void Decide(ngx_http_request_t* r, RequestState* st) {
  CutoverUpstream* cu = st->conf;
  const cs::Control control = cs::Control::Unpack(ReadControl(r, cu));
  st->weight_bp = control.weight_bp;
  st->epoch = control.epoch;
  ngx_str_t value;
  if (cu->force != nullptr && ngx_http_complex_value(r, cu->force, &value) == NGX_OK &&
      SlotNamed(value, &st->decided)) {
    st->forced = true;
    return;
  }
  if (const RequestState* earlier = EarlierPass(r, st)) {
    st->decided = earlier->decided;
    st->weight_bp = earlier->weight_bp;
    st->epoch = earlier->epoch;
    return;
  }
  if (cu->key != nullptr && ngx_http_complex_value(r, cu->key, &value) == NGX_OK && value.len > 0) {
    st->decided =
        KeyGoesGreen(KeyBucket(View(value)), control.weight_bp) ? Slot::kGreen : Slot::kBlue;
    return;
  }
  // A new epoch starts a new interleave, so the new split is exact from
  // its first request.
  if (control.epoch != cu->interleave_epoch) {
    cu->interleave.Reset();
    cu->interleave_epoch = control.epoch;
  }
  st->decided = cu->interleave.Next(control.weight_bp);
}

// ---------------------------------------------------------------------------
// Request states

// A pass the log phase did not count (one that error_page intercepted and
// sent through the cutover again, or a subrequest's) is counted here, with
// the upstream's status, so a slot's errors cannot hide behind error_page.
// Then the state goes back to its worker's free list.
static void ReleaseState(RequestState* st) {
  if (!st->counted && st->conf != nullptr)
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
  st->r = r;
  st->method = r->method;
  st->peer = -1;
  st->conf = cu;
  Decide(r, st);
  st->slot = st->decided;
  if (!InitSlot(st, st->slot)) {
    st->conf = nullptr;  // a pass that never began is not counted
    return NGX_ERROR;
  }
  ngx_http_upstream_t* u = r->upstream;
  st->process_header = u->process_header;
  u->process_header = ngx_http_cutover_process_header;
  st->reinit_request = u->reinit_request;
  u->reinit_request = ngx_http_cutover_reinit_request;
  u->peer.tries = TotalTries(st, st->slot, false);
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

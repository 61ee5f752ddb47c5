// ngx_http_cutover_module: a blue/green upstream balancer whose split
// changes at runtime through a shared state file.
//
//   upstream app { cutover blue=app_blue green=app_green weight=5; }
//
// The balancer picks a slot (force= > key= > smooth interleave), hands the
// request to that slot's own upstream balancer (round robin, least_conn,
// hash, keepalive... whatever the slot's block uses), fails over to the
// other slot when an attempt fails, tags the response with the slot, and
// counts what happened in the state file (include/cutover/state_layout.hpp).
//
// Shape follows nginx's own balancers (ngx_http_upstream_random_module.c):
// config-time work in init_upstream/init_module, a small per-request state
// in the request pool, get/free wrappers around the slot's balancer.
// The request path takes no lock and makes no heap allocation of its own:
// one pool allocation for the request state, atomic relaxed adds to the
// worker's own counter shard, one acquire load of the control word.

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "cutover/latency.hpp"
#include "cutover/state_layout.hpp"
#include "ngx_http_cutover_split.hpp"

extern "C" {
extern ngx_module_t ngx_http_cutover_module;
}

namespace {

namespace cs = cutover::state;
using cs::Slot;

constexpr std::size_t kSlots = cs::kSlotCount;

std::size_t Index(Slot s) { return static_cast<std::size_t>(s); }

// Runs f, turning any escaping exception into an [alert] and a fallback
// value: no C++ exception may unwind through nginx's C frames.
template <typename Fallback, typename F>
auto Guarded(ngx_log_t* log, Fallback fallback, F&& f) noexcept -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_ALERT, log, 0, "cutover: unexpected error: %s", e.what());
  } catch (...) {
    ngx_log_error(NGX_LOG_ALERT, log, 0, "cutover: unexpected error");
  }
  return fallback;
}

template <typename F>
void GuardedVoid(ngx_log_t* log, F&& f) noexcept {
  Guarded(log, 0, [&] {
    f();
    return 0;
  });
}

std::uint64_t MonotonicUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

std::uint64_t UnixMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

std::string_view View(const ngx_str_t& s) {
  return std::string_view(reinterpret_cast<const char*>(s.data), s.len);
}

// ---------------------------------------------------------------------------
// Configuration

// One slot of a cutover upstream: the `upstream` block it names, and the
// state-file peer index of each of that block's addresses.
struct SlotUpstream {
  ngx_str_t name;
  ngx_http_upstream_srv_conf_t* uscf;
  ngx_str_t* peer_names;  // address text, as the balancer sets pc->name
  ngx_int_t* peer_index;  // into Record::peers, -1 when the table was full
  ngx_uint_t npeers;
};

// The module's srv conf of an `upstream` block; `enabled` for the blocks
// that hold a `cutover` directive.
struct CutoverUpstream {
  ngx_flag_t enabled;
  ngx_str_t name;
  SlotUpstream slot[kSlots];
  ngx_uint_t initial_weight_bp;
  ngx_http_complex_value_t* key;
  ngx_http_complex_value_t* force;
  ngx_flag_t failover;
  u_char* file_name;
  ngx_uint_t line;

  cs::Record* record;  // bound in init_module

  // Per worker from here on: each worker owns its copy after fork.
  cutover::module::Interleave interleave;
  std::uint64_t interleave_epoch;
};

struct StateMapping {
  void* base;
  std::size_t size;
};

struct RequestState;

struct MainConf {
  ngx_str_t state_file;
  ngx_array_t upstreams;  // CutoverUpstream*
  StateMapping mapping;
  RequestState* free_states;  // per worker: request states ready for reuse
};

struct HeaderConf {
  ngx_flag_t enabled;  // NGX_CONF_UNSET until merged
  ngx_str_t name;
  u_char* lowcase_name;
  ngx_uint_t hash;
  ngx_http_complex_value_t* value;  // nullptr: the slot's name
};

// ---------------------------------------------------------------------------
// Per request

struct SlotPeerState {
  void* data;
  ngx_event_get_peer_pt get;
  ngx_event_free_peer_pt free;
#if (NGX_HTTP_SSL)
  ngx_event_set_peer_session_pt set_session;
  ngx_event_save_peer_session_pt save_session;
#endif
  ngx_uint_t tries;
  bool initialized;
};

struct RequestState {
  RequestState* next_free;
  MainConf* owner;
  CutoverUpstream* conf;
  ngx_http_request_t* r;
  SlotPeerState slots[kSlots];
  Slot slot;  // of the current (or last) attempt
  std::uint32_t weight_bp;
  std::uint64_t epoch;
  ngx_int_t peer;  // Record::peers index of the current attempt, -1 none
  ngx_uint_t attempts;
  std::uint64_t start_us;
  std::uint64_t end_us;
  ngx_uint_t method;           // of the request, kept for counting after it is gone
  ngx_uint_t upstream_status;  // of the last attempt's response, 0 when none came
  bool failover_pending;       // the last attempt failed; a retry goes to the other slot
  bool counted;
};

std::size_t Shard() { return ngx_worker % cs::kShards; }

cs::SlotCounters& SlotCountersOf(cs::Record* rec, Slot slot) {
  return rec->slots[Index(slot)][Shard()];
}

void Add(std::atomic<std::uint64_t>& c, std::uint64_t v = 1) {
  c.fetch_add(v, std::memory_order_relaxed);
}

ngx_int_t GetPeer(ngx_peer_connection_t* pc, void* data);
void FreePeer(ngx_peer_connection_t* pc, void* data, ngx_uint_t state);
#if (NGX_HTTP_SSL)
ngx_int_t SetSession(ngx_peer_connection_t* pc, void* data);
void SaveSession(ngx_peer_connection_t* pc, void* data);
#endif

// Runs the slot's own peer init, keeps what it installed, and puts our
// wrappers back in front.
bool InitSlot(RequestState* st, Slot slot) {
  ngx_http_upstream_t* u = st->r->upstream;
  ngx_http_upstream_srv_conf_t* us = st->conf->slot[Index(slot)].uscf;
  // Round robin's init reuses u->peer.data when it is set (least_conn and
  // hash rely on that): it must not find our state there.
  u->peer.data = nullptr;
  if (us->peer.init(st->r, us) != NGX_OK) {
    u->peer.data = st;
    return false;
  }
  SlotPeerState& sp = st->slots[Index(slot)];
  sp.data = u->peer.data;
  sp.get = u->peer.get;
  sp.free = u->peer.free;
#if (NGX_HTTP_SSL)
  sp.set_session = u->peer.set_session;
  sp.save_session = u->peer.save_session;
#endif
  sp.tries = u->peer.tries;
  sp.initialized = true;
  u->peer.data = st;
  u->peer.get = GetPeer;
  u->peer.free = FreePeer;
#if (NGX_HTTP_SSL)
  u->peer.set_session = SetSession;
  u->peer.save_session = SaveSession;
#endif
  return true;
}

ngx_uint_t RemainingTries(const RequestState* st, Slot slot) {
  const SlotPeerState& sp = st->slots[Index(slot)];
  // Before its balancer has run, a slot may be tried once per address.
  return sp.initialized ? sp.tries : st->conf->slot[Index(slot)].npeers;
}

bool CanFailover(const RequestState* st) {
  return st->conf->failover && RemainingTries(st, cs::Other(st->slot)) > 0;
}

// What nginx should believe is left: the current slot's tries plus the
// other slot's when failover may still go there, capped by
// proxy_next_upstream_tries.
ngx_uint_t TotalTries(const RequestState* st) {
  ngx_uint_t total = st->slots[Index(st->slot)].tries;
  if (CanFailover(st)) total += RemainingTries(st, cs::Other(st->slot));
  const ngx_uint_t cap = st->r->upstream->conf->next_upstream_tries;
  if (cap != 0) {
    if (st->attempts >= cap) return 0;
    if (total > cap - st->attempts) total = cap - st->attempts;
  }
  return total;
}

bool Failover(RequestState* st) {
  const Slot from = st->slot;
  const Slot to = cs::Other(from);
  if (!st->slots[Index(to)].initialized && !InitSlot(st, to)) return false;
  Add(SlotCountersOf(st->conf->record, from).scalar[cs::kFailovers]);
  st->slot = to;
  return true;
}

ngx_int_t FindPeer(const SlotUpstream& su, const ngx_str_t* name) {
  if (name == nullptr) return -1;
  for (ngx_uint_t i = 0; i < su.npeers; ++i) {
    if (su.peer_names[i].len == name->len &&
        ngx_memcmp(su.peer_names[i].data, name->data, name->len) == 0)
      return su.peer_index[i];
  }
  return -1;
}

ngx_int_t GetPeerImpl(ngx_peer_connection_t* pc, RequestState* st) {
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

ngx_int_t GetPeer(ngx_peer_connection_t* pc, void* data) {
  auto* st = static_cast<RequestState*>(data);
  return Guarded(pc->log, static_cast<ngx_int_t>(NGX_ERROR), [&] { return GetPeerImpl(pc, st); });
}

void FreePeerImpl(ngx_peer_connection_t* pc, RequestState* st, ngx_uint_t state) {
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

void FreePeer(ngx_peer_connection_t* pc, void* data, ngx_uint_t state) {
  auto* st = static_cast<RequestState*>(data);
  GuardedVoid(pc->log, [&] { FreePeerImpl(pc, st, state); });
}

#if (NGX_HTTP_SSL)
ngx_int_t SetSession(ngx_peer_connection_t* pc, void* data) {
  auto* st = static_cast<RequestState*>(data);
  return Guarded(pc->log, static_cast<ngx_int_t>(NGX_OK), [&]() -> ngx_int_t {
    SlotPeerState& sp = st->slots[Index(st->slot)];
    return sp.set_session ? sp.set_session(pc, sp.data) : NGX_OK;
  });
}

void SaveSession(ngx_peer_connection_t* pc, void* data) {
  auto* st = static_cast<RequestState*>(data);
  GuardedVoid(pc->log, [&] {
    SlotPeerState& sp = st->slots[Index(st->slot)];
    if (sp.save_session) sp.save_session(pc, sp.data);
  });
}
#endif

bool SlotNamed(const ngx_str_t& v, Slot* out) {
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

Slot ChooseSlot(ngx_http_request_t* r, CutoverUpstream* cu, const cs::Control& control) {
  ngx_str_t value;
  Slot forced;
  if (cu->force != nullptr && ngx_http_complex_value(r, cu->force, &value) == NGX_OK &&
      SlotNamed(value, &forced))
    return forced;
  if (cu->key != nullptr && ngx_http_complex_value(r, cu->key, &value) == NGX_OK && value.len > 0)
    return cutover::module::KeyGoesGreen(cutover::module::KeyBucket(View(value)), control.weight_bp)
               ? Slot::kGreen
               : Slot::kBlue;
  // A new epoch starts a new interleave, so the new split is exact from
  // its first request.
  if (control.epoch != cu->interleave_epoch) {
    cu->interleave.Reset();
    cu->interleave_epoch = control.epoch;
  }
  return cu->interleave.Next(control.weight_bp);
}

void CountOutcome(RequestState* st, ngx_uint_t status);

// A pass the log phase did not count (one that error_page intercepted and
// sent through the cutover again, or a subrequest's) is counted here, with
// the upstream's status, so a slot's errors cannot hide behind error_page.
// Then the state goes back to its worker's free list.
void ReleaseState(void* data) {
  auto* st = static_cast<RequestState*>(data);
  if (!st->counted && st->attempts > 0)
    CountOutcome(st, st->upstream_status ? st->upstream_status : NGX_HTTP_BAD_GATEWAY);
  st->next_free = st->owner->free_states;
  st->owner->free_states = st;
}

// Request states are recycled per worker rather than taken from the request
// pool, which holds only the 24-byte cleanup that hands the state back when
// the pool is destroyed (always, subrequests and internal redirects
// included, so a state cannot leak). The list grows in chunks from the
// cycle's pool only when concurrency passes its previous peak.
RequestState* AcquireState(ngx_http_request_t* r) {
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
  cln->handler = ReleaseState;
  cln->data = st;
  return st;
}

ngx_int_t InitPeerImpl(ngx_http_request_t* r, ngx_http_upstream_srv_conf_t* us) {
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
                 [&] { return InitPeerImpl(r, us); });
}

// The request's state: its ctx, or (after an internal redirect cleared the
// ctx, as error_page does) the upstream it ran through.
RequestState* StateOf(ngx_http_request_t* r) {
  auto* st = static_cast<RequestState*>(ngx_http_get_module_ctx(r, ngx_http_cutover_module));
  if (st != nullptr) return st;
  if (r->upstream != nullptr && r->upstream->peer.get == GetPeer)
    return static_cast<RequestState*>(r->upstream->peer.data);
  return nullptr;
}

// ---------------------------------------------------------------------------
// Log phase: the request's outcome into its slot's and peer's counters.

bool IsWrite(ngx_uint_t method) {
  return (method & (NGX_HTTP_GET | NGX_HTTP_HEAD | NGX_HTTP_OPTIONS | NGX_HTTP_PROPFIND |
                    NGX_HTTP_TRACE)) == 0;
}

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

// The request's final pass, with the status the client got.
ngx_int_t LogImpl(ngx_http_request_t* r) {
  RequestState* st = StateOf(r);
  if (st == nullptr || st->counted || st->attempts == 0) return NGX_OK;
  CountOutcome(st, r->err_status ? r->err_status : r->headers_out.status);
  return NGX_OK;
}

ngx_int_t ngx_http_cutover_log_handler(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_OK), [&] { return LogImpl(r); });
}

// ---------------------------------------------------------------------------
// Header filter: X-Backend-Server (or cutover_header's name) on every
// response that went through a cutover upstream, replacing any header of
// that name the upstream sent, so a backend cannot claim another slot.

ngx_http_output_header_filter_pt ngx_http_next_header_filter;

ngx_int_t HeaderFilterImpl(ngx_http_request_t* r) {
  RequestState* st = StateOf(r);
  if (st == nullptr || st->attempts == 0) return ngx_http_next_header_filter(r);
  auto* hc = static_cast<HeaderConf*>(ngx_http_get_module_loc_conf(r, ngx_http_cutover_module));
  if (!hc->enabled) return ngx_http_next_header_filter(r);

  ngx_list_part_t* part = &r->headers_out.headers.part;
  auto* h = static_cast<ngx_table_elt_t*>(part->elts);
  for (ngx_uint_t i = 0;; ++i) {
    if (i >= part->nelts) {
      if (part->next == nullptr) break;
      part = part->next;
      h = static_cast<ngx_table_elt_t*>(part->elts);
      i = 0;
    }
    if (h[i].hash != 0 && h[i].key.len == hc->name.len &&
        ngx_strncasecmp(h[i].key.data, hc->name.data, hc->name.len) == 0)
      h[i].hash = 0;  // nginx's way of deleting an output header
  }

  ngx_str_t value;
  if (hc->value == nullptr) {
    value.data = reinterpret_cast<u_char*>(const_cast<char*>(cs::SlotName(st->slot)));
    value.len = ngx_strlen(value.data);
  } else if (ngx_http_complex_value(r, hc->value, &value) != NGX_OK) {
    return NGX_ERROR;
  }
  auto* out = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
  if (out == nullptr) return NGX_ERROR;
  out->hash = hc->hash;
  out->key = hc->name;
  out->lowcase_key = hc->lowcase_name;
  out->value = value;
  return ngx_http_next_header_filter(r);
}

ngx_int_t ngx_http_cutover_header_filter(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR),
                 [&] { return HeaderFilterImpl(r); });
}

// ---------------------------------------------------------------------------
// Variables: $cutover_slot, $cutover_weight (green's share, percent),
// $cutover_epoch, as decided for this request.

enum class Variable : uintptr_t { kSlot, kWeight, kEpoch };

u_char* FormatPercent(u_char* p, std::uint32_t bp) {
  if (bp % 100 == 0) return ngx_sprintf(p, "%uD", bp / 100);
  if (bp % 10 == 0) return ngx_sprintf(p, "%uD.%uD", bp / 100, (bp % 100) / 10);
  return ngx_sprintf(p, "%uD.%02uD", bp / 100, bp % 100);
}

ngx_int_t VariableImpl(ngx_http_request_t* r, ngx_http_variable_value_t* v, uintptr_t data) {
  RequestState* st = StateOf(r);
  if (st == nullptr) {
    v->not_found = 1;
    return NGX_OK;
  }
  u_char* p;
  switch (static_cast<Variable>(data)) {
    case Variable::kSlot:
      v->data = reinterpret_cast<u_char*>(const_cast<char*>(cs::SlotName(st->slot)));
      v->len = ngx_strlen(v->data);
      break;
    case Variable::kWeight:
      p = static_cast<u_char*>(ngx_pnalloc(r->pool, sizeof("100.00")));
      if (p == nullptr) return NGX_ERROR;
      v->data = p;
      v->len = FormatPercent(p, st->weight_bp) - p;
      break;
    case Variable::kEpoch:
      p = static_cast<u_char*>(ngx_pnalloc(r->pool, NGX_INT64_LEN));
      if (p == nullptr) return NGX_ERROR;
      v->data = p;
      v->len = ngx_sprintf(p, "%uL", static_cast<uint64_t>(st->epoch)) - p;
      break;
  }
  v->valid = 1;
  v->no_cacheable = 0;
  v->not_found = 0;
  return NGX_OK;
}

ngx_int_t ngx_http_cutover_variable(ngx_http_request_t* r, ngx_http_variable_value_t* v,
                                    uintptr_t data) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR),
                 [&] { return VariableImpl(r, v, data); });
}

// ---------------------------------------------------------------------------
// cutover_status: a JSON snapshot of every cutover of this configuration.

u_char* JsonString(u_char* p, const ngx_str_t& s) {
  *p++ = '"';
  p = reinterpret_cast<u_char*>(ngx_escape_json(p, s.data, s.len));
  *p++ = '"';
  return p;
}

u_char* JsonMs(u_char* p, double us) {
  const auto v = static_cast<std::uint64_t>(us + 0.5);
  return ngx_sprintf(p, "%uL.%03uL", v / 1000, v % 1000);
}

u_char* JsonSlot(u_char* p, const cs::Record* rec, Slot slot) {
  const cs::SlotTotals t = cs::SumSlotShards(*rec, slot);
  std::uint64_t count = 0;
  for (auto c : t.latency) count += c;
  p = ngx_sprintf(p,
                  "{\"requests\": %uL, \"responses\": {\"1xx\": %uL, \"2xx\": %uL, \"3xx\": %uL, "
                  "\"4xx\": %uL, \"5xx\": %uL}, \"failures\": %uL, \"failovers\": %uL, "
                  "\"writes\": %uL, \"latency\": {\"count\": %uL, \"sum_us\": %uL, \"p50_ms\": ",
                  t.scalar[cs::kRequests], t.scalar[cs::kResponses1xx], t.scalar[cs::kResponses2xx],
                  t.scalar[cs::kResponses3xx], t.scalar[cs::kResponses4xx],
                  t.scalar[cs::kResponses5xx], t.scalar[cs::kFailures], t.scalar[cs::kFailovers],
                  t.scalar[cs::kWrites], count, t.scalar[cs::kLatencySumUs]);
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

u_char* JsonPeers(u_char* p, const CutoverUpstream* cu) {
  const cs::Record* rec = cu->record;
  bool first = true;
  for (std::size_t s = 0; s < kSlots; ++s) {
    const SlotUpstream& su = cu->slot[s];
    for (ngx_uint_t i = 0; i < su.npeers; ++i) {
      if (su.peer_index[i] < 0) continue;
      const cs::PeerTotals totals =
          cs::SumPeerShards(*rec, static_cast<std::size_t>(su.peer_index[i]));
      const std::uint64_t* v = totals.value;
      p = ngx_sprintf(p, "%s{\"slot\": \"%s\", \"address\": ", first ? "" : ", ",
                      cs::SlotName(static_cast<Slot>(s)));
      p = JsonString(p, su.peer_names[i]);
      p = ngx_sprintf(p,
                      ", \"requests\": %uL, \"2xx\": %uL, \"4xx\": %uL, \"5xx\": %uL, "
                      "\"failures\": %uL}",
                      v[cs::kPeerRequests], v[cs::kPeer2xx], v[cs::kPeer4xx], v[cs::kPeer5xx],
                      v[cs::kPeerFailures]);
      first = false;
    }
  }
  return p;
}

ngx_int_t StatusImpl(ngx_http_request_t* r) {
  if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
  if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  auto* mcf = static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_cutover_module));
  auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);

  std::size_t size = 64;
  for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i) {
    size += 8192 + 3 * 6 * cs::kNameSize;
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
    const std::uint32_t blue_bp = cs::kWeightScale - c.weight_bp;
    p = ngx_sprintf(p,
                    ", \"weight\": {\"blue\": %uD.%02uD, \"green\": %uD.%02uD}, \"epoch\": %uL, "
                    "\"slots\": {\"blue\": ",
                    blue_bp / 100, blue_bp % 100, c.weight_bp / 100, c.weight_bp % 100, c.epoch);
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

ngx_int_t ngx_http_cutover_status_handler(ngx_http_request_t* r) {
  return Guarded(r->connection->log, static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                 [&] { return StatusImpl(r); });
}

}  // namespace

// ---------------------------------------------------------------------------
// The state file: mapped in the master at init_module, inherited by the
// workers. A bad file is moved aside and replaced, never fatal; `nginx -t`
// only reads it.

namespace {

void UnmapState(void* data) {
  auto* m = static_cast<StateMapping*>(data);
  if (m->base != nullptr && m->base != MAP_FAILED) munmap(m->base, m->size);
  m->base = nullptr;
}

// Why a file at `path` is unusable, or nullptr when it is usable; reads
// only. `*exists` tells whether there is a file at all.
const char* InspectStateFile(const char* path, bool* exists) {
  *exists = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? nullptr : "cannot be opened";
  *exists = true;
  struct stat st;
  const char* why = nullptr;
  if (fstat(fd, &st) != 0) {
    why = "cannot be examined";
  } else if (static_cast<std::size_t>(st.st_size) < cs::kHeaderSize) {
    why = "truncated: shorter than the header";
  } else {
    void* base = mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      why = "cannot be mapped";
    } else {
      why = cs::ValidateFile(base, st.st_size);
      munmap(base, st.st_size);
    }
  }
  close(fd);
  return why;
}

// Maps an existing valid file read-write; nullptr when there is none or it
// is not valid.
void* MapExisting(const char* path) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  void* base = mmap(nullptr, cs::kFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return nullptr;
  if (cs::ValidateFile(base, cs::kFileSize) != nullptr) {
    munmap(base, cs::kFileSize);
    return nullptr;
  }
  return base;
}

// Creates a fresh file beside `path` and renames it into place, so a reader
// never sees a half-made file. Group: the worker processes' group, so an
// agent in that group can steer it.
void* CreateStateFile(ngx_cycle_t* cycle, const char* path) {
  u_char tmp[NGX_MAX_PATH + 32];
  *ngx_snprintf(tmp, sizeof(tmp) - 1, "%s.tmp.%P", path, ngx_pid) = '\0';
  const char* tmp_path = reinterpret_cast<const char*>(tmp);
  int fd = open(tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
  if (fd < 0) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno, "cutover: open(\"%s\") failed", tmp_path);
    return nullptr;
  }
  (void)fchmod(fd, 0660);
  auto* ccf = reinterpret_cast<ngx_core_conf_t*>(ngx_get_conf(cycle->conf_ctx, ngx_core_module));
  if (geteuid() == 0 && ccf != nullptr && ccf->group != static_cast<gid_t>(NGX_CONF_UNSET_UINT))
    (void)fchown(fd, static_cast<uid_t>(-1), ccf->group);
  void* base = MAP_FAILED;
  if (ftruncate(fd, cs::kFileSize) == 0)
    base = mmap(nullptr, cs::kFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = ngx_errno;
  close(fd);
  if (base == MAP_FAILED) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, err, "cutover: cannot size or map \"%s\"", tmp_path);
    unlink(tmp_path);
    return nullptr;
  }
  cs::InitializeFile(base, UnixMs());
  if (rename(tmp_path, path) != 0) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno, "cutover: rename(\"%s\", \"%s\") failed",
                  tmp_path, path);
    munmap(base, cs::kFileSize);
    unlink(tmp_path);
    return nullptr;
  }
  return base;
}

void Quarantine(ngx_cycle_t* cycle, const char* path, const char* why) {
  u_char aside[NGX_MAX_PATH + 64];
  *ngx_snprintf(aside, sizeof(aside) - 1, "%s.corrupt-%T", path, ngx_time()) = '\0';
  if (rename(path, reinterpret_cast<const char*>(aside)) != 0) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                  "cutover: state file \"%s\" is unusable (%s) and could not be moved aside; "
                  "replacing it",
                  path, why);
    unlink(path);
    return;
  }
  ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                "cutover: state file \"%s\" is unusable (%s): moved aside to \"%s\"; weights "
                "start again from the configuration",
                path, why, aside);
}

// A process-shared anonymous mapping for when no file can be had: the
// workers still agree on weights and counters, but nothing else sees them.
void* AnonymousState(bool shared) {
  void* base = mmap(nullptr, cs::kFileSize, PROT_READ | PROT_WRITE,
                    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  cs::InitializeFile(base, UnixMs());
  return base;
}

void* MapStateFile(ngx_cycle_t* cycle, const char* path) {
  bool exists = false;
  if (const char* why = InspectStateFile(path, &exists); why != nullptr && exists) {
    Quarantine(cycle, path, why);
  } else if (why != nullptr) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno, "cutover: state file \"%s\" %s", path, why);
  } else if (exists) {
    if (void* base = MapExisting(path)) return base;
  }
  if (void* base = CreateStateFile(cycle, path)) return base;
  ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                "cutover: no state file at \"%s\": weights and counters live in memory only and "
                "no agent can see them",
                path);
  return AnonymousState(true);
}

void BindPeers(ngx_cycle_t* cycle, CutoverUpstream* cu, std::uint64_t now, std::uint64_t start) {
  for (std::size_t s = 0; s < kSlots; ++s) {
    SlotUpstream& su = cu->slot[s];
    for (ngx_uint_t i = 0; i < su.npeers; ++i) {
      su.peer_index[i] =
          cs::FindOrClaimPeer(cu->record, static_cast<Slot>(s), View(su.peer_names[i]), now, start);
      if (su.peer_index[i] < 0)
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "cutover: no room for peer \"%V\" of upstream \"%V\" in the state file; "
                      "its slot is still counted",
                      &su.peer_names[i], &cu->name);
    }
  }
}

ngx_int_t BindRecords(ngx_cycle_t* cycle, MainConf* mcf) {
  const std::uint64_t start = UnixMs();
  auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);
  for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i) {
    CutoverUpstream* cu = ups[i];
    const std::uint64_t now = UnixMs();
    cu->record = cs::FindOrClaimRecord(mcf->mapping.base, View(cu->name), View(cu->slot[0].name),
                                       View(cu->slot[1].name),
                                       static_cast<std::uint32_t>(cu->initial_weight_bp), now);
    if (cu->record == nullptr && cs::RetireOldestRecord(mcf->mapping.base, start)) {
      ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                    "cutover: state file full: reusing the record least recently configured");
      cu->record = cs::FindOrClaimRecord(mcf->mapping.base, View(cu->name), View(cu->slot[0].name),
                                         View(cu->slot[1].name),
                                         static_cast<std::uint32_t>(cu->initial_weight_bp), now);
    }
    if (cu->record == nullptr) {
      // More cutover upstreams in this configuration than records: this
      // one runs on a private record, still balanced, not observable.
      ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                    "cutover: no room for upstream \"%V\" in the state file (%uD records)",
                    &cu->name, cs::kMaxRecords);
      void* scratch = ngx_pmemalign(cycle->pool, cs::kHeaderSize + cs::kRecordSize, 4096);
      if (scratch == nullptr) return NGX_ERROR;
      ngx_memzero(scratch, cs::kHeaderSize + cs::kRecordSize);
      cu->record = cs::RecordAt(scratch, 0);
      cu->record->control.word.store(
          cs::Control{static_cast<std::uint32_t>(cu->initial_weight_bp), 1}.Pack());
    }
    BindPeers(cycle, cu, now, start);
    cu->interleave.Reset();
    cu->interleave_epoch = 0;
  }
  return NGX_OK;
}

ngx_int_t InitModuleImpl(ngx_cycle_t* cycle) {
  auto* mcf =
      static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cutover_module));
  if (mcf == nullptr || mcf->upstreams.nelts == 0) return NGX_OK;
  const char* path = reinterpret_cast<const char*>(mcf->state_file.data);

  void* base;
  if (ngx_test_config) {
    // `nginx -t` must leave a live file alone: say what a start would do,
    // and bind the records in private scratch memory.
    bool exists = false;
    if (const char* why = InspectStateFile(path, &exists); why != nullptr && exists)
      ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                    "cutover: state file \"%s\" is unusable (%s): nginx will move it aside when "
                    "it starts",
                    path, why);
    base = AnonymousState(false);
  } else {
    base = MapStateFile(cycle, path);
  }
  if (base == nullptr) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno, "cutover: mmap() failed");
    return NGX_ERROR;
  }
  mcf->mapping.base = base;
  mcf->mapping.size = cs::kFileSize;
  ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(cycle->pool, 0);
  if (cln == nullptr) {
    UnmapState(&mcf->mapping);
    return NGX_ERROR;
  }
  cln->handler = UnmapState;
  cln->data = &mcf->mapping;
  return BindRecords(cycle, mcf);
}

ngx_int_t ngx_http_cutover_init_module(ngx_cycle_t* cycle) {
  return Guarded(cycle->log, static_cast<ngx_int_t>(NGX_ERROR),
                 [&] { return InitModuleImpl(cycle); });
}

// ---------------------------------------------------------------------------
// Directives

char* ConfError() { return static_cast<char*>(NGX_CONF_ERROR); }

// "12", "12.5", "12.25" -> basis points; -1 when not a percentage in 0..100
// with at most two decimals.
ngx_int_t ParsePercentBp(const u_char* s, std::size_t len) {
  ngx_int_t whole = 0, frac = 0;
  std::size_t i = 0, digits = 0, frac_digits = 0;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + (s[i] - '0');
    if (whole > 100) return -1;
  }
  if (digits == 0) return -1;
  if (i < len && s[i] == '.') {
    for (++i; i < len && s[i] >= '0' && s[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits == 2) return -1;
      frac = frac * 10 + (s[i] - '0');
    }
    if (frac_digits == 0) return -1;
    if (frac_digits == 1) frac *= 10;
  }
  if (i != len) return -1;
  const ngx_int_t bp = whole * 100 + frac;
  return bp > static_cast<ngx_int_t>(cs::kWeightScale) ? -1 : bp;
}

bool CompileValue(ngx_conf_t* cf, ngx_str_t* source, ngx_http_complex_value_t** out) {
  *out = static_cast<ngx_http_complex_value_t*>(
      ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t)));
  if (*out == nullptr) return false;
  ngx_http_compile_complex_value_t ccv;
  ngx_memzero(&ccv, sizeof(ccv));
  ccv.cf = cf;
  ccv.value = source;
  ccv.complex_value = *out;
  return ngx_http_compile_complex_value(&ccv) == NGX_OK;
}

ngx_int_t ngx_http_cutover_init_upstream(ngx_conf_t* cf, ngx_http_upstream_srv_conf_t* us);

char* CutoverDirective(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  auto* uscf = static_cast<ngx_http_upstream_srv_conf_t*>(
      ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module));
  auto* cu = static_cast<CutoverUpstream*>(conf);
  if (cu->enabled) return const_cast<char*>("is duplicate");
  if (uscf->servers != nullptr && uscf->servers->nelts > 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"cutover\" upstream \"%V\" cannot have \"server\" directives: its servers "
                       "are those of its blue= and green= upstreams",
                       &uscf->host);
    return ConfError();
  }
  if (uscf->peer.init_upstream != nullptr)
    ngx_conf_log_error(NGX_LOG_WARN, cf, 0, "load balancing method redefined");

  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  bool have_weight = false;
  for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
    ngx_str_t& v = args[i];
    auto has = [&](const char* prefix) {
      const std::size_t n = ngx_strlen(prefix);
      return v.len >= n && ngx_strncmp(v.data, prefix, n) == 0;
    };
    auto rest = [&](std::size_t n) {
      ngx_str_t s = {v.len - n, v.data + n};
      return s;
    };
    if (has("blue=") || has("green=")) {
      const bool blue = has("blue=");
      ngx_str_t name = rest(blue ? 5 : 6);
      if (name.len == 0 || name.len >= cs::kNameSize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid upstream name in \"%V\"", &v);
        return ConfError();
      }
      SlotUpstream& su = cu->slot[blue ? 0 : 1];
      if (su.name.len != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "duplicate parameter \"%V\"", &v);
        return ConfError();
      }
      su.name = name;
    } else if (has("weight=")) {
      ngx_str_t w = rest(7);
      const ngx_int_t bp = ParsePercentBp(w.data, w.len);
      if (bp < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid weight \"%V\": a percentage from 0 to 100 with at most two "
                           "decimals",
                           &w);
        return ConfError();
      }
      cu->initial_weight_bp = static_cast<ngx_uint_t>(bp);
      have_weight = true;
    } else if (has("key=") || has("force=")) {
      const bool key = has("key=");
      ngx_str_t source = rest(key ? 4 : 6);
      if (!CompileValue(cf, &source, key ? &cu->key : &cu->force)) return ConfError();
    } else if (has("failover=")) {
      ngx_str_t f = rest(9);
      if (f.len == 2 && ngx_strncmp(f.data, "on", 2) == 0) {
        cu->failover = 1;
      } else if (f.len == 3 && ngx_strncmp(f.data, "off", 3) == 0) {
        cu->failover = 0;
      } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid value \"%V\": failover= takes on or off",
                           &v);
        return ConfError();
      }
    } else {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", &v);
      return ConfError();
    }
  }
  if (cu->slot[0].name.len == 0 || cu->slot[1].name.len == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"cutover\" needs both blue= and green=");
    return ConfError();
  }
  if (cu->slot[0].name.len == cu->slot[1].name.len &&
      ngx_strncmp(cu->slot[0].name.data, cu->slot[1].name.data, cu->slot[0].name.len) == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "blue= and green= name the same upstream \"%V\": a cutover needs two",
                       &cu->slot[0].name);
    return ConfError();
  }
  if (uscf->host.len >= cs::kNameSize) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "upstream name \"%V\" is too long for the state file (at most %uz bytes)",
                       &uscf->host, cs::kNameSize - 1);
    return ConfError();
  }
  if (!have_weight) cu->initial_weight_bp = 0;
  if (cu->failover == NGX_CONF_UNSET) cu->failover = 1;
  cu->enabled = 1;
  cu->name = uscf->host;
  cu->file_name = cf->conf_file->file.name.data;
  cu->line = cf->conf_file->line;

  // The upstream block insists on servers; this placeholder satisfies it
  // and is never resolved, since this balancer never runs round robin.
  auto* placeholder = static_cast<ngx_http_upstream_server_t*>(ngx_array_push(uscf->servers));
  if (placeholder == nullptr) return ConfError();
  ngx_memzero(placeholder, sizeof(*placeholder));
  ngx_str_set(&placeholder->name, "cutover");

  uscf->peer.init_upstream = ngx_http_cutover_init_upstream;
  uscf->flags = NGX_HTTP_UPSTREAM_CREATE;

  auto* mcf =
      static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_cutover_module));
  auto** slot = static_cast<CutoverUpstream**>(ngx_array_push(&mcf->upstreams));
  if (slot == nullptr) return ConfError();
  *slot = cu;
  return NGX_CONF_OK;
}

ngx_http_upstream_srv_conf_t* FindUpstream(ngx_conf_t* cf, const ngx_str_t& name) {
  auto* umcf = static_cast<ngx_http_upstream_main_conf_t*>(
      ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module));
  auto** uscfp = static_cast<ngx_http_upstream_srv_conf_t**>(umcf->upstreams.elts);
  for (ngx_uint_t i = 0; i < umcf->upstreams.nelts; ++i) {
    if ((uscfp[i]->flags & NGX_HTTP_UPSTREAM_CREATE) && uscfp[i]->host.len == name.len &&
        ngx_strncmp(uscfp[i]->host.data, name.data, name.len) == 0)
      return uscfp[i];
  }
  return nullptr;
}

// Resolves blue= and green= to their upstream blocks and lists their
// addresses. Runs from the upstream module's init_main_conf, once every
// block has been parsed, whatever their order in the file.
ngx_int_t InitUpstreamImpl(ngx_conf_t* cf, ngx_http_upstream_srv_conf_t* us) {
  auto* cu =
      static_cast<CutoverUpstream*>(ngx_http_conf_upstream_srv_conf(us, ngx_http_cutover_module));
  if (us->servers->nelts != 1) {
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"cutover\" upstream \"%V\" cannot have \"server\" directives in %s:%ui",
                  &us->host, cu->file_name, cu->line);
    return NGX_ERROR;
  }
#if (NGX_HTTP_UPSTREAM_ZONE)
  if (us->shm_zone != nullptr) {
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"zone\" belongs in the slot upstreams, not in \"cutover\" upstream \"%V\" in "
                  "%s:%ui",
                  &us->host, cu->file_name, cu->line);
    return NGX_ERROR;
  }
#endif
  for (std::size_t s = 0; s < kSlots; ++s) {
    SlotUpstream& su = cu->slot[s];
    su.uscf = FindUpstream(cf, su.name);
    if (su.uscf == nullptr) {
      ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "unknown upstream \"%V\" in %s:%ui", &su.name,
                    cu->file_name, cu->line);
      return NGX_ERROR;
    }
    if (su.uscf == us || su.uscf->peer.init_upstream == ngx_http_cutover_init_upstream) {
      ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                    "upstream \"%V\" is itself a cutover and cannot be a slot in %s:%ui", &su.name,
                    cu->file_name, cu->line);
      return NGX_ERROR;
    }
    auto* servers = static_cast<ngx_http_upstream_server_t*>(su.uscf->servers->elts);
    ngx_uint_t n = 0;
    for (ngx_uint_t i = 0; i < su.uscf->servers->nelts; ++i) n += servers[i].naddrs;
    su.npeers = n;
    su.peer_names = static_cast<ngx_str_t*>(ngx_pcalloc(cf->pool, (n ? n : 1) * sizeof(ngx_str_t)));
    su.peer_index = static_cast<ngx_int_t*>(ngx_pcalloc(cf->pool, (n ? n : 1) * sizeof(ngx_int_t)));
    if (su.peer_names == nullptr || su.peer_index == nullptr) return NGX_ERROR;
    ngx_uint_t k = 0;
    for (ngx_uint_t i = 0; i < su.uscf->servers->nelts; ++i)
      for (ngx_uint_t j = 0; j < servers[i].naddrs; ++j) {
        su.peer_names[k] = servers[i].addrs[j].name;
        su.peer_index[k] = -1;
        ++k;
      }
  }
  us->peer.init = ngx_http_cutover_init_peer;
  return NGX_OK;
}

ngx_int_t ngx_http_cutover_init_upstream(ngx_conf_t* cf, ngx_http_upstream_srv_conf_t* us) {
  return Guarded(cf->log, static_cast<ngx_int_t>(NGX_ERROR),
                 [&] { return InitUpstreamImpl(cf, us); });
}

char* HeaderDirective(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  auto* hc = static_cast<HeaderConf*>(conf);
  if (hc->enabled != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  auto* args = static_cast<ngx_str_t*>(cf->args->elts);
  if (cf->args->nelts == 2 && args[1].len == 3 && ngx_strncmp(args[1].data, "off", 3) == 0) {
    hc->enabled = 0;
    return NGX_CONF_OK;
  }
  ngx_str_t& name = args[1];
  if (name.len == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid header name \"%V\"", &name);
    return ConfError();
  }
  for (std::size_t i = 0; i < name.len; ++i) {
    const u_char c = name.data[i];
    const bool token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    if (!token) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid header name \"%V\"", &name);
      return ConfError();
    }
  }
  hc->enabled = 1;
  hc->name = name;
  if (cf->args->nelts == 3 && !CompileValue(cf, &args[2], &hc->value)) return ConfError();
  return NGX_CONF_OK;
}

char* StateFileDirective(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->state_file.data != nullptr) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts) + 1;
  if (value->len == 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty state file path");
    return ConfError();
  }
  mcf->state_file = *value;
  if (ngx_conf_full_name(cf->cycle, &mcf->state_file, 0) != NGX_OK) return ConfError();
  return NGX_CONF_OK;
}

char* StatusDirective(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
      ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  clcf->handler = ngx_http_cutover_status_handler;
  return NGX_CONF_OK;
}

// ---------------------------------------------------------------------------
// Configuration objects

void* CreateMainConf(ngx_conf_t* cf) {
  auto* mcf = static_cast<MainConf*>(ngx_pcalloc(cf->pool, sizeof(MainConf)));
  if (mcf == nullptr) return nullptr;
  if (ngx_array_init(&mcf->upstreams, cf->pool, 4, sizeof(CutoverUpstream*)) != NGX_OK)
    return nullptr;
  return mcf;
}

char* InitMainConf(ngx_conf_t* cf, void* conf) {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->state_file.data == nullptr) {
    ngx_str_set(&mcf->state_file, "logs/cutover.state");
    if (ngx_conf_full_name(cf->cycle, &mcf->state_file, 0) != NGX_OK) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "\"cutover\" needs \"cutover_state_file\": no default path can be made");
      return ConfError();
    }
  }
  // NUL-terminated copy for the system calls.
  auto* path = static_cast<u_char*>(ngx_pnalloc(cf->pool, mcf->state_file.len + 1));
  if (path == nullptr) return ConfError();
  *ngx_cpymem(path, mcf->state_file.data, mcf->state_file.len) = '\0';
  mcf->state_file.data = path;
  if (mcf->state_file.len > NGX_MAX_PATH - 64) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "state file path \"%V\" is too long",
                       &mcf->state_file);
    return ConfError();
  }
  return NGX_CONF_OK;
}

void* CreateSrvConf(ngx_conf_t* cf) {
  auto* cu = static_cast<CutoverUpstream*>(ngx_pcalloc(cf->pool, sizeof(CutoverUpstream)));
  if (cu == nullptr) return nullptr;
  cu->failover = NGX_CONF_UNSET;
  return cu;
}

void* CreateLocConf(ngx_conf_t* cf) {
  auto* hc = static_cast<HeaderConf*>(ngx_pcalloc(cf->pool, sizeof(HeaderConf)));
  if (hc == nullptr) return nullptr;
  hc->enabled = NGX_CONF_UNSET;
  return hc;
}

char* MergeLocConf(ngx_conf_t* cf, void* parent, void* child) {
  auto* prev = static_cast<HeaderConf*>(parent);
  auto* conf = static_cast<HeaderConf*>(child);
  if (conf->enabled == NGX_CONF_UNSET) {
    if (prev->enabled == NGX_CONF_UNSET) {
      conf->enabled = 1;
      ngx_str_set(&conf->name, "X-Backend-Server");
      conf->value = nullptr;
    } else {
      conf->enabled = prev->enabled;
      conf->name = prev->name;
      conf->value = prev->value;
    }
  }
  if (conf->enabled) {
    conf->lowcase_name = static_cast<u_char*>(ngx_pnalloc(cf->pool, conf->name.len));
    if (conf->lowcase_name == nullptr) return ConfError();
    conf->hash = ngx_hash_strlow(conf->lowcase_name, conf->name.data, conf->name.len);
  }
  return NGX_CONF_OK;
}

ngx_http_variable_t kVariables[] = {
    {ngx_string("cutover_slot"), nullptr, ngx_http_cutover_variable,
     static_cast<uintptr_t>(Variable::kSlot), NGX_HTTP_VAR_NOCACHEABLE, 0},
    {ngx_string("cutover_weight"), nullptr, ngx_http_cutover_variable,
     static_cast<uintptr_t>(Variable::kWeight), NGX_HTTP_VAR_NOCACHEABLE, 0},
    {ngx_string("cutover_epoch"), nullptr, ngx_http_cutover_variable,
     static_cast<uintptr_t>(Variable::kEpoch), NGX_HTTP_VAR_NOCACHEABLE, 0},
};

ngx_int_t Preconfiguration(ngx_conf_t* cf) {
  for (auto& v : kVariables) {
    ngx_http_variable_t* var = ngx_http_add_variable(cf, &v.name, v.flags);
    if (var == nullptr) return NGX_ERROR;
    var->get_handler = v.get_handler;
    var->data = v.data;
  }
  return NGX_OK;
}

ngx_int_t Postconfiguration(ngx_conf_t* cf) {
  auto* cmcf = static_cast<ngx_http_core_main_conf_t*>(
      ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
  auto* h =
      static_cast<ngx_http_handler_pt*>(ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers));
  if (h == nullptr) return NGX_ERROR;
  *h = ngx_http_cutover_log_handler;
  ngx_http_next_header_filter = ngx_http_top_header_filter;
  ngx_http_top_header_filter = ngx_http_cutover_header_filter;
  return NGX_OK;
}

ngx_command_t kCommands[] = {
    {ngx_string("cutover_state_file"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, StateFileDirective,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("cutover"), NGX_HTTP_UPS_CONF | NGX_CONF_1MORE, CutoverDirective,
     NGX_HTTP_SRV_CONF_OFFSET, 0, nullptr},
    {ngx_string("cutover_header"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE12, HeaderDirective,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("cutover_status"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, StatusDirective,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    ngx_null_command};

ngx_http_module_t kModuleCtx = {
    Preconfiguration, Postconfiguration, CreateMainConf, InitMainConf,
    CreateSrvConf,    nullptr,           CreateLocConf,  MergeLocConf,
};

}  // namespace

extern "C" {
ngx_module_t ngx_http_cutover_module = {NGX_MODULE_V1,
                                        &kModuleCtx,
                                        kCommands,
                                        NGX_HTTP_MODULE,
                                        nullptr,                       // init master
                                        ngx_http_cutover_init_module,  // init module
                                        nullptr,                       // init process
                                        nullptr,                       // init thread
                                        nullptr,                       // exit thread
                                        nullptr,                       // exit process
                                        nullptr,                       // exit master
                                        NGX_MODULE_V1_PADDING};
}

// ngx_http_cutover_module: what the module's files share. The module tables
// are in ngx_http_cutover_module.cpp; each other file is one nginx job:
//
//   ngx_http_cutover_upstream.cpp  the `cutover` directive and init_upstream (config time)
//   ngx_http_cutover_balancer.cpp  init_peer and the peer wrappers (request time)
//   ngx_http_cutover_filter.cpp    cutover_header, the header filter, the variables
//   ngx_http_cutover_log.cpp       log-phase counting
//   ngx_http_cutover_status.cpp    cutover_status
//   ngx_http_cutover_state.cpp     cutover_state_file, the state file at init_module
//   ngx_http_cutover_guard.cpp     workers survive a state file truncated under them
//   ngx_http_cutover_split.hpp     key= bucket and interleave (pure C++, no nginx)
//   ngx_http_cutover_params.hpp    the cutover directive's parameters (pure C++, no nginx)
//
// Every function nginx calls is named ngx_http_cutover_* and runs its body
// through Guarded(): no C++ exception may unwind through nginx's C frames.
// Everything declared here has hidden visibility: the module exports only
// ngx_http_cutover_module (and the ngx_modules tables nginx's build adds).
//
// C++17, not C++20: nginx's own build (`--add-dynamic-module`) compiles .cpp
// files with $(CC) and no -std flag, which is gnu++17 for GCC 12 and
// clang 14; the CMake build pins C++17 too so both compile the same language.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string_view>

extern "C" {
extern __attribute__((visibility("default"))) ngx_module_t ngx_http_cutover_module;
}

#pragma GCC visibility push(hidden)

#include "cutover/state_layout.hpp"
#include "ngx_http_cutover_split.hpp"

namespace cutover::module {

namespace cs = cutover::state;
using cs::Slot;

inline constexpr std::size_t kSlots = cs::kSlotCount;

inline std::size_t Index(Slot s) { return static_cast<std::size_t>(s); }

// Runs f, turning any escaping exception into an [alert] and a fallback
// value.
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

inline char* ConfError() { return static_cast<char*>(NGX_CONF_ERROR); }

inline std::string_view View(const ngx_str_t& s) {
  return std::string_view(reinterpret_cast<const char*>(s.data), s.len);
}

std::uint64_t MonotonicUs();
std::uint64_t UnixMs();

// ---------------------------------------------------------------------------
// Configuration (built at config time, read-only at request time except
// the per-worker fields marked so)

// One slot of a cutover upstream: the `upstream` block it names, and the
// state-file peer index of each of that block's addresses.
struct SlotUpstream {
  ngx_str_t name;
  ngx_http_upstream_srv_conf_t* uscf;
  ngx_str_t* peer_names;  // address text, as the balancer sets pc->name
  ngx_int_t* peer_index;  // into Record::peers, -1 when the table was full
  bool* peer_down;        // marked `down` in the upstream block
  ngx_uint_t npeers;
};

// The module's srv conf of an `upstream` block; `enabled` for the blocks
// that hold a `cutover` directive.
struct CutoverUpstream {
  ngx_flag_t enabled;
  ngx_str_t name;
  ngx_http_upstream_srv_conf_t* uscf;  // the cutover's own upstream block
  SlotUpstream slot[kSlots];
  ngx_uint_t initial_weight_bp;
  ngx_http_complex_value_t* key;
  ngx_http_complex_value_t* force;
  ngx_flag_t failover;
  u_char* file_name;
  ngx_uint_t line;

  cs::Record* record;  // bound in init_module

  // Per worker from here on: each worker owns its copy after fork.
  Interleave interleave;
  std::uint64_t interleave_epoch;
  std::uint64_t last_control;  // the control word as this worker last read it
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

// Compiles a directive argument that may hold variables.
bool CompileValue(ngx_conf_t* cf, ngx_str_t* source, ngx_http_complex_value_t** out);

// ---------------------------------------------------------------------------
// Per request

// What the slot's own balancer installed in u->peer, kept while ours stand
// in front of it.
struct SlotPeerState {
  void* data;
  ngx_event_get_peer_pt get;
  ngx_event_free_peer_pt free;
  ngx_event_notify_peer_pt notify;
#if (NGX_HTTP_SSL)
  ngx_event_set_peer_session_pt set_session;
  ngx_event_save_peer_session_pt save_session;
#endif
  ngx_uint_t tries;  // left to this slot, the attempt in flight included
  bool initialized;
  bool estimated;  // not initialized, `tries` estimated from the block
  bool no_live;    // this pass found no live (admitted) peer in the slot
};

using ngx_http_cutover_upstream_handler_pt = ngx_int_t (*)(ngx_http_request_t* r);

// One pass of a request through a cutover upstream (a request, a
// subrequest, or a re-pass after error_page).
struct RequestState {
  RequestState* next_free;
  MainConf* owner;
  CutoverUpstream* conf;
  ngx_http_request_t* r;
  SlotPeerState slots[kSlots];
  Slot decided;  // chosen for the pass: force=, an earlier pass's choice, key= or the interleave
  Slot slot;     // of the last attempt (`decided` until one is made): what the pass is booked on
  bool forced;   // decided by force=
  std::uint32_t weight_bp;
  std::uint64_t epoch;
  ngx_int_t peer;  // Record::peers index of the last attempt, -1 none
  ngx_uint_t attempts;
  ngx_uint_t tries_told;                // u->peer.tries as free left it
  std::uint64_t start_us;               // first attempt's start
  std::uint64_t slot_start_us[kSlots];  // first attempt's start on each slot
  std::uint64_t header_us;              // the last attempt's response header, 0 when none came
  std::uint64_t end_us;                 // the last attempt's end
  ngx_uint_t method;                    // of the request, kept for counting after it is gone
  ngx_uint_t upstream_status;           // of the last attempt's response, 0 when none came
  // The upstream module's own (proxy, fastcgi, grpc...), wrapped to see the
  // response header arrive.
  ngx_http_cutover_upstream_handler_pt process_header;
  ngx_http_cutover_upstream_handler_pt reinit_request;
  bool waiting;  // the last attempt waits for its response header
  bool counted;
};

inline std::size_t Shard() { return ngx_worker % cs::kShards; }

inline cs::SlotCounters& SlotCountersOf(cs::Record* rec, Slot slot) {
  return rec->slots[Index(slot)][Shard()];
}

inline void Add(std::atomic<std::uint64_t>& c, std::uint64_t v = 1) {
  c.fetch_add(v, std::memory_order_relaxed);
}

// The request's balancer state, or nullptr when it did not go through a
// cutover upstream (ngx_http_cutover_balancer.cpp).
RequestState* StateOf(ngx_http_request_t* r);

// Adds one pass of a request through the cutover to its slot's and peer's
// counters (ngx_http_cutover_log.cpp).
void CountOutcome(RequestState* st, ngx_uint_t status);

}  // namespace cutover::module

// ---------------------------------------------------------------------------
// The callbacks one file hands to another (the rest are static in theirs).
// Each runs its body in Guarded().

char* ngx_http_cutover(ngx_conf_t* cf, ngx_command_t* cmd, void* conf);  // _upstream.cpp
ngx_int_t ngx_http_cutover_init_peer(ngx_http_request_t* r,
                                     ngx_http_upstream_srv_conf_t* us);             // _balancer.cpp
char* ngx_http_cutover_header(ngx_conf_t* cf, ngx_command_t* cmd, void* conf);      // _filter.cpp
ngx_int_t ngx_http_cutover_add_variables(ngx_conf_t* cf);                           // _filter.cpp
ngx_int_t ngx_http_cutover_header_filter_init(ngx_conf_t* cf);                      // _filter.cpp
ngx_int_t ngx_http_cutover_log_init(ngx_conf_t* cf);                                // _log.cpp
char* ngx_http_cutover_status(ngx_conf_t* cf, ngx_command_t* cmd, void* conf);      // _status.cpp
char* ngx_http_cutover_state_file(ngx_conf_t* cf, ngx_command_t* cmd, void* conf);  // _state.cpp
ngx_int_t ngx_http_cutover_init_module(ngx_cycle_t* cycle);                         // _state.cpp
ngx_int_t ngx_http_cutover_init_process(ngx_cycle_t* cycle);                        // _guard.cpp
void ngx_http_cutover_exit_process(ngx_cycle_t* cycle);                             // _guard.cpp

namespace cutover::module {
// The control word of `cu`, read for a request: remembered for the SIGBUS
// guard, and a pending [alert] of the guard logged (ngx_http_cutover_guard.cpp).
std::uint64_t ReadControl(ngx_http_request_t* r, CutoverUpstream* cu);
}  // namespace cutover::module

#pragma GCC visibility pop

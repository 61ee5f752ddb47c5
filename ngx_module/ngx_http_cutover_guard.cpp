// Workers survive a state file truncated (or copied over) under them.
//
// The file is a shared mapping: when its pages are cut off (`truncate`,
// `cp` over it, an editor saving in place), the next access raises SIGBUS,
// which would kill every worker, and every respawned one, until a reload.
// Each worker installs a SIGBUS handler over the mapping: a fault inside it
// maps private anonymous pages over the rest of the mapping, writes back
// the control words this worker last read (traffic goes on at a frozen
// weight), and the faulting access is retried. The worker's counters go to
// memory no reader sees; an [alert] at the next request says so. A fault
// anywhere else is left to the handler that was there before.
//
// The fix for operators is documented: replace the file by rename, never in
// place; a reload then maps whatever is at the path again.

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ngx_http_cutover_module.h"

using namespace cutover::module;

namespace {

// Per worker, set at init_process (after fork): the current cycle's
// mapping and cutovers, valid for the worker's life.
struct Guard {
  char* base;
  std::size_t size;
  CutoverUpstream** upstreams;
  ngx_uint_t count;
  const ngx_str_t* path;
  struct sigaction previous;
  bool installed;
};

Guard guard;
volatile sig_atomic_t faulted;       // set by the handler
volatile sig_atomic_t alert_logged;  // the [alert] for it, once per worker

void ngx_http_cutover_sigbus(int sig, siginfo_t* info, void* context) {
  char* addr = static_cast<char*>(info->si_addr);
  if (guard.base != nullptr && addr >= guard.base && addr < guard.base + guard.size) {
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    char* from = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(addr) & ~(page - 1));
    const std::size_t length = static_cast<std::size_t>(guard.base + guard.size - from);
    if (mmap(from, length, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0) != MAP_FAILED) {
      for (ngx_uint_t i = 0; i < guard.count; ++i) {
        CutoverUpstream* cu = guard.upstreams[i];
        auto* word = reinterpret_cast<char*>(&cu->record->control.word);
        if (word >= from && word < guard.base + guard.size)
          cu->record->control.word.store(cu->last_control, std::memory_order_relaxed);
      }
      faulted = 1;
      return;  // the access that faulted runs again, on the private pages
    }
  }
  // Not ours (or no memory to replace it): what was there before.
  if (guard.previous.sa_flags & SA_SIGINFO) {
    guard.previous.sa_sigaction(sig, info, context);
    return;
  }
  if (guard.previous.sa_handler != SIG_DFL && guard.previous.sa_handler != SIG_IGN) {
    guard.previous.sa_handler(sig);
    return;
  }
  signal(SIGBUS, SIG_DFL);  // the access faults again and the default action follows
}

void Install(ngx_cycle_t* cycle) {
  auto* mcf =
      static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cutover_module));
  if (mcf == nullptr || mcf->upstreams.nelts == 0 || mcf->mapping.base == nullptr) return;
  guard.base = static_cast<char*>(mcf->mapping.base);
  guard.size = mcf->mapping.size;
  guard.upstreams = static_cast<CutoverUpstream**>(mcf->upstreams.elts);
  guard.count = mcf->upstreams.nelts;
  guard.path = &mcf->state_file;
  struct sigaction sa;
  ngx_memzero(&sa, sizeof(sa));
  sa.sa_sigaction = ngx_http_cutover_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &guard.previous) != 0) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno, "cutover: sigaction(SIGBUS) failed");
    guard.base = nullptr;
    return;
  }
  guard.installed = true;
  // What this worker starts from, should the file be cut off before its
  // first request (a fault here is handled already).
  for (ngx_uint_t i = 0; i < guard.count; ++i)
    guard.upstreams[i]->last_control =
        guard.upstreams[i]->record->control.word.load(std::memory_order_acquire);
}

}  // namespace

ngx_int_t ngx_http_cutover_init_process(ngx_cycle_t* cycle) {
  GuardedVoid(cycle->log, [&] { Install(cycle); });
  return NGX_OK;
}

void ngx_http_cutover_exit_process(ngx_cycle_t* cycle) {
  GuardedVoid(cycle->log, [&] {
    if (guard.installed) sigaction(SIGBUS, &guard.previous, nullptr);
    guard.installed = false;
    guard.base = nullptr;
  });
}

namespace cutover::module {

std::uint64_t ReadControl(ngx_http_request_t* r, CutoverUpstream* cu) {
  const std::uint64_t word = cu->record->control.word.load(std::memory_order_acquire);
  cu->last_control = word;
  if (faulted && !alert_logged) {
    alert_logged = 1;
    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "cutover: state file \"%V\" was truncated or overwritten in place under nginx "
                  "(SIGBUS): this worker goes on at the weights it last read, frozen, and counts "
                  "where no reader sees; replace the file by rename, never in place, and reload",
                  guard.path);
  }
  return word;
}

}  // namespace cutover::module

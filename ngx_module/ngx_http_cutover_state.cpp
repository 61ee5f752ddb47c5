// The state file: cutover_state_file, then at init_module (in the master,
// for a start and for each reload) the file is mapped and every cutover's
// record and peers are bound; workers inherit the mapping. A bad file is
// moved aside and replaced, never fatal; `nginx -t` only reads it.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "ngx_http_cutover_module.h"

using namespace cutover::module;

static void ngx_http_cutover_unmap_state(void* data);

static char* StateFileDirective(ngx_conf_t* cf, MainConf* mcf) {
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

char* ngx_http_cutover_state_file(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) {
  return Guarded(cf->log, ConfError(),
                 [&] { return StateFileDirective(cf, static_cast<MainConf*>(conf)); });
}

static void ngx_http_cutover_unmap_state(void* data) {
  GuardedVoid(ngx_cycle->log, [&] {
    auto* m = static_cast<StateMapping*>(data);
    if (m->base != nullptr && m->base != MAP_FAILED) munmap(m->base, m->size);
    m->base = nullptr;
  });
}
// Why a file at `path` is unusable, or nullptr when it is usable; reads
// only. `*exists` tells whether there is a file at all.
static const char* InspectStateFile(const char* path, bool* exists) {
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
static void* MapExisting(const char* path) {
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
static void* CreateStateFile(ngx_cycle_t* cycle, const char* path) {
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

static void Quarantine(ngx_cycle_t* cycle, const char* path, const char* why) {
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
static void* AnonymousState(bool shared) {
  void* base = mmap(nullptr, cs::kFileSize, PROT_READ | PROT_WRITE,
                    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  cs::InitializeFile(base, UnixMs());
  return base;
}

static void* MapStateFile(ngx_cycle_t* cycle, const char* path) {
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

static void BindPeers(ngx_cycle_t* cycle, CutoverUpstream* cu, std::uint64_t now,
                      std::uint64_t start) {
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

static ngx_int_t BindRecords(ngx_cycle_t* cycle, MainConf* mcf) {
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

static ngx_int_t InitModule(ngx_cycle_t* cycle) {
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
  // This module maintains revision 1 (an existing file may come from an
  // older module): say so, for the agent. Not under `nginx -t`, which binds
  // in scratch memory.
  static_cast<cs::FileHeader*>(base)->revision.store(cs::kLayoutRevision,
                                                     std::memory_order_release);
  mcf->mapping.base = base;
  mcf->mapping.size = cs::kFileSize;
  ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(cycle->pool, 0);
  if (cln == nullptr) {
    ngx_http_cutover_unmap_state(&mcf->mapping);
    return NGX_ERROR;
  }
  cln->handler = ngx_http_cutover_unmap_state;
  cln->data = &mcf->mapping;
  return BindRecords(cycle, mcf);
}

ngx_int_t ngx_http_cutover_init_module(ngx_cycle_t* cycle) {
  return Guarded(cycle->log, static_cast<ngx_int_t>(NGX_ERROR), [&] { return InitModule(cycle); });
}

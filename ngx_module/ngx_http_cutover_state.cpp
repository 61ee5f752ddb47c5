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
// What is at the state file's path. A file that cannot be used for what it
// holds (foreign, truncated, damaged header, not a regular file, not
// openable) is `kBad` and gets moved aside; one that cannot be examined for
// want of memory or descriptors is `kUnavailable` and is left alone.
struct Inspection {
  enum Kind { kAbsent, kUsable, kBad, kUnavailable } kind;
  const char* why;
  struct stat st;
};

static bool ResourceShortage(int err) {
  return err == ENOMEM || err == EAGAIN || err == EMFILE || err == ENFILE || err == EINTR;
}

static Inspection InspectStateFile(const char* path) {
  Inspection in{Inspection::kUsable, nullptr, {}};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return {Inspection::kAbsent, nullptr, {}};
    return {ResourceShortage(err) ? Inspection::kUnavailable : Inspection::kBad,
            "cannot be opened",
            {}};
  }
  auto bad = [&](Inspection::Kind kind, const char* why) {
    in.kind = kind;
    in.why = why;
  };
  if (fstat(fd, &in.st) != 0) {
    bad(Inspection::kUnavailable, "cannot be examined");
  } else if (!S_ISREG(in.st.st_mode)) {
    bad(Inspection::kBad, "not a regular file");
  } else if (static_cast<std::size_t>(in.st.st_size) < cs::kHeaderSize) {
    bad(Inspection::kBad, "truncated: shorter than the header");
  } else {
    const auto size = static_cast<std::size_t>(in.st.st_size);
    void* base = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      bad(ResourceShortage(errno) ? Inspection::kUnavailable : Inspection::kBad,
          "cannot be mapped");
    } else {
      if (const char* why = cs::ValidateFile(base, size)) bad(Inspection::kBad, why);
      munmap(base, size);
    }
  }
  close(fd);
  return in;
}

// Maps an existing valid file read-write, checking that it is still the one
// inspected (same inode, full size): nullptr otherwise.
static void* MapExisting(const char* path, const struct stat& inspected) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st;
  void* base = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_dev == inspected.st_dev && st.st_ino == inspected.st_ino &&
      static_cast<std::size_t>(st.st_size) == cs::kFileSize)
    base = mmap(nullptr, cs::kFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
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

// The file this process mapped last (plain values: they outlive a cycle).
static dev_t last_dev;
static ino_t last_ino;

static void* MapStateFile(ngx_cycle_t* cycle, const char* path) {
  const Inspection in = InspectStateFile(path);
  if (in.kind == Inspection::kUnavailable) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                  "cutover: state file \"%s\" %s: left as it is; weights and counters live in "
                  "memory only until a reload can map it",
                  path, in.why);
    return AnonymousState(true);
  }
  if (in.kind == Inspection::kBad) Quarantine(cycle, path, in.why);
  if (in.kind == Inspection::kUsable) {
    if (void* base = MapExisting(path, in.st)) {
      if (last_ino != 0 && (in.st.st_dev != last_dev || in.st.st_ino != last_ino))
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "cutover: state file \"%s\" was replaced: mapping the new one", path);
      last_dev = in.st.st_dev;
      last_ino = in.st.st_ino;
      return base;
    }
    const int err = ngx_errno;
    if (ResourceShortage(err)) {
      ngx_log_error(NGX_LOG_ALERT, cycle->log, err,
                    "cutover: state file \"%s\" cannot be mapped: left as it is; weights and "
                    "counters live in memory only until a reload can map it",
                    path);
      return AnonymousState(true);
    }
    Quarantine(cycle, path, "changed while it was opened");
  }
  if (void* base = CreateStateFile(cycle, path)) {
    struct stat st;
    if (stat(path, &st) == 0) {
      last_dev = st.st_dev;
      last_ino = st.st_ino;
    }
    return base;
  }
  ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                "cutover: no state file at \"%s\": weights and counters live in memory only and "
                "no agent can see them",
                path);
  return AnonymousState(true);
}

// Claims records in two passes: every cutover of this configuration first
// finds its own record, and only then do new ones claim free (or retire
// unconfigured) records, so a new name can never take the record of a
// cutover that is merely listed after it. Peers likewise, per record.
static void BindPeers(ngx_cycle_t* cycle, CutoverUpstream* cu, std::uint64_t now,
                      std::uint64_t start) {
  for (std::size_t s = 0; s < kSlots; ++s) {
    SlotUpstream& su = cu->slot[s];
    for (ngx_uint_t i = 0; i < su.npeers; ++i) {
      su.peer_index[i] = cs::FindPeer(cu->record, static_cast<Slot>(s), View(su.peer_names[i]));
      if (su.peer_index[i] >= 0) cu->record->peers[su.peer_index[i]].bound_unix_ms = now;
    }
  }
  for (std::size_t s = 0; s < kSlots; ++s) {
    SlotUpstream& su = cu->slot[s];
    for (ngx_uint_t i = 0; i < su.npeers; ++i) {
      if (su.peer_index[i] >= 0) continue;
      su.peer_index[i] =
          cs::FindOrClaimPeer(cu->record, static_cast<Slot>(s), View(su.peer_names[i]), now, start);
      if (su.peer_index[i] < 0)
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "cutover: the state file has room for %uD peers per cutover: peer \"%V\" "
                      "of upstream \"%V\" is counted with its slot only",
                      cs::kMaxPeers, &su.peer_names[i], &cu->name);
    }
  }
}

static CutoverUpstream* Configured(MainConf* mcf, std::string_view name) {
  auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);
  for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i)
    if (View(ups[i]->name) == name) return ups[i];
  return nullptr;
}

// The record, not the file, is the unit of damage: each damaged record is
// repaired alone, with an [alert] naming it.
static void RepairRecords(ngx_cycle_t* cycle, MainConf* mcf) {
  for (std::size_t i = 0; i < cs::kMaxRecords; ++i) {
    cs::Record* r = cs::RecordAt(mcf->mapping.base, i);
    if (cs::RecordDamage(*r) == nullptr) continue;
    const std::string_view name = cs::FixedString(r->name, cs::kNameSize);
    const CutoverUpstream* cu = Configured(mcf, name);
    const auto weight = static_cast<std::uint32_t>(cu ? cu->initial_weight_bp : 0);
    const char* why = cs::RepairRecord(r, weight);
    ngx_str_t shown = {name.size(), reinterpret_cast<u_char*>(const_cast<char*>(name.data()))};
    ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                  "cutover: record %uz (\"%V\") of state file \"%V\" is damaged (%s): %s", i,
                  &shown, &mcf->state_file, why,
                  r->state.load() == cs::kRecordLive ? "its weight is reset to the configuration's"
                                                     : "it is freed");
  }
}

// Last resort when neither the file nor memory for a private record can be
// had: every cutover without one shares this record (balanced, not
// observable), so init_module never fails (nginx exits when it does during a
// reload).
static cs::Record last_resort_record;

static void BindPrivate(ngx_cycle_t* cycle, CutoverUpstream* cu) {
  void* scratch = ngx_pmemalign(cycle->pool, cs::kHeaderSize + cs::kRecordSize, 4096);
  if (scratch != nullptr) {
    ngx_memzero(scratch, cs::kHeaderSize + cs::kRecordSize);
    cu->record = cs::RecordAt(scratch, 0);
  } else {
    cu->record = &last_resort_record;
  }
  cu->record->control.word.store(
      cs::Control{static_cast<std::uint32_t>(cu->initial_weight_bp), 1}.Pack());
}

static void BindRecords(ngx_cycle_t* cycle, MainConf* mcf) {
  void* base = mcf->mapping.base;
  const std::uint64_t start = UnixMs();
  auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);
  const ngx_uint_t n = mcf->upstreams.nelts;
  RepairRecords(cycle, mcf);
  for (ngx_uint_t i = 0; i < n; ++i) {
    ups[i]->record = cs::FindRecord(base, View(ups[i]->name));
    if (ups[i]->record != nullptr) ups[i]->record->bound_unix_ms = start;
  }
  for (ngx_uint_t i = 0; i < n; ++i) {
    CutoverUpstream* cu = ups[i];
    const std::uint64_t now = UnixMs();
    auto claim = [&] {
      return cs::FindOrClaimRecord(base, View(cu->name), View(cu->slot[0].name),
                                   View(cu->slot[1].name),
                                   static_cast<std::uint32_t>(cu->initial_weight_bp), now);
    };
    const bool found = cu->record != nullptr;
    cu->record = claim();  // the found one: slot names follow the configuration
    if (cu->record == nullptr && !found && cs::RetireOldestRecord(base, start)) {
      ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                    "cutover: state file full: reusing the record least recently configured");
      cu->record = claim();
    }
    if (cu->record == nullptr) {
      // More cutover upstreams in this configuration than records: this
      // one runs on a private record, still balanced, not observable.
      ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                    "cutover: no room for upstream \"%V\" in the state file (%uD records)",
                    &cu->name, cs::kMaxRecords);
      BindPrivate(cycle, cu);
    }
    BindPeers(cycle, cu, now, start);
    cu->interleave.Reset();
    cu->interleave_epoch = 0;
  }
}

static void InitModule(ngx_cycle_t* cycle, MainConf* mcf) {
  const char* path = reinterpret_cast<const char*>(mcf->state_file.data);
  void* base;
  if (ngx_test_config) {
    // `nginx -t` must leave a live file alone: say what a start would do,
    // and bind the records in private scratch memory.
    if (const Inspection in = InspectStateFile(path); in.kind == Inspection::kBad)
      ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                    "cutover: state file \"%s\" is unusable (%s): nginx will move it aside when "
                    "it starts",
                    path, in.why);
    base = AnonymousState(false);
  } else {
    base = MapStateFile(cycle, path);
  }
  ngx_pool_cleanup_t* cln = base ? ngx_pool_cleanup_add(cycle->pool, 0) : nullptr;
  if (cln == nullptr) {
    ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                  "cutover: no memory for the state of %ui cutover upstreams: each runs on a "
                  "private record at its configured weight",
                  mcf->upstreams.nelts);
    if (base != nullptr) munmap(base, cs::kFileSize);
    auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);
    for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i) BindPrivate(cycle, ups[i]);
    return;
  }
  // This module maintains revision 1 (an existing file may come from an
  // older module): say so, for the agent.
  static_cast<cs::FileHeader*>(base)->revision.store(cs::kLayoutRevision,
                                                     std::memory_order_release);
  mcf->mapping.base = base;
  mcf->mapping.size = cs::kFileSize;
  cln->handler = ngx_http_cutover_unmap_state;
  cln->data = &mcf->mapping;
  BindRecords(cycle, mcf);
}

// Never NGX_ERROR: nginx exits when init_module fails during a reload. What
// cannot be had is said in an [alert] and replaced by something that still
// balances.
ngx_int_t ngx_http_cutover_init_module(ngx_cycle_t* cycle) {
  auto* mcf =
      static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_cutover_module));
  if (mcf == nullptr || mcf->upstreams.nelts == 0) return NGX_OK;
  GuardedVoid(cycle->log, [&] { InitModule(cycle, mcf); });
  auto** ups = static_cast<CutoverUpstream**>(mcf->upstreams.elts);
  for (ngx_uint_t i = 0; i < mcf->upstreams.nelts; ++i)
    if (ups[i]->record == nullptr) GuardedVoid(cycle->log, [&] { BindPrivate(cycle, ups[i]); });
  return NGX_OK;
}

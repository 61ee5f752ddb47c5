// The cutover state file: the one contract between the nginx module and
// everything that reads or steers it (cutover-agent, cutoverctl, tests).
//
// Modelled on Aeron's counters file: fixed geometry, fixed-width fields,
// every hot field on a cache line of its own, and a ready flag that the
// creator writes last with release ordering so that a reader which sees
// ready == 1 sees the whole header.
//
// This header is deliberately C++17 and exception free: the module includes
// it from code that runs inside nginx, where nothing may throw.
//
//  File (kFileSize bytes, created 0660):
//  +--------------------------------------------------------------+ 0
//  | FileHeader                                       (4096 bytes) |
//  +--------------------------------------------------------------+ 4096
//  | Record[0]                                  (kRecordSize bytes)|
//  | Record[1]                                                     |
//  | ...                                                           |
//  | Record[kMaxRecords - 1]                                       |
//  +--------------------------------------------------------------+ kFileSize
//
//  FileHeader
//  +0    u64 magic            "CUTOVRST" (kMagic)
//  +8    u32 layout_version   kLayoutVersion
//  +12   u32 header_size      4096
//  +16   u64 file_size        kFileSize
//  +24   u32 max_records      kMaxRecords
//  +28   u32 record_size      kRecordSize
//  +32   u32 max_peers        kMaxPeers (per record)
//  +36   u32 shards           kShards (writer shards per counter block)
//  +40   u32 latency_buckets  kLatencyBuckets
//  +44   u32 revision         atomic; kLayoutRevision of the module writing the
//                             file (0: written by a module older than revisions)
//  +48   u64 created_unix_ms
//  +64   u32 ready            atomic; 1 once the file is complete (written last)
//
//  Record (one per `cutover` upstream, keyed by the upstream's name)
//  +0      u32 state          atomic; 0 free, 1 live (written last on claim)
//  +8      u64 created_unix_ms
//  +16     u64 bound_unix_ms  last time an nginx configuration used the record
//  +64     u64 control        atomic; green weight (bits 0..15, basis points)
//                             | epoch (bits 16..63). Own cache line.
//  +128    char name[64]      the `cutover` upstream's name, NUL padded
//  +192    char blue[64]      blue slot's upstream name
//  +256    char green[64]     green slot's upstream name
//  +320    u32 peer_admin[kMaxPeers]  atomic; PeerAdmin of peers[i]   (rev 1)
//  +576    (reserved, zero)
//  +1024   PeerInfo peers[kMaxPeers]                 (64 bytes each)
//  +5120   SlotCounters slots[2][kShards]            (448 bytes each)
//  +19456  PeerCounters peer_counters[kMaxPeers][kShards] (64 bytes each)
//
//  SlotCounters (448 bytes)           PeerCounters (64 bytes)
//  +0    u64 scalar[kSlotScalarCount] +0   u64 value[kPeerCounterCount]
//  +80   u64 latency[kLatencyBuckets]
//  +408  u64 ext[kSlotExtCount]       (rev 1; zero in files of revision 0)
//
//  Counters are monotonic and never reset while the record lives. A worker
//  adds to shard (worker index % kShards) with relaxed fetch_add; readers add
//  the shards. Up to 16 workers, each writes cache lines of its own; past 16
//  workers, and while old and new workers overlap during a reload, two
//  workers can share a shard: the counts stay exact (atomic adds), only that
//  cache line is contended.
//
//  Revisions. Layout version 1 is extended compatibly: revision 1 gives
//  meaning to bytes that revision 0 left zero (the header's revision word,
//  SlotCounters::ext, Record::peer_admin) and moves nothing, so a reader of
//  either revision reads a file of the other. A reader that needs a
//  revision-1 field checks FileHeader::revision first (docs/architecture.md
//  says why this is not a layout 2).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cutover::state {

inline constexpr std::uint64_t kMagic = 0x545352564F545543ULL;  // "CUTOVRST" little endian
inline constexpr std::uint32_t kLayoutVersion = 1;
inline constexpr std::uint32_t kLayoutRevision = 1;
inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::size_t kHeaderSize = 4096;
inline constexpr std::uint32_t kMaxRecords = 64;
inline constexpr std::uint32_t kMaxPeers = 64;
inline constexpr std::uint32_t kShards = 16;
inline constexpr std::size_t kNameSize = 64;  // names are at most kNameSize - 1 bytes
inline constexpr std::size_t kAddressSize = 48;

inline constexpr std::uint32_t kWeightScale = 10000;  // basis points: 10000 == 100%

enum class Slot : std::uint32_t { kBlue = 0, kGreen = 1 };
inline constexpr std::size_t kSlotCount = 2;

inline constexpr const char* SlotName(Slot s) noexcept {
  return s == Slot::kBlue ? "blue" : "green";
}
inline constexpr Slot Other(Slot s) noexcept {
  return s == Slot::kBlue ? Slot::kGreen : Slot::kBlue;
}

// ---------------------------------------------------------------------------
// Latency histogram: fixed, log-spaced bucket upper bounds in microseconds,
// 100 us * 2^(i/2) for i in [0, 40), plus an overflow bucket. Half-octave
// steps keep the quantile error of interpolation under ~20% of the value at
// any scale from 100 us to ~100 s.
inline constexpr std::size_t kLatencyBounds = 40;
inline constexpr std::size_t kLatencyBuckets = kLatencyBounds + 1;  // last: > bound[39]

constexpr std::array<std::uint64_t, kLatencyBounds> MakeLatencyBounds() {
  std::array<std::uint64_t, kLatencyBounds> b{};
  // 100 * 2^(i/2): even i exact powers of two, odd i times sqrt(2) rounded.
  for (std::size_t i = 0; i < kLatencyBounds; ++i) {
    std::uint64_t base = 100ULL << (i / 2);
    b[i] = (i % 2 == 0) ? base : (base * 141421356ULL + 50000000ULL) / 100000000ULL;
  }
  return b;
}
inline constexpr std::array<std::uint64_t, kLatencyBounds> kLatencyBoundsUs = MakeLatencyBounds();

// Index of the bucket that holds a latency: the first bound >= us.
constexpr std::size_t LatencyBucket(std::uint64_t us) noexcept {
  std::size_t lo = 0, hi = kLatencyBounds;  // answer in [lo, hi]
  while (lo < hi) {
    std::size_t mid = (lo + hi) / 2;
    if (kLatencyBoundsUs[mid] >= us) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// ---------------------------------------------------------------------------
// The control word: green's weight and a change epoch in one 64-bit atomic,
// so a reader never sees a weight without the epoch that came with it.
struct Control {
  std::uint32_t weight_bp;  // green's share, 0..kWeightScale
  std::uint64_t epoch;      // bumped by every store; starts at 1

  static constexpr std::uint64_t kWeightMask = 0xFFFF;
  static constexpr unsigned kEpochShift = 16;

  // A weight field above kWeightScale (a damaged file: nothing this project
  // writes stores one) reads as kWeightScale, so no reader ever computes a
  // share above 100%; WeightInRange tells a damaged word apart.
  static constexpr Control Unpack(std::uint64_t word) noexcept {
    const auto raw = static_cast<std::uint32_t>(word & kWeightMask);
    return Control{raw > kWeightScale ? kWeightScale : raw, word >> kEpochShift};
  }
  static constexpr bool WeightInRange(std::uint64_t word) noexcept {
    return (word & kWeightMask) <= kWeightScale;
  }
  constexpr std::uint64_t Pack() const noexcept {
    return (epoch << kEpochShift) | (static_cast<std::uint64_t>(weight_bp) & kWeightMask);
  }
};

// ---------------------------------------------------------------------------
// Counter blocks. Response classes are 1xx..5xx at index 0..4.
enum SlotCounter : std::size_t {
  kRequests = 0,  // client requests finally served by this slot (the header's value)
  kResponses1xx,  // ... by the status the client got
  kResponses2xx,
  kResponses3xx,
  kResponses4xx,
  kResponses5xx,
  kFailures,      // attempts on this slot that nginx counted failed (what max_fails counts)
  kFailovers,     // requests that left this slot for the other one
  kWrites,        // unsafe-method requests (not GET/HEAD/OPTIONS/TRACE) answered 2xx
  kLatencySumUs,  // sum of upstream latencies, microseconds
  kSlotScalarCount
};

// Revision 1's slot counters, in the five u64 that revision 0 left spare
// at the end of SlotCounters.
enum SlotExtCounter : std::size_t {
  // Attempts on this slot that started waiting for the upstream's response
  // header (a peer was picked and the connection began) and, once each, that
  // stopped waiting (the header arrived, or the attempt ended without one).
  // started - ended is the attempts waiting now.
  kWaitsStarted = 0,
  kWaitsEnded,
  // Requests whose client went away (499) while this slot's upstream had not
  // sent the response header: also counted in kFailures, not in kRequests.
  kAbandoned,
  // Times a request wanted this slot and its balancer had no live peer.
  kNoLivePeer,
  // Sum of full durations (first attempt's start to the end of the upstream
  // response), microseconds; the latency histogram and kLatencySumUs are the
  // time to the response header.
  kDurationSumUs,
  kSlotExtCount
};

struct alignas(kCacheLine) SlotCounters {
  std::atomic<std::uint64_t> scalar[kSlotScalarCount];
  std::atomic<std::uint64_t> latency[kLatencyBuckets];
  std::atomic<std::uint64_t> ext[kSlotExtCount];
};

enum PeerCounter : std::size_t {
  kPeerRequests = 0,  // attempts sent to this peer
  kPeer1xx,
  kPeer2xx,
  kPeer3xx,
  kPeer4xx,
  kPeer5xx,
  kPeerFailures,
  kPeerLatencySumUs,
  kPeerCounterCount
};

struct alignas(kCacheLine) PeerCounters {
  std::atomic<std::uint64_t> value[kPeerCounterCount];
};

struct alignas(kCacheLine) PeerInfo {
  std::atomic<std::uint32_t> state;  // 0 free, 1 live (written last)
  std::uint32_t slot;                // Slot
  std::uint64_t bound_unix_ms;       // last configuration that listed it
  char address[kAddressSize];        // "127.0.0.1:8001", NUL padded
};

// An operator's per-peer state, written by the agent (`cutoverctl drain|down|up`)
// and honoured by the balancer from the next request on.
enum class PeerAdmin : std::uint32_t {
  kUp = 0,     // serves as its slot's balancer decides
  kDrain = 1,  // no new requests while any peer of its slot is up
  kDown = 2,   // never picked
};

constexpr const char* PeerAdminName(PeerAdmin a) noexcept {
  switch (a) {
    case PeerAdmin::kUp:
      return "up";
    case PeerAdmin::kDrain:
      return "drain";
    case PeerAdmin::kDown:
      return "down";
  }
  return "up";
}

// "up", "drain", "down"; false for anything else.
constexpr bool PeerAdminFromName(std::string_view name, PeerAdmin* out) noexcept {
  for (PeerAdmin a : {PeerAdmin::kUp, PeerAdmin::kDrain, PeerAdmin::kDown}) {
    if (name == PeerAdminName(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

// What a stored admin word means: anything unknown (a damaged file) is up,
// the state that changes nothing.
constexpr PeerAdmin PeerAdminOf(std::uint32_t word) noexcept {
  return word == static_cast<std::uint32_t>(PeerAdmin::kDrain)  ? PeerAdmin::kDrain
         : word == static_cast<std::uint32_t>(PeerAdmin::kDown) ? PeerAdmin::kDown
                                                                : PeerAdmin::kUp;
}

struct alignas(kCacheLine) ControlLine {
  std::atomic<std::uint64_t> word;
};

struct alignas(4096) Record {
  std::atomic<std::uint32_t> state;  // kRecordFree / kRecordLive
  std::uint32_t reserved0;
  std::uint64_t created_unix_ms;
  std::uint64_t bound_unix_ms;
  std::uint8_t pad0[kCacheLine - 24];
  ControlLine control;
  char name[kNameSize];
  char blue[kNameSize];
  char green[kNameSize];
  std::atomic<std::uint32_t> peer_admin[kMaxPeers];  // PeerAdmin of peers[i]
  std::uint8_t pad1[1024 - 320 - 4 * kMaxPeers];
  PeerInfo peers[kMaxPeers];
  SlotCounters slots[kSlotCount][kShards];
  PeerCounters peer_counters[kMaxPeers][kShards];
};

inline constexpr std::uint32_t kRecordFree = 0;
inline constexpr std::uint32_t kRecordLive = 1;
inline constexpr std::uint32_t kPeerFree = 0;
inline constexpr std::uint32_t kPeerLive = 1;

struct alignas(4096) FileHeader {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;
  std::uint64_t file_size;
  std::uint32_t max_records;
  std::uint32_t record_size;
  std::uint32_t max_peers;
  std::uint32_t shards;
  std::uint32_t latency_buckets;
  std::atomic<std::uint32_t> revision;
  std::uint64_t created_unix_ms;
  std::uint8_t pad0[8];
  std::atomic<std::uint32_t> ready;
};

inline constexpr std::size_t kRecordSize = sizeof(Record);
inline constexpr std::size_t kFileSize = kHeaderSize + kMaxRecords * kRecordSize;

// The layout is the contract: these pin it, so a change that moves a field
// fails to compile instead of silently breaking a reader of another build.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint64_t>) == 8);
static_assert(sizeof(FileHeader) == kHeaderSize);
static_assert(offsetof(FileHeader, magic) == 0);
static_assert(offsetof(FileHeader, layout_version) == 8);
static_assert(offsetof(FileHeader, file_size) == 16);
static_assert(offsetof(FileHeader, max_records) == 24);
static_assert(offsetof(FileHeader, revision) == 44);
static_assert(offsetof(FileHeader, created_unix_ms) == 48);
static_assert(offsetof(FileHeader, ready) == 64);
static_assert(sizeof(SlotCounters) == 448);
static_assert(offsetof(SlotCounters, latency) == 80);
static_assert(offsetof(SlotCounters, ext) == 408);
static_assert(sizeof(std::atomic<std::uint32_t>) == 4);
static_assert(sizeof(PeerCounters) == kCacheLine);
static_assert(sizeof(PeerInfo) == kCacheLine);
static_assert(offsetof(Record, control) == 64);
static_assert(offsetof(Record, name) == 128);
static_assert(offsetof(Record, blue) == 192);
static_assert(offsetof(Record, green) == 256);
static_assert(offsetof(Record, peer_admin) == 320);
static_assert(offsetof(Record, peers) == 1024);
static_assert(offsetof(Record, slots) == 5120);
static_assert(offsetof(Record, peer_counters) == 19456);
static_assert(kRecordSize == 86016);
static_assert(kRecordSize % 4096 == 0);
static_assert(kFileSize == 4096 + 64 * 86016);

inline Record* RecordAt(void* base, std::size_t i) noexcept {
  return reinterpret_cast<Record*>(static_cast<char*>(base) + kHeaderSize + i * kRecordSize);
}
inline const Record* RecordAt(const void* base, std::size_t i) noexcept {
  return reinterpret_cast<const Record*>(static_cast<const char*>(base) + kHeaderSize +
                                         i * kRecordSize);
}

// ---------------------------------------------------------------------------
// Shard sums: what a reader sees of a slot or a peer, the kShards shards
// added. The one place that adds shards (the module's cutover_status and
// state_file.hpp's snapshots both call these); no allocation, no exception.
struct SlotTotals {
  std::uint64_t scalar[kSlotScalarCount] = {};
  std::uint64_t latency[kLatencyBuckets] = {};
  std::uint64_t ext[kSlotExtCount] = {};
};

struct PeerTotals {
  std::uint64_t value[kPeerCounterCount] = {};
};

inline SlotTotals SumSlotShards(const Record& r, Slot slot) noexcept {
  SlotTotals t;
  for (const SlotCounters& c : r.slots[static_cast<std::size_t>(slot)]) {
    for (std::size_t k = 0; k < kSlotScalarCount; ++k)
      t.scalar[k] += c.scalar[k].load(std::memory_order_relaxed);
    for (std::size_t b = 0; b < kLatencyBuckets; ++b)
      t.latency[b] += c.latency[b].load(std::memory_order_relaxed);
    for (std::size_t k = 0; k < kSlotExtCount; ++k)
      t.ext[k] += c.ext[k].load(std::memory_order_relaxed);
  }
  return t;
}

inline PeerTotals SumPeerShards(const Record& r, std::size_t peer) noexcept {
  PeerTotals t;
  for (const PeerCounters& c : r.peer_counters[peer])
    for (std::size_t k = 0; k < kPeerCounterCount; ++k)
      t.value[k] += c.value[k].load(std::memory_order_relaxed);
  return t;
}

// ---------------------------------------------------------------------------
// Validation, shared by the module (which quarantines a bad file) and the
// readers (which refuse it). Returns nullptr when valid, else the reason.
inline const char* ValidateFile(const void* data, std::size_t size) noexcept {
  if (size < kHeaderSize) return "truncated: shorter than the header";
  const auto* h = static_cast<const FileHeader*>(data);
  if (h->magic != kMagic) return "foreign file: bad magic";
  if (h->layout_version < kLayoutVersion) return "older layout version";
  if (h->layout_version > kLayoutVersion) return "newer layout version";
  if (h->header_size != kHeaderSize || h->max_records != kMaxRecords ||
      h->record_size != kRecordSize || h->max_peers != kMaxPeers || h->shards != kShards ||
      h->latency_buckets != kLatencyBuckets)
    return "geometry does not match this layout version";
  if (h->file_size != kFileSize) return "wrong size recorded in header";
  if (size < kFileSize) return "truncated: shorter than its recorded size";
  if (size != kFileSize) return "wrong size: longer than its recorded size";
  if (h->ready.load(std::memory_order_acquire) != 1) return "not ready: creation never completed";
  return nullptr;
}

// Why one record is damaged, or nullptr. The record, not the file, is the
// unit of damage: the module repairs a damaged record at configuration load
// (with an [alert]) and leaves every other record as it is; readers skip a
// record whose state is neither free nor live and clamp a weight.
inline const char* RecordDamage(const Record& r) noexcept {
  const std::uint32_t st = r.state.load(std::memory_order_acquire);
  if (st == kRecordFree) return nullptr;
  if (st != kRecordLive) return "corrupt record state";
  if (std::memchr(r.name, 0, kNameSize) == nullptr || r.name[0] == '\0')
    return "corrupt record name";
  if (!Control::WeightInRange(r.control.word.load(std::memory_order_acquire)))
    return "weight out of range";
  return nullptr;
}

// Repairs a record that RecordDamage finds damaged and returns what was
// wrong (nullptr when nothing was). A bad state or name frees the record
// (no cutover can be matched to it); a weight out of range is replaced by
// `weight_bp` with the epoch bumped, so readers see that it changed.
inline const char* RepairRecord(Record* r, std::uint32_t weight_bp) noexcept {
  const char* why = RecordDamage(*r);
  if (why == nullptr) return nullptr;
  const std::uint64_t word = r->control.word.load(std::memory_order_acquire);
  if (r->state.load(std::memory_order_acquire) == kRecordLive &&
      Control::WeightInRange(word) == false && std::memchr(r->name, 0, kNameSize) != nullptr &&
      r->name[0] != '\0') {
    const std::uint32_t w = weight_bp > kWeightScale ? 0 : weight_bp;
    r->control.word.store(Control{w, (word >> Control::kEpochShift) + 1}.Pack(),
                          std::memory_order_release);
  } else {
    r->state.store(kRecordFree, std::memory_order_release);
  }
  return why;
}

// Writes a fresh header into zeroed memory of kFileSize bytes; ready last.
// `revision` is the layout revision the writer maintains.
inline void InitializeFile(void* data, std::uint64_t now_unix_ms,
                           std::uint32_t revision = kLayoutRevision) noexcept {
  auto* h = static_cast<FileHeader*>(data);
  h->magic = kMagic;
  h->layout_version = kLayoutVersion;
  h->header_size = kHeaderSize;
  h->file_size = kFileSize;
  h->max_records = kMaxRecords;
  h->record_size = static_cast<std::uint32_t>(kRecordSize);
  h->max_peers = kMaxPeers;
  h->shards = kShards;
  h->latency_buckets = static_cast<std::uint32_t>(kLatencyBuckets);
  h->revision.store(revision, std::memory_order_relaxed);
  h->created_unix_ms = now_unix_ms;
  h->ready.store(1, std::memory_order_release);
}

inline std::string_view FixedString(const char* s, std::size_t cap) noexcept {
  const void* nul = std::memchr(s, 0, cap);
  return std::string_view(s, nul ? static_cast<const char*>(nul) - s : cap);
}

// Copies at most cap - 1 bytes and NUL pads; false when it did not fit.
inline bool StoreFixedString(char* dst, std::size_t cap, std::string_view s) noexcept {
  if (s.size() >= cap) return false;
  std::memset(dst, 0, cap);
  std::memcpy(dst, s.data(), s.size());
  return true;
}

// ---------------------------------------------------------------------------
// Claiming records and peers. Only one writer claims (the nginx master at
// configuration time, or a test building a file): readers may run
// concurrently, so a claim fills every field first and publishes the
// state word last with release ordering.

inline Record* FindRecord(void* base, std::string_view name) noexcept {
  for (std::size_t i = 0; i < kMaxRecords; ++i) {
    Record* r = RecordAt(base, i);
    if (r->state.load(std::memory_order_acquire) == kRecordLive &&
        FixedString(r->name, kNameSize) == name)
      return r;
  }
  return nullptr;
}

// Resets a record's counters and peers to zero (a claim of a free or a
// reused record starts counting from nothing).
inline void ClearRecordCounters(Record* r) noexcept {
  for (auto& slot : r->slots)
    for (auto& shard : slot) {
      for (auto& c : shard.scalar) c.store(0, std::memory_order_relaxed);
      for (auto& c : shard.latency) c.store(0, std::memory_order_relaxed);
      for (auto& c : shard.ext) c.store(0, std::memory_order_relaxed);
    }
  for (auto& peer : r->peer_counters)
    for (auto& shard : peer)
      for (auto& c : shard.value) c.store(0, std::memory_order_relaxed);
  for (auto& p : r->peers) p.state.store(kPeerFree, std::memory_order_relaxed);
  for (auto& a : r->peer_admin) a.store(0, std::memory_order_relaxed);
}

// Finds the record named `name`, or claims a free one seeded with
// `initial_weight_bp` (epoch 1). An existing record keeps its weight and
// counters: the file wins over the configuration. Returns nullptr when
// every record is live and none is named `name`.
inline Record* FindOrClaimRecord(void* base, std::string_view name, std::string_view blue,
                                 std::string_view green, std::uint32_t initial_weight_bp,
                                 std::uint64_t now_unix_ms, bool* created = nullptr) noexcept {
  if (created) *created = false;
  if (name.empty() || name.size() >= kNameSize || blue.size() >= kNameSize ||
      green.size() >= kNameSize || initial_weight_bp > kWeightScale)
    return nullptr;
  if (Record* r = FindRecord(base, name)) {
    // Slot upstreams may be renamed in the config; the record follows.
    if (FixedString(r->blue, kNameSize) != blue) StoreFixedString(r->blue, kNameSize, blue);
    if (FixedString(r->green, kNameSize) != green) StoreFixedString(r->green, kNameSize, green);
    r->bound_unix_ms = now_unix_ms;
    return r;
  }
  for (std::size_t i = 0; i < kMaxRecords; ++i) {
    Record* r = RecordAt(base, i);
    if (r->state.load(std::memory_order_acquire) != kRecordFree) continue;
    ClearRecordCounters(r);
    StoreFixedString(r->name, kNameSize, name);
    StoreFixedString(r->blue, kNameSize, blue);
    StoreFixedString(r->green, kNameSize, green);
    r->created_unix_ms = now_unix_ms;
    r->bound_unix_ms = now_unix_ms;
    r->control.word.store(Control{initial_weight_bp, 1}.Pack(), std::memory_order_relaxed);
    r->state.store(kRecordLive, std::memory_order_release);
    if (created) *created = true;
    return r;
  }
  return nullptr;
}

// Frees the record least recently bound by a configuration, other than
// those bound at or after `keep_since_ms`; returns whether one was freed.
inline bool RetireOldestRecord(void* base, std::uint64_t keep_since_ms) noexcept {
  Record* oldest = nullptr;
  for (std::size_t i = 0; i < kMaxRecords; ++i) {
    Record* r = RecordAt(base, i);
    if (r->state.load(std::memory_order_acquire) != kRecordLive) continue;
    if (r->bound_unix_ms >= keep_since_ms) continue;
    if (oldest == nullptr || r->bound_unix_ms < oldest->bound_unix_ms) oldest = r;
  }
  if (oldest == nullptr) return false;
  oldest->state.store(kRecordFree, std::memory_order_release);
  return true;
}

// The form an address takes in PeerInfo::address: the address itself when
// it is shorter than kAddressSize, else its first kPeerKeyPrefix bytes, '~'
// and the 16 hex digits of its FNV-1a 64 hash (47 bytes in all), so that
// unix-socket paths (up to 108 bytes) are counted per peer too. Writers
// that name a peer (SetPeerState) key it the same way; readers show it.
inline constexpr std::size_t kPeerKeyPrefix = kAddressSize - 1 - 1 - 16;

struct PeerKeyText {
  char text[kAddressSize] = {};
  std::size_t size = 0;

  constexpr std::string_view view() const noexcept { return std::string_view(text, size); }
};

constexpr PeerKeyText PeerKey(std::string_view address) noexcept {
  PeerKeyText k;
  if (address.size() < kAddressSize) {
    for (char c : address) k.text[k.size++] = c;
    return k;
  }
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : address) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  for (std::size_t i = 0; i < kPeerKeyPrefix; ++i) k.text[k.size++] = address[i];
  k.text[k.size++] = '~';
  for (int shift = 60; shift >= 0; shift -= 4)
    k.text[k.size++] = "0123456789abcdef"[(h >> shift) & 0xF];
  return k;
}

// Index of the live peer (slot, address) in `r`, or -1.
inline int FindPeer(const Record* r, Slot slot, std::string_view address) noexcept {
  if (address.empty()) return -1;
  const PeerKeyText key = PeerKey(address);
  const auto slot_word = static_cast<std::uint32_t>(slot);
  for (std::uint32_t i = 0; i < kMaxPeers; ++i) {
    const PeerInfo& p = r->peers[i];
    if (p.state.load(std::memory_order_acquire) == kPeerLive && p.slot == slot_word &&
        FixedString(p.address, kAddressSize) == key.view())
      return static_cast<int>(i);
  }
  return -1;
}

// Index of the peer (slot, address) in `r`, claiming a free entry (or the
// one least recently bound before `keep_since_ms`) when it is new; -1 when
// the table is full of peers of the current configuration. A claimed peer
// starts with zero counters and admin state up.
inline int FindOrClaimPeer(Record* r, Slot slot, std::string_view address,
                           std::uint64_t now_unix_ms, std::uint64_t keep_since_ms) noexcept {
  if (address.empty()) return -1;
  if (const int found = FindPeer(r, slot, address); found >= 0) {
    r->peers[found].bound_unix_ms = now_unix_ms;
    return found;
  }
  int free_index = -1;
  int stale_index = -1;
  for (std::uint32_t i = 0; i < kMaxPeers; ++i) {
    const PeerInfo& p = r->peers[i];
    const std::uint32_t st = p.state.load(std::memory_order_acquire);
    if (st == kPeerFree && free_index < 0) free_index = static_cast<int>(i);
    if (st == kPeerLive && p.bound_unix_ms < keep_since_ms &&
        (stale_index < 0 || p.bound_unix_ms < r->peers[stale_index].bound_unix_ms))
      stale_index = static_cast<int>(i);
  }
  const int index = free_index >= 0 ? free_index : stale_index;
  if (index < 0) return -1;
  PeerInfo& p = r->peers[index];
  p.state.store(kPeerFree, std::memory_order_release);
  for (auto& shard : r->peer_counters[index])
    for (auto& c : shard.value) c.store(0, std::memory_order_relaxed);
  r->peer_admin[index].store(static_cast<std::uint32_t>(PeerAdmin::kUp), std::memory_order_relaxed);
  p.slot = static_cast<std::uint32_t>(slot);
  StoreFixedString(p.address, kAddressSize, PeerKey(address).view());
  p.bound_unix_ms = now_unix_ms;
  p.state.store(kPeerLive, std::memory_order_release);
  return index;
}

}  // namespace cutover::state

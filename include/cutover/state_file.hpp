// A reader and weight writer for the cutover state file, for the agent,
// cutoverctl and the tests. nginx creates and owns the file; this maps it
// shared, validates it with the same rules the module uses, reads
// snapshots of records and stores new weights (one atomic store each).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cutover/latency.hpp"
#include "cutover/state_layout.hpp"

namespace cutover::state {

class StateFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A slot's counters, shards added (see state_layout.hpp for what each
// counts). The revision-1 fields read 0 in a file of revision 0.
struct SlotSnapshot {
  std::uint64_t requests = 0;
  std::array<std::uint64_t, 5> responses{};  // 1xx..5xx
  std::uint64_t failures = 0;
  std::uint64_t failovers = 0;
  std::uint64_t writes = 0;
  std::uint64_t latency_sum_us = 0;  // revision 1: time to the response header
  std::array<std::uint64_t, kLatencyBuckets> latency{};
  // Revision 1:
  std::uint64_t waits_started = 0;    // attempts that began waiting for a response header
  std::uint64_t waits_ended = 0;      // ... and stopped (header, or the attempt ended)
  std::uint64_t abandoned = 0;        // 499 before this slot's response header (in failures too)
  std::uint64_t no_live_peer = 0;     // requests that found no live peer in this slot
  std::uint64_t duration_sum_us = 0;  // full durations, start to the end of the response

  std::uint64_t Responses5xx() const { return responses[4]; }
  // Attempts waiting for a response header now. The shards are read one by
  // one while workers add, so a reader may see an end before its start:
  // never below zero. A worker killed mid-attempt leaves its waits started
  // forever, so a long-run floor of this value is a leak, not a stall.
  std::uint64_t Waiting() const {
    return waits_started > waits_ended ? waits_started - waits_ended : 0;
  }
  double LatencyQuantileUs(double q) const { return state::LatencyQuantileUs(latency.data(), q); }
};

struct PeerSnapshot {
  Slot slot = Slot::kBlue;
  std::string address;
  std::uint64_t requests = 0;
  std::array<std::uint64_t, 5> responses{};
  std::uint64_t failures = 0;
  std::uint64_t latency_sum_us = 0;
  PeerAdmin admin = PeerAdmin::kUp;  // revision 1; always kUp in a file of revision 0
};

struct RecordSnapshot {
  std::uint32_t revision = 0;  // the file's FileHeader::revision when the snapshot was taken
  std::string name;
  std::string blue;
  std::string green;
  Control control{0, 0};
  std::array<SlotSnapshot, kSlotCount> slots{};
  std::vector<PeerSnapshot> peers;

  const SlotSnapshot& slot(Slot s) const { return slots[static_cast<std::size_t>(s)]; }
};

inline SlotSnapshot ReadSlot(const Record& r, Slot slot) {
  const SlotTotals t = SumSlotShards(r, slot);
  SlotSnapshot s;
  s.requests = t.scalar[kRequests];
  for (std::size_t k = 0; k < 5; ++k) s.responses[k] = t.scalar[kResponses1xx + k];
  s.failures = t.scalar[kFailures];
  s.failovers = t.scalar[kFailovers];
  s.writes = t.scalar[kWrites];
  s.latency_sum_us = t.scalar[kLatencySumUs];
  for (std::size_t b = 0; b < kLatencyBuckets; ++b) s.latency[b] = t.latency[b];
  s.waits_started = t.ext[kWaitsStarted];
  s.waits_ended = t.ext[kWaitsEnded];
  s.abandoned = t.ext[kAbandoned];
  s.no_live_peer = t.ext[kNoLivePeer];
  s.duration_sum_us = t.ext[kDurationSumUs];
  return s;
}

inline RecordSnapshot ReadRecord(const Record& r, std::uint32_t revision = 0) {
  RecordSnapshot snap;
  snap.revision = revision;
  snap.name = std::string(FixedString(r.name, kNameSize));
  snap.blue = std::string(FixedString(r.blue, kNameSize));
  snap.green = std::string(FixedString(r.green, kNameSize));
  snap.control = Control::Unpack(r.control.word.load(std::memory_order_acquire));
  snap.slots[0] = ReadSlot(r, Slot::kBlue);
  snap.slots[1] = ReadSlot(r, Slot::kGreen);
  for (std::uint32_t p = 0; p < kMaxPeers; ++p) {
    const PeerInfo& info = r.peers[p];
    if (info.state.load(std::memory_order_acquire) != kPeerLive) continue;
    const PeerTotals t = SumPeerShards(r, p);
    PeerSnapshot ps;
    ps.slot = info.slot == 1 ? Slot::kGreen : Slot::kBlue;
    ps.address = std::string(FixedString(info.address, kAddressSize));
    ps.requests = t.value[kPeerRequests];
    for (std::size_t k = 0; k < 5; ++k) ps.responses[k] = t.value[kPeer1xx + k];
    ps.failures = t.value[kPeerFailures];
    ps.latency_sum_us = t.value[kPeerLatencySumUs];
    ps.admin = PeerAdminOf(r.peer_admin[p].load(std::memory_order_acquire));
    snap.peers.push_back(std::move(ps));
  }
  return snap;
}

class StateFile {
 public:
  enum class Access { kReadOnly, kReadWrite };

  // Throws StateFileError naming the path and what is wrong with it.
  static StateFile Open(const std::string& path, Access access = Access::kReadWrite) {
    const bool rw = access == Access::kReadWrite;
    int fd = ::open(path.c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
      throw StateFileError("state file " + path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      throw StateFileError("state file " + path + ": cannot stat: " + std::strerror(e));
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size < kHeaderSize) {
      ::close(fd);
      throw StateFileError("state file " + path + ": truncated: shorter than the header");
    }
    void* base = ::mmap(nullptr, size, PROT_READ | (rw ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    ::close(fd);
    if (base == MAP_FAILED)
      throw StateFileError("state file " + path + ": cannot map: " + std::strerror(errno));
    if (const char* why = ValidateFile(base, size)) {
      ::munmap(base, size);
      throw StateFileError("state file " + path + ": " + why);
    }
    return StateFile(path, base, size, st.st_dev, st.st_ino);
  }

  // Creates a new, empty, valid file at `path` (atomically: written aside
  // and renamed). nginx creates the file in production; this is for tests
  // and tools that need one without nginx.
  static StateFile Create(const std::string& path) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
    if (fd < 0)
      throw StateFileError("state file " + tmp + ": cannot create: " + std::strerror(errno));
    if (::ftruncate(fd, static_cast<off_t>(kFileSize)) != 0) {
      int e = errno;
      ::close(fd);
      throw StateFileError("state file " + tmp + ": cannot size: " + std::strerror(e));
    }
    void* base = ::mmap(nullptr, kFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (base == MAP_FAILED)
      throw StateFileError("state file " + tmp + ": cannot map: " + std::strerror(errno));
    InitializeFile(base, 0);
    ::munmap(base, kFileSize);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw StateFileError("state file " + path + ": cannot rename: " + std::strerror(errno));
    return Open(path);
  }

  // Adds (or finds) a record the way nginx does at configuration time.
  void AddRecord(std::string_view name, std::string_view blue, std::string_view green,
                 std::uint32_t initial_weight_bp) {
    if (FindOrClaimRecord(base_, name, blue, green, initial_weight_bp, 0) == nullptr)
      throw StateFileError("cannot add record \"" + std::string(name) + "\"");
  }

  // Raw access for tests and tools that write counters like the module does.
  Record* MutableRecord(std::string_view name) { return Find(name); }

  StateFile(StateFile&& o) noexcept
      : path_(std::move(o.path_)),
        base_(std::exchange(o.base_, nullptr)),
        size_(o.size_),
        dev_(o.dev_),
        ino_(o.ino_) {}
  StateFile& operator=(StateFile&& o) noexcept {
    if (this != &o) {
      Unmap();
      path_ = std::move(o.path_);
      base_ = std::exchange(o.base_, nullptr);
      size_ = o.size_;
      dev_ = o.dev_;
      ino_ = o.ino_;
    }
    return *this;
  }
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;
  ~StateFile() { Unmap(); }

  const std::string& path() const { return path_; }

  // The layout revision of the module that writes this file (the header's
  // revision word): 0 for a module older than revisions, which maintains no
  // revision-1 counter and honours no peer state.
  std::uint32_t revision() const {
    return static_cast<const FileHeader*>(base_)->revision.load(std::memory_order_acquire);
  }

  // True when the path now names another file than the one mapped (nginx
  // quarantined and recreated it): the caller should Open() again.
  bool Replaced() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return true;
    return st.st_dev != dev_ || st.st_ino != ino_;
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < kMaxRecords; ++i) {
      const Record* r = RecordAt(base_, i);
      if (r->state.load(std::memory_order_acquire) == kRecordLive)
        names.emplace_back(FixedString(r->name, kNameSize));
    }
    return names;
  }

  std::optional<RecordSnapshot> Snapshot(std::string_view name) const {
    const Record* r = Find(name);
    if (r == nullptr) return std::nullopt;
    return ReadRecord(*r, revision());
  }

  std::vector<RecordSnapshot> SnapshotAll() const {
    std::vector<RecordSnapshot> all;
    for (std::size_t i = 0; i < kMaxRecords; ++i) {
      const Record* r = RecordAt(base_, i);
      if (r->state.load(std::memory_order_acquire) == kRecordLive)
        all.push_back(ReadRecord(*r, revision()));
    }
    return all;
  }

  std::optional<Control> ReadControl(std::string_view name) const {
    const Record* r = Find(name);
    if (r == nullptr) return std::nullopt;
    return Control::Unpack(r->control.word.load(std::memory_order_acquire));
  }

  // Sets the operator state of one peer (SetPeerState("app", kGreen,
  // "10.0.0.7:8000", kDrain)): one atomic store, honoured by every worker
  // from its next request on. `address` is as written in the slot's upstream
  // block (or the stored form a snapshot shows). Throws for an unknown
  // cutover or peer, and for a file written by a module of revision 0, which
  // would silently ignore the state.
  void SetPeerState(std::string_view cutover, Slot slot, std::string_view address,
                    PeerAdmin state) {
    if (revision() < 1)
      throw StateFileError("state file " + path_ +
                           ": the nginx module writing it predates peer states (layout revision " +
                           std::to_string(revision()) + "); upgrade it and restart nginx");
    Record* r = Find(cutover);
    if (r == nullptr) throw StateFileError("no cutover named \"" + std::string(cutover) + "\"");
    const int peer = FindPeer(r, slot, address);
    if (peer < 0)
      throw StateFileError("cutover \"" + std::string(cutover) + "\" has no " + SlotName(slot) +
                           " peer \"" + std::string(address) + "\"");
    r->peer_admin[peer].store(static_cast<std::uint32_t>(state), std::memory_order_release);
  }

  // Stores green's weight and bumps the epoch in one atomic step; returns
  // the control word now in force. Throws for an unknown name or a weight
  // above kWeightScale.
  Control StoreWeight(std::string_view name, std::uint32_t weight_bp) {
    auto result = CompareAndStoreWeight(name, std::nullopt, weight_bp);
    return *result;
  }

  // As StoreWeight, but only if the epoch is still expected_epoch (when
  // given); nullopt when another writer got there first.
  std::optional<Control> CompareAndStoreWeight(std::string_view name,
                                               std::optional<std::uint64_t> expected_epoch,
                                               std::uint32_t weight_bp) {
    if (weight_bp > kWeightScale)
      throw StateFileError("weight " + std::to_string(weight_bp) + " bp is above 10000");
    Record* r = Find(name);
    if (r == nullptr) throw StateFileError("no cutover named \"" + std::string(name) + "\"");
    std::uint64_t word = r->control.word.load(std::memory_order_acquire);
    for (;;) {
      Control cur = Control::Unpack(word);
      if (expected_epoch && cur.epoch != *expected_epoch) return std::nullopt;
      Control next{weight_bp, cur.epoch + 1};
      if (r->control.word.compare_exchange_weak(word, next.Pack(), std::memory_order_acq_rel,
                                                std::memory_order_acquire))
        return next;
    }
  }

 private:
  StateFile(std::string path, void* base, std::size_t size, dev_t dev, ino_t ino)
      : path_(std::move(path)), base_(base), size_(size), dev_(dev), ino_(ino) {}

  void Unmap() {
    if (base_ != nullptr) ::munmap(base_, size_);
    base_ = nullptr;
  }

  Record* Find(std::string_view name) const { return FindRecord(base_, name); }

  std::string path_;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace cutover::state

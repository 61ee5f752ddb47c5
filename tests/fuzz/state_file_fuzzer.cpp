// The state file as the agent and cutoverctl open it (include/cutover/):
// ValidateFile on any bytes, and StateFile::Open on a file made of them.
// The input patches a valid file (one with records and peers, made the way
// nginx makes it), so the fuzzer reaches the records rather than the magic:
//   byte 0           bit 0: the file is cut to the size that follows (u32)
//   then, repeated:  u24 offset, u8 length (at most 32), that many bytes
// A file ValidateFile accepts must be readable whole (every snapshot, every
// weight) without a crash; Open must agree with ValidateFile.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cutover/state_file.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace cutover::state;
using cutover::fuzz::Check;

namespace {

// The file's bytes, page aligned as a mapping is (the header asks for it),
// with room past kFileSize for a file longer than it should be.
constexpr std::size_t kRoom = kFileSize + 4096;
unsigned char* AlignedBuffer() {
  auto* bytes = static_cast<unsigned char*>(std::aligned_alloc(4096, kRoom));
  std::memset(bytes, 0, kRoom);
  return bytes;
}

// A file as nginx leaves it: two cutovers, a few peers, some traffic.
const unsigned char* Pristine() {
  static const unsigned char* image = [] {
    unsigned char* bytes = AlignedBuffer();
    void* base = bytes;
    InitializeFile(base, 1'700'000'000'000);
    for (const char* name : {"app", "api"}) {
      Record* r = FindOrClaimRecord(base, name, std::string(name) + "_blue",
                                    std::string(name) + "_green", 2500, 1'700'000'000'000);
      FindOrClaimPeer(r, Slot::kBlue, "10.0.0.1:8000", 1'700'000'000'000, 0);
      FindOrClaimPeer(r, Slot::kGreen, "10.0.0.2:8000", 1'700'000'000'000, 0);
      r->slots[1][3].scalar[kRequests].store(42);
      r->slots[1][3].latency[7].store(42);
    }
    return bytes;
  }();
  return image;
}

std::uint32_t Read(const std::uint8_t*& p, const std::uint8_t* end, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes && p < end; ++i) v = v << 8 | *p++;
  return v;
}

void ReadWhole(StateFile& file) {
  for (const RecordSnapshot& r : file.SnapshotAll()) {
    Check(r.control.weight_bp <= kWeightScale, "a snapshot's weight is within 0..10000");
    Check(file.ReadControl(r.name).has_value(), "a listed record can be read by name");
    for (const SlotSnapshot& s : r.slots) s.LatencyQuantileUs(0.99);
  }
  file.Names();
}

// The scratch file, mapped once: an input patches it in place and the
// patches are undone afterwards, so a run costs what Open costs.
struct Scratch {
  std::string path = "/dev/shm/cutover-fuzz-state." + std::to_string(::getpid());
  int fd = -1;
  unsigned char* bytes = nullptr;

  Scratch() {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    Check(fd >= 0 && ::ftruncate(fd, kRoom) == 0, "the scratch file is made");
    void* base = ::mmap(nullptr, kRoom, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    Check(base != MAP_FAILED, "the scratch file is mapped");
    bytes = static_cast<unsigned char*>(base);
    Resize(kFileSize);
    std::memcpy(bytes, Pristine(), kFileSize);
  }
  void Resize(std::size_t size) { Check(::ftruncate(fd, size) == 0, "the scratch file resizes"); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Scratch scratch;
  struct Patch {
    std::size_t offset, length;
  };
  std::vector<Patch> patches;
  const std::uint8_t* p = data;
  const std::uint8_t* end = data + size;
  std::size_t file_size = kFileSize;
  if (p < end && (*p++ & 1)) file_size = Read(p, end, 4) % kRoom;
  while (end - p >= 4) {
    const std::size_t offset = Read(p, end, 3) % kFileSize;
    const std::size_t length = std::min<std::size_t>(Read(p, end, 1) % 33, end - p);
    const std::size_t fits = std::min(length, kFileSize - offset);
    std::memcpy(scratch.bytes + offset, p, fits);
    patches.push_back({offset, fits});
    p += length;
  }
  if (file_size != kFileSize) scratch.Resize(file_size);
  const char* invalid = ValidateFile(scratch.bytes, file_size);
  try {
    StateFile file = StateFile::Open(scratch.path);
    Check(invalid == nullptr, "Open accepts only what ValidateFile accepts");
    Check(!file.Replaced(), "a file just opened is not replaced");
    ReadWhole(file);
  } catch (const StateFileError& e) {
    Check(invalid != nullptr, std::string("Open refuses a file ValidateFile accepts: ") + e.what());
  }
  // Back to the pristine file: the size, what a cut zeroed, the patches.
  const unsigned char* pristine = Pristine();
  if (file_size != kFileSize) {
    scratch.Resize(kFileSize);
    if (file_size < kFileSize)
      std::memcpy(scratch.bytes + file_size, pristine + file_size, kFileSize - file_size);
  }
  for (const Patch& patch : patches)
    std::memcpy(scratch.bytes + patch.offset, pristine + patch.offset, patch.length);
  return 0;
}

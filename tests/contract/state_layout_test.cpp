// The state-file contract: validation of bad files, record claiming, shard
// sums, latency quantiles and the reader API.
#include "cutover/state_layout.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cutover/latency.hpp"
#include "cutover/state_file.hpp"
#include "support/process.hpp"

namespace cutover::state {
namespace {

struct Buffer {
  Buffer() : bytes(new unsigned char[kFileSize + 4096]()) {
    // The file layout is page aligned when mapped; mimic that.
    base = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(bytes.get()) + 4095) &
                                   ~uintptr_t{4095});
    InitializeFile(base, 1);
  }
  FileHeader* header() { return static_cast<FileHeader*>(base); }
  std::unique_ptr<unsigned char[]> bytes;
  void* base;
};

TEST(ValidateFile, AcceptsAFreshFile) {
  Buffer b;
  EXPECT_EQ(ValidateFile(b.base, kFileSize), nullptr);
}

TEST(ValidateFile, RejectsForeignMagic) {
  Buffer b;
  b.header()->magic = 0x1234;
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "foreign file: bad magic");
}

TEST(ValidateFile, RejectsOlderAndNewerLayouts) {
  Buffer b;
  b.header()->layout_version = kLayoutVersion - 1;
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "older layout version");
  b.header()->layout_version = kLayoutVersion + 1;
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "newer layout version");
}

TEST(ValidateFile, RejectsWrongSizes) {
  Buffer b;
  EXPECT_STREQ(ValidateFile(b.base, 100), "truncated: shorter than the header");
  EXPECT_STREQ(ValidateFile(b.base, kFileSize - 4096), "truncated: shorter than its recorded size");
  EXPECT_STREQ(ValidateFile(b.base, kFileSize + 4096), "wrong size: longer than its recorded size");
  b.header()->file_size = 12;
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "wrong size recorded in header");
}

TEST(ValidateFile, RejectsOtherGeometry) {
  Buffer b;
  b.header()->shards = kShards * 2;
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "geometry does not match this layout version");
}

TEST(ValidateFile, RejectsAFileWhoseCreationNeverCompleted) {
  Buffer b;
  b.header()->ready.store(0);
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "not ready: creation never completed");
}

TEST(ValidateFile, RejectsCorruptRecords) {
  Buffer b;
  Record* r = FindOrClaimRecord(b.base, "app", "app_blue", "app_green", 500, 1);
  ASSERT_NE(r, nullptr);
  r->control.word.store(Control{20000, 3}.Pack());
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "corrupt record weight");
  r->control.word.store(Control{500, 3}.Pack());
  r->state.store(7);
  EXPECT_STREQ(ValidateFile(b.base, kFileSize), "corrupt record state");
}

TEST(Control, PacksWeightAndEpochIntoOneWord) {
  const Control c{10000, (1ULL << 47) + 5};
  const Control back = Control::Unpack(c.Pack());
  EXPECT_EQ(back.weight_bp, 10000u);
  EXPECT_EQ(back.epoch, (1ULL << 47) + 5);
}

TEST(Records, ANewRecordIsSeededAndAnExistingOneKeepsItsWeight) {
  Buffer b;
  bool created = false;
  Record* r = FindOrClaimRecord(b.base, "app", "b", "g", 2000, 1, &created);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(created);
  EXPECT_EQ(Control::Unpack(r->control.word.load()).weight_bp, 2000u);
  EXPECT_EQ(Control::Unpack(r->control.word.load()).epoch, 1u);
  r->control.word.store(Control{7300, 9}.Pack());
  r->slots[0][0].scalar[kRequests].store(42);

  Record* again = FindOrClaimRecord(b.base, "app", "b2", "g", 0, 2, &created);
  EXPECT_EQ(again, r);
  EXPECT_FALSE(created);
  EXPECT_EQ(Control::Unpack(again->control.word.load()).weight_bp, 7300u) << "the file wins";
  EXPECT_EQ(again->slots[0][0].scalar[kRequests].load(), 42u);
  EXPECT_EQ(FixedString(again->blue, kNameSize), "b2");
}

TEST(Records, AFullFileRefusesAndRetiresTheLeastRecentlyBound) {
  Buffer b;
  for (std::uint32_t i = 0; i < kMaxRecords; ++i)
    ASSERT_NE(FindOrClaimRecord(b.base, "up" + std::to_string(i), "b", "g", 0, 100 + i), nullptr);
  EXPECT_EQ(FindOrClaimRecord(b.base, "one-more", "b", "g", 0, 500), nullptr);
  EXPECT_FALSE(RetireOldestRecord(b.base, 100)) << "all bound at or after 100";
  EXPECT_TRUE(RetireOldestRecord(b.base, 500));
  EXPECT_EQ(FindRecord(b.base, "up0"), nullptr);
  Record* r = FindOrClaimRecord(b.base, "one-more", "b", "g", 100, 500);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->slots[0][0].scalar[kRequests].load(), 0u);
}

TEST(Records, RejectsNamesThatDoNotFit) {
  Buffer b;
  EXPECT_EQ(FindOrClaimRecord(b.base, std::string(kNameSize, 'x'), "b", "g", 0, 1), nullptr);
  EXPECT_EQ(FindOrClaimRecord(b.base, "", "b", "g", 0, 1), nullptr);
  EXPECT_EQ(FindOrClaimRecord(b.base, "app", "b", "g", kWeightScale + 1, 1), nullptr);
}

TEST(Peers, AreKeyedBySlotAndAddress) {
  Buffer b;
  Record* r = FindOrClaimRecord(b.base, "app", "b", "g", 0, 1);
  const int blue = FindOrClaimPeer(r, Slot::kBlue, "127.0.0.1:1", 1, 1);
  const int green = FindOrClaimPeer(r, Slot::kGreen, "127.0.0.1:1", 1, 1);
  EXPECT_GE(blue, 0);
  EXPECT_GE(green, 0);
  EXPECT_NE(blue, green);
  EXPECT_EQ(FindOrClaimPeer(r, Slot::kBlue, "127.0.0.1:1", 2, 2), blue);
}

TEST(Peers, AFullTableReusesOnlyPeersOfOlderConfigurations) {
  Buffer b;
  Record* r = FindOrClaimRecord(b.base, "app", "b", "g", 0, 1);
  for (std::uint32_t i = 0; i < kMaxPeers; ++i)
    ASSERT_GE(FindOrClaimPeer(r, Slot::kBlue, "10.0.0.1:" + std::to_string(i), 10, 10), 0);
  EXPECT_EQ(FindOrClaimPeer(r, Slot::kBlue, "10.0.0.2:1", 20, 10), -1);
  EXPECT_GE(FindOrClaimPeer(r, Slot::kBlue, "10.0.0.2:1", 20, 20), 0);
}

TEST(ShardSums, AddEveryShardOfASlotAndAPeer) {
  Buffer b;
  Record* r = FindOrClaimRecord(b.base, "app", "b", "g", 0, 1);
  ASSERT_NE(r, nullptr);
  const int peer = FindOrClaimPeer(r, Slot::kGreen, "127.0.0.1:1", 1, 1);
  ASSERT_GE(peer, 0);
  for (std::uint32_t shard = 0; shard < kShards; ++shard) {
    r->slots[1][shard].scalar[kRequests].store(shard + 1);
    r->slots[1][shard].latency[3].store(2);
    r->slots[0][shard].scalar[kRequests].store(1000);
    r->peer_counters[peer][shard].value[kPeerFailures].store(shard);
  }
  const SlotTotals green = SumSlotShards(*r, Slot::kGreen);
  EXPECT_EQ(green.scalar[kRequests], kShards * (kShards + 1) / 2);
  EXPECT_EQ(green.latency[3], 2u * kShards);
  EXPECT_EQ(green.latency[4], 0u);
  EXPECT_EQ(SumSlotShards(*r, Slot::kBlue).scalar[kRequests], 1000u * kShards);
  EXPECT_EQ(SumPeerShards(*r, peer).value[kPeerFailures], kShards * (kShards - 1) / 2);

  // The reader's snapshot is the same sum.
  const RecordSnapshot snap = ReadRecord(*r);
  EXPECT_EQ(snap.slot(Slot::kGreen).requests, green.scalar[kRequests]);
  EXPECT_EQ(snap.slot(Slot::kGreen).latency[3], green.latency[3]);
  ASSERT_EQ(snap.peers.size(), 1u);
  EXPECT_EQ(snap.peers[0].failures, kShards * (kShards - 1) / 2);
}

TEST(Latency, BucketsAreTheFirstBoundAtOrAboveTheValue) {
  EXPECT_EQ(LatencyBucket(0), 0u);
  EXPECT_EQ(LatencyBucket(100), 0u);
  EXPECT_EQ(LatencyBucket(101), 1u);
  EXPECT_EQ(LatencyBucket(141), 1u);
  EXPECT_EQ(LatencyBucket(142), 2u);
  EXPECT_EQ(LatencyBucket(kLatencyBoundsUs.back()), kLatencyBounds - 1);
  EXPECT_EQ(LatencyBucket(kLatencyBoundsUs.back() + 1), kLatencyBounds);
  for (std::size_t i = 1; i < kLatencyBounds; ++i) {
    EXPECT_GT(kLatencyBoundsUs[i], kLatencyBoundsUs[i - 1]);
    const double ratio = static_cast<double>(kLatencyBoundsUs[i]) / kLatencyBoundsUs[i - 1];
    EXPECT_NEAR(ratio, std::sqrt(2.0), 0.01);
  }
}

TEST(Latency, QuantileIsATrueQuantileNotAMean) {
  std::uint64_t counts[kLatencyBuckets] = {};
  counts[LatencyBucket(1000)] = 99;   // 99 fast requests near 1 ms
  counts[LatencyBucket(500000)] = 1;  // one slow one near 500 ms
  const double p50 = LatencyQuantileUs(counts, 0.5);
  const double p99 = LatencyQuantileUs(counts, 0.99);
  const double p100 = LatencyQuantileUs(counts, 1.0);
  EXPECT_GT(p50, 800);
  EXPECT_LE(p50, 1131);
  EXPECT_LE(p99, 1131) << "the 99th of 100 is still a fast one";
  EXPECT_GT(p100, 409600);
  EXPECT_LE(p100, 579262);
  std::uint64_t empty[kLatencyBuckets] = {};
  EXPECT_EQ(LatencyQuantileUs(empty, 0.99), 0.0);
}

TEST(StateFileApi, CreatesOpensStoresAndRefusesBadFiles) {
  test::TempDir dir;
  const std::string path = dir / "cutover.state";
  {
    StateFile f = StateFile::Create(path);
    f.AddRecord("app", "app_blue", "app_green", 100);
    const Control c = f.StoreWeight("app", 2500);
    EXPECT_EQ(c.weight_bp, 2500u);
    EXPECT_EQ(c.epoch, 2u);
    EXPECT_FALSE(f.CompareAndStoreWeight("app", 1, 3000).has_value()) << "stale epoch";
    EXPECT_EQ(f.CompareAndStoreWeight("app", 2, 3000)->epoch, 3u);
    EXPECT_THROW(f.StoreWeight("nope", 1), StateFileError);
    EXPECT_THROW(f.StoreWeight("app", kWeightScale + 1), StateFileError);
    EXPECT_FALSE(f.Replaced());
  }
  StateFile again = StateFile::Open(path, StateFile::Access::kReadOnly);
  auto snap = again.Snapshot("app");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->blue, "app_blue");
  EXPECT_EQ(snap->control.weight_bp, 3000u);

  test::WriteFile(dir / "short", "CUTOVRST");
  try {
    StateFile::Open(dir / "short");
    FAIL() << "a truncated file opened";
  } catch (const StateFileError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir / "short"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cutover::state

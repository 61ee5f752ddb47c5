// The state-file contract: validation of bad files, record claiming, shard
// sums, latency quantiles and the reader API.
#include "cutover/state_layout.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
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

TEST(RecordDamage, IsTheRecordsNotTheFilesAndRepairTouchesOnlyThatRecord) {
  Buffer b;
  Record* bad = FindOrClaimRecord(b.base, "app", "app_blue", "app_green", 500, 1);
  Record* good = FindOrClaimRecord(b.base, "other", "b", "g", 7000, 1);
  ASSERT_NE(bad, nullptr);
  ASSERT_NE(good, nullptr);
  bad->slots[1][0].scalar[kRequests].store(42);
  bad->control.word.store((Control{0, 3}.Pack() & ~Control::kWeightMask) | 20000);
  EXPECT_EQ(ValidateFile(b.base, kFileSize), nullptr) << "one record never condemns the file";
  EXPECT_STREQ(RecordDamage(*bad), "weight out of range");
  EXPECT_EQ(RecordDamage(*good), nullptr);
  // Read before the repair, the weight is clamped: never above 100%.
  EXPECT_EQ(Control::Unpack(bad->control.word.load()).weight_bp, kWeightScale);
  EXPECT_FALSE(Control::WeightInRange(bad->control.word.load()));

  EXPECT_STREQ(RepairRecord(bad, 500), "weight out of range");
  const Control repaired = Control::Unpack(bad->control.word.load());
  EXPECT_EQ(repaired.weight_bp, 500u);
  EXPECT_EQ(repaired.epoch, 4u) << "the epoch moves, so readers see the change";
  EXPECT_EQ(bad->slots[1][0].scalar[kRequests].load(), 42u) << "counters kept";
  EXPECT_EQ(RepairRecord(good, 0), nullptr);
  EXPECT_EQ(Control::Unpack(good->control.word.load()).weight_bp, 7000u);

  bad->state.store(7);
  EXPECT_STREQ(RecordDamage(*bad), "corrupt record state");
  EXPECT_STREQ(RepairRecord(bad, 500), "corrupt record state");
  EXPECT_EQ(bad->state.load(), kRecordFree) << "a record that cannot be matched is freed";
  EXPECT_EQ(FindRecord(b.base, "other"), good);
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

TEST(Peers, LongAddressesAreKeyedByPrefixAndHash) {
  Buffer b;
  Record* r = FindOrClaimRecord(b.base, "app", "b", "g", 0, 1);
  const std::string sock = "unix:/run/app/green/very/long/directory/name/backend.sock";
  const std::string sock2 = "unix:/run/app/green/very/long/directory/name/backend2.sock";
  ASSERT_GE(sock.size(), kAddressSize);
  const PeerKeyText key = PeerKey(sock);
  EXPECT_EQ(key.size, kAddressSize - 1);
  EXPECT_EQ(key.view().substr(0, kPeerKeyPrefix), sock.substr(0, kPeerKeyPrefix));
  EXPECT_EQ(key.view()[kPeerKeyPrefix], '~');
  EXPECT_NE(PeerKey(sock2).view(), key.view()) << "same prefix, different hash";
  EXPECT_EQ(PeerKey("127.0.0.1:80").view(), "127.0.0.1:80");
  EXPECT_EQ(PeerKey(key.view()).view(), key.view()) << "the stored form names the peer too";

  const int a = FindOrClaimPeer(r, Slot::kGreen, sock, 1, 1);
  const int c = FindOrClaimPeer(r, Slot::kGreen, sock2, 1, 1);
  ASSERT_GE(a, 0);
  ASSERT_GE(c, 0);
  EXPECT_NE(a, c);
  EXPECT_EQ(FindPeer(r, Slot::kGreen, sock), a);
  EXPECT_EQ(FindPeer(r, Slot::kGreen, key.view()), a);
  EXPECT_EQ(FindPeer(r, Slot::kBlue, sock), -1);
}

TEST(Peers, AReclaimedEntryStartsUpWithZeroCounters) {
  Buffer b;
  Record* r = FindOrClaimRecord(b.base, "app", "b", "g", 0, 1);
  for (std::uint32_t i = 0; i < kMaxPeers; ++i)
    ASSERT_GE(FindOrClaimPeer(r, Slot::kBlue, "10.0.0.1:" + std::to_string(i), 10, 10), 0);
  r->peer_admin[0].store(static_cast<std::uint32_t>(PeerAdmin::kDown));
  r->peer_counters[0][3].value[kPeerRequests].store(9);
  const int fresh = FindOrClaimPeer(r, Slot::kBlue, "10.0.0.9:1", 20, 20);
  ASSERT_EQ(fresh, 0) << "the least recently bound entry";
  EXPECT_EQ(PeerAdminOf(r->peer_admin[0].load()), PeerAdmin::kUp);
  EXPECT_EQ(r->peer_counters[0][3].value[kPeerRequests].load(), 0u);
}

TEST(PeerAdmin, NamesRoundTripAndUnknownWordsMeanUp) {
  for (PeerAdmin a : {PeerAdmin::kUp, PeerAdmin::kDrain, PeerAdmin::kDown}) {
    PeerAdmin back = PeerAdmin::kUp;
    ASSERT_TRUE(PeerAdminFromName(PeerAdminName(a), &back));
    EXPECT_EQ(back, a);
  }
  PeerAdmin out = PeerAdmin::kDrain;
  EXPECT_FALSE(PeerAdminFromName("DOWN", &out));
  EXPECT_FALSE(PeerAdminFromName("", &out));
  EXPECT_EQ(PeerAdminOf(77), PeerAdmin::kUp);
}

TEST(Revision, AFreshFileIsRevisionOneAndClaimsClearTheExtension) {
  Buffer b;
  EXPECT_EQ(b.header()->revision.load(), kLayoutRevision);
  Record* r = FindOrClaimRecord(b.base, "app", "b", "g", 0, 1);
  r->slots[0][2].ext[kWaitsStarted].store(5);
  r->peer_admin[3].store(2);
  r->state.store(kRecordFree);
  Record* again = FindOrClaimRecord(b.base, "new", "b", "g", 0, 2);
  ASSERT_EQ(again, r);
  EXPECT_EQ(again->slots[0][2].ext[kWaitsStarted].load(), 0u);
  EXPECT_EQ(again->peer_admin[3].load(), 0u);
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

  // Revision 1: the extension counters, and peer states, through the API.
  {
    StateFile f = StateFile::Open(path);
    EXPECT_EQ(f.revision(), kLayoutRevision);
    Record* r = f.MutableRecord("app");
    const int peer = FindOrClaimPeer(r, Slot::kGreen, "127.0.0.1:9", 1, 1);
    ASSERT_GE(peer, 0);
    r->slots[1][0].ext[kWaitsStarted].store(10);
    r->slots[1][5].ext[kWaitsEnded].store(7);
    r->slots[1][1].ext[kAbandoned].store(2);
    r->slots[1][2].ext[kNoLivePeer].store(3);
    r->slots[1][3].ext[kDurationSumUs].store(99);
    f.SetPeerState("app", Slot::kGreen, "127.0.0.1:9", PeerAdmin::kDrain);
    EXPECT_EQ(r->peer_admin[peer].load(), static_cast<std::uint32_t>(PeerAdmin::kDrain));
    const auto snap = f.Snapshot("app");
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->revision, kLayoutRevision);
    const SlotSnapshot& g = snap->slot(Slot::kGreen);
    EXPECT_EQ(g.waits_started, 10u);
    EXPECT_EQ(g.waits_ended, 7u);
    EXPECT_EQ(g.Waiting(), 3u);
    EXPECT_EQ(g.abandoned, 2u);
    EXPECT_EQ(g.no_live_peer, 3u);
    EXPECT_EQ(g.duration_sum_us, 99u);
    ASSERT_EQ(snap->peers.size(), 1u);
    EXPECT_EQ(snap->peers[0].admin, PeerAdmin::kDrain);
    EXPECT_THROW(f.SetPeerState("app", Slot::kBlue, "127.0.0.1:9", PeerAdmin::kDown),
                 StateFileError)
        << "no such blue peer";
    EXPECT_THROW(f.SetPeerState("nope", Slot::kGreen, "127.0.0.1:9", PeerAdmin::kDown),
                 StateFileError);
  }
  {
    // A file written by a module of revision 0 reads, but refuses peer states.
    std::string bytes = test::ReadFile(path);
    std::memset(bytes.data() + offsetof(FileHeader, revision), 0, 4);
    test::WriteFile(path, bytes);
    StateFile f = StateFile::Open(path);
    EXPECT_EQ(f.revision(), 0u);
    EXPECT_TRUE(f.Snapshot("app").has_value());
    try {
      f.SetPeerState("app", Slot::kGreen, "127.0.0.1:9", PeerAdmin::kDown);
      FAIL() << "a revision-0 module would ignore the state";
    } catch (const StateFileError& e) {
      EXPECT_NE(std::string(e.what()).find("predates peer states"), std::string::npos) << e.what();
    }
  }

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

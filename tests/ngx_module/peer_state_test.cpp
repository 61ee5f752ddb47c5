// Per-peer operator states (`cutoverctl drain|down|up`), written into the
// state file through StateFile::SetPeerState as the agent does, honoured by
// a real nginx from the next request on, without a reload.
#include <gtest/gtest.h>

#include <regex>

#include "module_fixture.hpp"

namespace cutover::test {
namespace {

using state::PeerAdmin;
using state::Slot;

TEST_F(ModuleTest, ADownPeerIsNeverPickedAndComesBackWhenUp) {
  StartNginx();
  StateFile file = File();
  ASSERT_EQ(file.revision(), state::kLayoutRevision) << "nginx says it honours peer states";
  file.SetPeerState("app", Slot::kBlue, blue1_->address(), PeerAdmin::kDown);
  Tally down = Send(40);
  EXPECT_EQ(down.by_status[200], 40);
  EXPECT_EQ(down.by_backend["blue-1"], 0);
  EXPECT_EQ(down.by_backend["blue-2"], 40);
  json peers = Status()["cutovers"]["app"]["peers"];
  for (const auto& p : peers)
    if (p["address"] == blue1_->address()) {
      EXPECT_EQ(p["state"], "down");
    }

  file.SetPeerState("app", Slot::kBlue, blue1_->address(), PeerAdmin::kUp);
  Tally up = Send(40);
  EXPECT_GT(up.by_backend["blue-1"], 0);
  EXPECT_GT(up.by_backend["blue-2"], 0);
}

TEST_F(ModuleTest, ADrainingPeerTakesNoNewRequestWhileAnotherPeerOfItsSlotIsUp) {
  StartNginx();
  StateFile file = File();
  file.SetPeerState("app", Slot::kBlue, blue1_->address(), PeerAdmin::kDrain);
  Tally one = Send(40);
  EXPECT_EQ(one.by_backend["blue-1"], 0);
  EXPECT_EQ(one.by_backend["blue-2"], 40);
  // Every peer of the slot draining: draining peers serve (no up peer left).
  file.SetPeerState("app", Slot::kBlue, blue2_->address(), PeerAdmin::kDrain);
  Tally both = Send(40);
  EXPECT_EQ(both.by_status[200], 40);
  EXPECT_GT(both.by_backend["blue-1"], 0);
  EXPECT_GT(both.by_backend["blue-2"], 0);
}

TEST_F(ModuleTest, ASlotWhosePeersAreAllDownHasNoLivePeer) {
  StartNginx();
  StateFile file = File();
  file.SetPeerState("app", Slot::kBlue, blue1_->address(), PeerAdmin::kDown);
  file.SetPeerState("app", Slot::kBlue, blue2_->address(), PeerAdmin::kDrain);
  file.SetPeerState("app", Slot::kBlue, blue2_->address(), PeerAdmin::kDown);
  Tally t = Send(20);
  EXPECT_EQ(t.by_status[200], 20) << "failover=on: green takes them";
  EXPECT_EQ(t.by_slot["green"], 20);
  EXPECT_EQ(blue1_->requests() + blue2_->requests(), 0u);
  auto snap = Settled(20);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->slot(Slot::kBlue).no_live_peer, 20u);
  EXPECT_EQ(snap->slot(Slot::kBlue).failovers, 20u);
  EXPECT_EQ(snap->slot(Slot::kBlue).failures, 0u) << "nothing was attempted on blue";
}

// A cached keepalive connection to a peer taken down is not used.
TEST_F(ModuleTest, ADownPeersCachedKeepaliveConnectionIsNotUsed) {
  StartNginx({.location_extra = "proxy_http_version 1.1; proxy_set_header Connection \"\";",
              .blue_extra = "keepalive 8;"});
  Tally warm = Send(20, "GET", {}, 20);
  ASSERT_GT(warm.by_backend["blue-1"], 0);
  File().SetPeerState("app", Slot::kBlue, blue1_->address(), PeerAdmin::kDown);
  const auto before = blue1_->requests();
  Tally t = Send(40, "GET", {}, 40);
  EXPECT_EQ(t.by_status[200], 40);
  EXPECT_EQ(blue1_->requests(), before);
  EXPECT_EQ(t.by_backend["blue-2"], 40);
}

}  // namespace
}  // namespace cutover::test

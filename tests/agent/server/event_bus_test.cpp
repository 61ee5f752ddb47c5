#include "agent/server/event_bus.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace cutover::agent {
namespace {

v1::Event At(std::uint64_t sequence) {
  v1::Event e;
  e.set_sequence(sequence);
  return e;
}

TEST(EventBus, WaitAfterReturnsOnlyNewerEvents) {
  EventBus bus;
  bus.Publish(At(1));
  bus.Publish(At(2));
  auto events = bus.WaitAfter(1, std::chrono::milliseconds(0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].sequence(), 2u);
  EXPECT_EQ(bus.last_sequence(), 2u);
  EXPECT_TRUE(bus.WaitAfter(2, std::chrono::milliseconds(0)).empty());
}

TEST(EventBus, AWaiterWakesOnPublishAndOnClose) {
  EventBus bus;
  std::vector<v1::Event> got;
  std::thread waiter([&] { got = bus.WaitAfter(0, std::chrono::minutes(1)); });
  bus.Publish(At(7));
  waiter.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sequence(), 7u);

  std::thread closed([&] { got = bus.WaitAfter(7, std::chrono::minutes(1)); });
  bus.Close();
  closed.join();
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(bus.closed());
}

TEST(EventBus, KeepsABoundedTail) {
  EventBus bus;
  for (std::uint64_t i = 1; i <= EventBus::kKept + 10; ++i) bus.Publish(At(i));
  auto events = bus.WaitAfter(0, std::chrono::milliseconds(0));
  EXPECT_EQ(events.size(), EventBus::kKept);
  EXPECT_EQ(events.front().sequence(), 11u);
}

}  // namespace
}  // namespace cutover::agent

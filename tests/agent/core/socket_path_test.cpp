#include "agent/core/socket_path.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "support/process.hpp"

namespace cutover::agent {
namespace {

// Issue 15 #8: --listen unix:PATH deleted whatever PATH was, a regular file too.
TEST(FreeSocketPath, RemovesAStaleSocketAndRefusesAnythingElse) {
  test::TempDir dir("socket-path");
  const std::string file = dir / "precious.txt";
  test::WriteFile(file, "keep me\n");
  const auto refused = FreeSocketPath(file);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, file +
                          " exists and is not a socket; only a stale socket is replaced (move "
                          "it aside)");
  EXPECT_EQ(test::ReadFile(file), "keep me\n");
  EXPECT_TRUE(FreeSocketPath(dir.path()).has_value());  // a directory

  const std::string stale = dir / "run/agent.sock";
  EXPECT_EQ(FreeSocketPath(stale), std::nullopt);  // nothing there: its directory is made
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", stale.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::exists(stale));
  EXPECT_EQ(FreeSocketPath(stale), std::nullopt);
  EXPECT_FALSE(std::filesystem::exists(stale));
}

}  // namespace
}  // namespace cutover::agent

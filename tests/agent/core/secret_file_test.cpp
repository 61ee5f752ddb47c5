#include "agent/core/secret_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/process.hpp"

namespace cutover::agent {
namespace {

// Issue 15 #8: a token file every user could read was used without a word.
TEST(ReadSecretFile, WarnsWhenEveryUserMayReadTheFile) {
  test::TempDir dir("secret");
  const std::string path = dir / "token";
  test::WriteFile(path, "  s3cret\n");
  ::chmod(path.c_str(), 0640);
  std::string warning = "stale";
  EXPECT_EQ(ReadSecretFile("--token-file", path, &warning), "s3cret");
  EXPECT_EQ(warning, "");
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(ReadSecretFile("--token-file", path, &warning), "s3cret");
  EXPECT_EQ(warning,
            "--token-file: " + path + " is open to every user (mode 0644): chmod o-rw " + path);
  EXPECT_EQ(warning.find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace cutover::agent

// A GoogleTest suite that starts one PostgreSQL cluster for all its tests
// (initdb and a start cost a second or two): derive from it, use pg().
// LogicalPostgresSuite's cluster decodes its WAL (wal_level = logical), for
// replication slots.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "support/postgres.hpp"

namespace cutover::test {

template <const char* kConf>
class PostgresSuiteWith : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = std::make_unique<Postgres>(kConf); }
  static void TearDownTestSuite() { cluster_.reset(); }
  static Postgres& pg() { return *cluster_; }

 private:
  static inline std::unique_ptr<Postgres> cluster_;
};

inline constexpr char kDefaultConf[] = "";
inline constexpr char kLogicalWalConf[] =
    "wal_level = logical\nmax_replication_slots = 16\nmax_wal_senders = 16";

using PostgresSuite = PostgresSuiteWith<kDefaultConf>;
using LogicalPostgresSuite = PostgresSuiteWith<kLogicalWalConf>;

}  // namespace cutover::test

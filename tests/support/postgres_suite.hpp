// A GoogleTest suite that starts one PostgreSQL cluster for all its tests
// (initdb and a start cost a second or two): derive from it, use pg().
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "support/postgres.hpp"

namespace cutover::test {

class PostgresSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = std::make_unique<Postgres>(); }
  static void TearDownTestSuite() { cluster_.reset(); }
  static Postgres& pg() { return *cluster_; }

 private:
  static inline std::unique_ptr<Postgres> cluster_;
};

}  // namespace cutover::test

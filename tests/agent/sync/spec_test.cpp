#include "agent/sync/spec.hpp"

#include <gtest/gtest.h>

#include "agent/sync/sync_error.hpp"

namespace cutover::sync {
namespace {

v1::SyncSpec Spec(std::vector<std::string> tables = {"orders"}) {
  v1::SyncSpec spec;
  spec.set_blue("sqlite:///var/lib/app/app.db");
  spec.set_green("postgresql://app:s3cret@db/app");
  for (auto& t : tables) spec.add_tables(t);
  return spec;
}

std::string Problem(const v1::SyncSpec& spec) {
  try {
    ConfigFromSpec("app", spec);
  } catch (const SyncError& e) {
    EXPECT_EQ(e.kind(), SyncError::Kind::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(SyncSpec, ValidatesIntoAConfig) {
  const SyncConfig c = ConfigFromSpec("app", Spec({"orders", "customers"}));
  EXPECT_EQ(c.blue_path, "/var/lib/app/app.db");
  EXPECT_EQ(c.tables, (std::vector<std::string>{"orders", "customers"}));
  EXPECT_EQ(c.on_conflict, v1::SYNC_CONFLICT_POLICY_PAUSE);  // unspecified means pause
  EXPECT_EQ(c.green_object, "cutover_sync_app");
  // The journaled spec has no password.
  EXPECT_EQ(c.RedactedSpec().green(), "postgresql://app:***@db/app");
}

TEST(SyncSpec, NamesTheFieldOfEveryProblem) {
  auto relative = Spec();
  relative.set_blue("sqlite:app.db");
  auto postgres_blue = Spec();
  postgres_blue.set_blue("postgresql://db/app");
  auto sqlite_green = Spec();
  sqlite_green.set_green("sqlite:///a.db");
  auto both = Spec();
  both.set_all_tables(true);
  auto policy = Spec();
  policy.set_on_conflict(static_cast<v1::SyncConflictPolicy>(9));
  const std::pair<v1::SyncSpec, std::string> cases[] = {
      {relative, "spec.blue: must name an absolute path"},
      {postgres_blue, "spec.blue: must be sqlite:///ABSOLUTE/PATH"},
      {sqlite_green, "spec.green: must be a PostgreSQL DSN"},
      {Spec({}), "spec.tables: must list at least one table, or be all"},
      {both, "spec.tables: list tables or say all, not both"},
      {Spec({"orders", "orders"}), "spec.tables[1]: \"orders\" is listed twice"},
      {Spec({"1x"}), "spec.tables[0]: \"1x\" is not a table name"},
      {Spec({"_cutover_sync_log"}), "spec.tables[0]: \"_cutover_sync_log\" belongs to the sync"},
      {policy, "spec.on_conflict: must be pause, blue_wins or green_wins"},
  };
  for (const auto& [spec, says] : cases) {
    const std::string problem = Problem(spec);
    EXPECT_NE(problem.find(says), std::string::npos) << problem << " / " << says;
    EXPECT_EQ(problem.find("s3cret"), std::string::npos) << problem;
  }
}

TEST(GreenObjectName, FitsSlotNameRules) {
  EXPECT_EQ(GreenObjectName("shop_1"), "cutover_sync_shop_1");
  const std::string odd = GreenObjectName("Shop-EU/1");
  EXPECT_EQ(odd.rfind("cutover_sync_shop_eu_1_", 0), 0u) << odd;
  for (char c : odd) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(std::islower(u) || std::isdigit(u) || c == '_') << odd;
  }
  EXPECT_NE(GreenObjectName("Shop-EU/1"),
            GreenObjectName("shop_eu_1"));  // the hash tells them apart
  EXPECT_LE(GreenObjectName(std::string(63, 'a')).size(), 63u);
}

}  // namespace
}  // namespace cutover::sync

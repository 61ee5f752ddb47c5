#include "agent/sync/schema.hpp"

#include <gtest/gtest.h>

#include "agent/sync/sync_error.hpp"

namespace cutover::sync {
namespace {

TableSchema Blue(const std::string& name, std::vector<ColumnSchema> columns) {
  TableSchema t;
  t.name = name;
  t.exists = true;
  t.columns = std::move(columns);
  return t;
}

TableSchema Green(const std::string& name, std::vector<ColumnSchema> columns) {
  TableSchema t = Blue(name, std::move(columns));
  t.pg_qualified = name;
  t.pg_nspname = "public";
  t.pg_relname = name;
  return t;
}

std::string Refusal(const std::vector<TableSchema>& blue, const std::vector<TableSchema>& green) {
  try {
    MatchTables(blue, green);
  } catch (const SyncError& e) {
    EXPECT_EQ(e.kind(), SyncError::Kind::kFailedPrecondition);
    return e.what();
  }
  return "";
}

TEST(MatchTables, SyncsTheColumnsBothSidesHaveInBluesOrderIgnoringCase) {
  const auto tables = MatchTables(
      {Blue("orders", {{"ID", 1}, {"item", 0}, {"blue_only", 0}, {"qty", 0}})},
      {Green("orders", {{"qty", 0, 23}, {"id", 1, 20}, {"item", 0, 25}, {"note", 0, 25}})});
  ASSERT_EQ(tables.size(), 1u);
  const SyncedTable& t = tables[0];
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_EQ(t.columns[0].blue_name, "ID");
  EXPECT_EQ(t.columns[0].green_name, "id");
  EXPECT_EQ(t.columns[0].pg_class, agent::PgValueClass::kInteger);
  EXPECT_EQ(t.columns[2].blue_name, "qty");
  EXPECT_EQ(t.key, (std::vector<std::size_t>{0}));
  EXPECT_EQ(t.ColumnList(), "id,item,qty");
}

TEST(MatchTables, KeepsTheKeysOrder) {
  const auto tables = MatchTables({Blue("t", {{"a", 2}, {"b", 1}, {"v", 0}})},
                                  {Green("t", {{"a", 2, 23}, {"b", 1, 23}, {"v", 0, 25}})});
  EXPECT_EQ(tables[0].key, (std::vector<std::size_t>{1, 0}));
}

TEST(MatchTables, RefusesEveryUnfitTableByName) {
  const std::string why = Refusal(
      {Blue("audit", {{"at", 0}}), Blue("orders", {{"id", 1}}), TableSchema{"ghost"},
       Blue("notes", {{"id", 1}})},
      {Green("audit", {{"at", 0, 1184}}), Green("orders", {{"id", 1, 20}, {"region", 2, 25}}),
       Green("ghost", {}), Green("notes", {{"id", 0, 20}})});
  EXPECT_NE(why.find("tables: audit has no primary key on blue (SQLite)"), std::string::npos)
      << why;
  EXPECT_NE(why.find("orders: primary key (id) on blue but (id, region) on green"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("ghost does not exist on blue"), std::string::npos) << why;
  EXPECT_NE(why.find("notes has no primary key on green"), std::string::npos) << why;
}

TEST(MatchTables, RefusesWhatGreenCouldNotTakeOrPublish) {
  TableSchema nothing = Green("t", {{"id", 1, 20}});
  nothing.replica_identity = 'n';
  EXPECT_NE(Refusal({Blue("t", {{"id", 1}})}, {nothing}).find("replica identity NOTHING"),
            std::string::npos);
  EXPECT_NE(Refusal({Blue("t", {{"id", 1}})}, {Green("t", {{"id", 1, 20}, {"must", 0, 25, true}})})
                .find("column must is NOT NULL without a default on green"),
            std::string::npos);
  TableSchema missing_on_green;
  missing_on_green.name = "t";
  EXPECT_NE(Refusal({Blue("t", {{"id", 1}})}, {missing_on_green}).find("t does not exist on green"),
            std::string::npos);
}

}  // namespace
}  // namespace cutover::sync

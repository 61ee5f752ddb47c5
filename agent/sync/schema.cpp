#include "agent/sync/schema.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

namespace {

std::string Lower(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// The primary key's column names, lower case, in key order.
std::vector<std::string> KeyOf(const TableSchema& table) {
  std::vector<std::pair<int, std::string>> key;
  for (const auto& c : table.columns)
    if (c.key_position > 0) key.emplace_back(c.key_position, Lower(c.name));
  std::sort(key.begin(), key.end());
  std::vector<std::string> names;
  for (auto& [position, name] : key) names.push_back(std::move(name));
  return names;
}

std::string KeyText(std::vector<std::string> key) {
  std::string text = "(";
  for (std::size_t i = 0; i < key.size(); ++i) text += (i ? ", " : "") + key[i];
  return text + ")";
}

std::string ReplicaIdentityName(char identity) {
  switch (identity) {
    case 'n':
      return "NOTHING";
    case 'i':
      return "USING INDEX";
    default:
      return std::string(1, identity);
  }
}

// Why the table cannot be synced; "" when it can.
std::string Problem(const TableSchema& blue, const TableSchema& green) {
  const std::string& name = blue.name;
  if (!blue.exists) return name + " does not exist on blue (SQLite)";
  if (!green.exists) return name + " does not exist on green (PostgreSQL)";
  if (blue.virtual_table) return name + " is a virtual table on blue: it cannot carry triggers";
  const auto blue_key = KeyOf(blue), green_key = KeyOf(green);
  if (blue_key.empty()) return name + " has no primary key on blue (SQLite)";
  if (green_key.empty()) return name + " has no primary key on green (PostgreSQL)";
  auto sorted_blue = blue_key, sorted_green = green_key;
  std::sort(sorted_blue.begin(), sorted_blue.end());
  std::sort(sorted_green.begin(), sorted_green.end());
  if (sorted_blue != sorted_green)
    return name + ": primary key " + KeyText(blue_key) + " on blue but " + KeyText(green_key) +
           " on green";
  if (green.replica_identity != 'd' && green.replica_identity != 'f')
    return name + ": replica identity " + ReplicaIdentityName(green.replica_identity) +
           " on green; the sync needs DEFAULT (its primary key) or FULL";
  std::map<std::string, const ColumnSchema*> on_blue;
  for (const auto& c : blue.columns) on_blue[Lower(c.name)] = &c;
  for (const auto& c : green.columns)
    if (c.required && on_blue.count(Lower(c.name)) == 0)
      return name + ": column " + c.name +
             " is NOT NULL without a default on green and blue has no such column: blue's rows "
             "could not be inserted";
  return "";
}

}  // namespace

std::string SyncedTable::ColumnList() const {
  std::string list;
  for (const auto& c : columns) list += (list.empty() ? "" : ",") + Lower(c.blue_name);
  return list;
}

std::vector<SyncedTable> MatchTables(const std::vector<TableSchema>& blue,
                                     const std::vector<TableSchema>& green) {
  std::string problems;
  std::vector<SyncedTable> tables;
  for (std::size_t t = 0; t < blue.size() && t < green.size(); ++t) {
    const std::string problem = Problem(blue[t], green[t]);
    if (!problem.empty()) {
      problems += (problems.empty() ? "" : "; ") + problem;
      continue;
    }
    std::map<std::string, const ColumnSchema*> on_green;
    for (const auto& c : green[t].columns) on_green[Lower(c.name)] = &c;
    SyncedTable table;
    table.name = blue[t].name;
    table.pg_qualified = green[t].pg_qualified;
    table.pg_nspname = green[t].pg_nspname;
    table.pg_relname = green[t].pg_relname;
    std::vector<std::pair<int, std::size_t>> key;
    for (const auto& c : blue[t].columns) {
      const auto it = on_green.find(Lower(c.name));
      if (it == on_green.end()) continue;  // blue's own column: not synced
      if (c.key_position > 0) key.emplace_back(c.key_position, table.columns.size());
      table.columns.push_back(SyncedColumn{c.name, it->second->name, it->second->pg_type,
                                           agent::ClassifyPgType(it->second->pg_type)});
    }
    std::sort(key.begin(), key.end());
    for (const auto& [position, index] : key) table.key.push_back(index);
    tables.push_back(std::move(table));
  }
  if (!problems.empty()) throw Unfit("tables: " + problems);
  return tables;
}

std::size_t WidestTable(const std::vector<SyncedTable>& tables) {
  std::size_t widest = 0;
  for (const auto& t : tables) widest = std::max(widest, t.columns.size());
  return widest;
}

}  // namespace cutover::sync

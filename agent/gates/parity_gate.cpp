#include "agent/gates/parity_gate.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "agent/core/dsn.hpp"
#include "agent/gates/evaluation.hpp"
#include "agent/gates/gate_error.hpp"
#include "agent/gates/table_source.hpp"

namespace cutover::gates {

namespace {

using agent::RedactDsn;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Columns keyed by lower-case name (SQLite names are case-insensitive,
// PostgreSQL folds unquoted names to lower case).
std::map<std::string, Column> ByLowerName(const std::vector<Column>& columns) {
  std::map<std::string, Column> by_name;
  for (const auto& column : columns) by_name.emplace(Lower(column.name), column);
  return by_name;
}

std::string Rows(std::uint64_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

std::string Difference(std::uint64_t source, std::uint64_t target) {
  const auto delta = static_cast<long long>(target) - static_cast<long long>(source);
  return (delta > 0 ? "+" : "") + std::to_string(delta);
}

}  // namespace

ParityGate::ParityGate(Spec spec, std::chrono::milliseconds timeout)
    : spec_(std::move(spec)), timeout_(timeout) {}

std::string ParityGate::CompareTable(TableSource& source, TableSource& target,
                                     const std::string& table, std::string& summary) const {
  const auto source_columns = source.Columns(table);
  const auto target_columns = target.Columns(table);
  if (!source_columns) return table + ": missing on the source";
  if (!target_columns)
    return table + ": missing on the target (source has " + Rows(source.CountRows(table)) + ")";

  if (!spec_.checksum) {
    const std::uint64_t s = source.CountRows(table);
    const std::uint64_t t = target.CountRows(table);
    if (s != t)
      return table + ": source " + Rows(s) + ", target " + Rows(t) + " (" + Difference(s, t) + ")";
    summary = table + " " + Rows(s);
    return "";
  }

  // The source's columns, in one order both sides agree on, each rendered
  // the same way on both sides: as a timestamp when either side says so.
  const auto source_by_name = ByLowerName(*source_columns);
  const auto target_by_name = ByLowerName(*target_columns);
  std::vector<Column> source_order, target_order;
  std::vector<std::string> missing;
  for (const auto& [lower, column] : source_by_name) {
    const auto found = target_by_name.find(lower);
    if (found == target_by_name.end()) {
      missing.push_back(column.name);
      continue;
    }
    const ColumnKind kind =
        found->second.kind != ColumnKind::kPlain ? found->second.kind : column.kind;
    source_order.push_back({column.name, kind});
    target_order.push_back({found->second.name, kind});
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& name : missing) list += (list.empty() ? "" : ", ") + name;
    return table + ": column(s) " + list + " missing on the target";
  }
  const TableChecksum s = source.Checksum(table, source_order);
  const TableChecksum t = target.Checksum(table, target_order);
  if (s.rows != t.rows)
    return table + ": source " + Rows(s.rows) + ", target " + Rows(t.rows) + " (" +
           Difference(s.rows, t.rows) + ")";
  if (s.sum != t.sum)
    return table + ": " + Rows(s.rows) + " on both sides but the checksums differ (source " +
           s.Hex() + ", target " + t.Hex() + ")";
  summary = table + " " + Rows(s.rows) + " checksum " + s.Hex();
  return "";
}

GateOutcome ParityGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    const Deadline deadline(timeout_, context.cancel);
    auto source = OpenTableSource(spec_.source, deadline);
    auto target = OpenTableSource(spec_.target, deadline);
    const std::vector<std::string> tables = spec_.all_tables ? source->Tables() : spec_.tables;
    const std::string between =
        " (" + RedactDsn(spec_.source) + " vs " + RedactDsn(spec_.target) + ")";
    if (tables.empty()) throw GateError("the source has no tables to compare" + between);

    std::vector<std::string> differences, matches;
    for (const auto& table : tables) {
      std::string summary;
      std::string difference = CompareTable(*source, *target, table, summary);
      if (difference.empty()) {
        matches.push_back(std::move(summary));
      } else {
        differences.push_back(std::move(difference));
      }
    }
    GateOutcome outcome;
    outcome.passed = differences.empty();
    const auto& listed = outcome.passed ? matches : differences;
    std::string list;
    for (const auto& item : listed) list += (list.empty() ? "" : "; ") + item;
    const std::string of =
        std::to_string(tables.size()) + " table" + (tables.size() == 1 ? "" : "s");
    if (outcome.passed) {
      outcome.detail =
          (tables.size() == 1 ? "the table matches: " : "all " + of + " match: ") + list + between;
    } else {
      outcome.detail = std::to_string(differences.size()) + " of " + of +
                       (differences.size() == 1 ? " differs: " : " differ: ") + list + between;
    }
    return outcome;
  });
}

}  // namespace cutover::gates

#include "agent/gates/pg_table_source.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "agent/core/canonical.hpp"
#include "agent/gates/gate_error.hpp"

namespace cutover::gates {

namespace {

void AddNumberText(RowHasher& hasher, std::string_view text) {
  if (const auto integer = agent::ExactInteger(text)) {
    hasher.AddInteger(*integer);
  } else {
    // "NaN", "Infinity", fractions, integers beyond int64: as SQLite would hold them.
    hasher.AddReal(std::strtod(std::string(text).c_str(), nullptr));
  }
}

// Renders one PostgreSQL field (text format) the way row_checksum.hpp defines.
void AddField(RowHasher& hasher, const PGresult& row, int column, ColumnKind kind) {
  if (PQgetisnull(&row, 0, column) != 0) {
    hasher.AddNull();
    return;
  }
  const std::string_view text(PQgetvalue(&row, 0, column),
                              static_cast<std::size_t>(PQgetlength(&row, 0, column)));
  if (kind != ColumnKind::kPlain) {
    hasher.AddTimestamp(text, kind == ColumnKind::kTimestampTz);
    return;
  }
  switch (agent::ClassifyPgType(PQftype(&row, column))) {
    case agent::PgValueClass::kInteger:
    case agent::PgValueClass::kNumber:
      AddNumberText(hasher, text);
      return;
    case agent::PgValueClass::kBool:  // SQLite keeps booleans as 0 and 1
      hasher.AddInteger(text == "t" ? 1 : 0);
      return;
    case agent::PgValueClass::kBytes: {
      std::size_t length = 0;
      unsigned char* bytes = PQunescapeBytea(
          reinterpret_cast<const unsigned char*>(PQgetvalue(&row, 0, column)), &length);
      if (bytes == nullptr) throw GateError("cannot decode a bytea value");
      hasher.AddText(std::string_view(reinterpret_cast<const char*>(bytes), length));
      PQfreemem(bytes);
      return;
    }
    case agent::PgValueClass::kPaddedText:  // char(n) pads with blanks that SQLite never stored
      hasher.AddText(agent::WithoutPadding(text));
      return;
    default:  // text, varchar, and every other type by its text output
      hasher.AddText(text);
  }
}

std::uint64_t ParseCount(const PGresult& result) {
  std::uint64_t count = 0;
  const char* text = PQgetvalue(&result, 0, 0);
  std::from_chars(text, text + std::strlen(text), count);
  return count;
}

}  // namespace

PgTableSource::PgTableSource(const std::string& dsn, const Deadline& deadline)
    : session_(dsn, deadline) {
  // Fixed renderings for types compared by their text (timestamps in UTC,
  // ISO dates, shortest round-trip floats), then one snapshot for all tables.
  session_.Query(
      "set DateStyle = 'ISO, YMD'; set TimeZone = 'UTC'; set extra_float_digits = 1;"
      " set IntervalStyle = 'postgres'");
  session_.Query("begin transaction isolation level repeatable read read only");
}

std::vector<std::string> PgTableSource::Tables() {
  PgResult result = session_.Query(
      "select c.relname from pg_class c"
      " where c.relkind in ('r', 'p') and c.relnamespace = current_schema()::regnamespace"
      " and not c.relispartition order by 1");
  std::vector<std::string> tables;
  for (int i = 0; i < PQntuples(result.get()); ++i)
    tables.emplace_back(PQgetvalue(result.get(), i, 0));
  return tables;
}

std::optional<std::vector<Column>> PgTableSource::Columns(const std::string& table) {
  PgResult exists =
      session_.Query("select to_regclass($1) is not null", {QuoteQualifiedName(table)});
  if (std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t") return std::nullopt;
  PgResult result = session_.Query(
      "select attname, atttypid = 'timestamp'::regtype, atttypid = 'timestamptz'::regtype"
      " from pg_attribute where attrelid = to_regclass($1)"
      " and attnum > 0 and not attisdropped order by attnum",
      {QuoteQualifiedName(table)});
  std::vector<Column> columns;
  for (int i = 0; i < PQntuples(result.get()); ++i) {
    const auto is = [&](int field) {
      return std::string_view(PQgetvalue(result.get(), i, field)) == "t";
    };
    columns.push_back({PQgetvalue(result.get(), i, 0), is(1)   ? ColumnKind::kTimestamp
                                                       : is(2) ? ColumnKind::kTimestampTz
                                                               : ColumnKind::kPlain});
  }
  return columns;
}

std::uint64_t PgTableSource::CountRows(const std::string& table) {
  return ParseCount(*session_.Query("select count(*) from " + QuoteQualifiedName(table)));
}

TableChecksum PgTableSource::Checksum(const std::string& table,
                                      const std::vector<Column>& columns) {
  std::string select = "select ";
  for (std::size_t i = 0; i < columns.size(); ++i)
    select += (i == 0 ? "" : ", ") + QuoteIdentifier(columns[i].name);
  if (columns.empty()) select += "1";
  select += " from " + QuoteQualifiedName(table);
  TableChecksum checksum;
  RowHasher hasher;
  session_.ForEachRow(select, [&](const PGresult& row) {
    for (int c = 0; c < static_cast<int>(columns.size()); ++c)
      AddField(hasher, row, c, columns[static_cast<std::size_t>(c)].kind);
    checksum.AddRow(hasher.FinishRow());
  });
  return checksum;
}

}  // namespace cutover::gates

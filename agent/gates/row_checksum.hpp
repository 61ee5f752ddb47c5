// The canonical rendering of a row that SQLite and PostgreSQL both produce
// identically, its 64-bit hash, and an order-independent table checksum.
//
// A row is its fields in column order (the caller sorts columns by lower-case
// name on both sides). Each field is rendered as a tag and the bytes:
//   NULL             tag 'N', no bytes
//   number           tag '#', decimal text: integers (and reals holding an
//                    exact integer, so 3 == 3.0) as "-123"; other reals in the
//                    shortest text that round-trips ("0.1", "1e+300", "nan", "inf")
//   text or blob     tag 's', the raw bytes (UTF-8 text, bytea/blob contents)
//   timestamp        tag 's', "YYYY-MM-DD HH:MM:SS[.f]" (+ "Z" for timestamptz,
//                    in UTC), whatever spelling either side holds: for
//                    columns the PostgreSQL side types as timestamp[tz]
// framed as tag, 8-byte little-endian length, bytes. The row hash is FNV-1a 64
// over that framing, finished with the splitmix64 mixer; the table checksum is
// the sum (mod 2^64) of its row hashes, so it does not depend on row order and
// counts duplicated rows. It detects accidental differences, not tampering.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cutover::gates {

class RowHasher {
 public:
  void AddNull();
  void AddInteger(std::int64_t value);
  void AddReal(double value);
  void AddText(std::string_view bytes);
  // Text holding a point in time, in its canonical spelling (agent/core/canonical.hpp);
  // text that is no timestamp is added as it is.
  void AddTimestamp(std::string_view text, bool in_utc);
  // The hash of the row so far; starts the next row.
  std::uint64_t FinishRow();

 private:
  void AddField(char tag, std::string_view bytes);
  void Mix(std::string_view bytes);

  static constexpr std::uint64_t kOffsetBasis = 14695981039346656037ULL;
  std::uint64_t state_ = kOffsetBasis;
};

// A table's row count and the sum of its row hashes.
struct TableChecksum {
  std::uint64_t rows = 0;
  std::uint64_t sum = 0;

  void AddRow(std::uint64_t row_hash) {
    ++rows;
    sum += row_hash;
  }
  std::string Hex() const;
  bool operator==(const TableChecksum&) const = default;
};

}  // namespace cutover::gates

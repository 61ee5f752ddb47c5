// The wire formats of a logical replication stream, decoded and built
// without I/O: the CopyData frames of the streaming replication protocol
// (XLogData 'w', primary keepalive 'k', standby status update 'r') and the
// messages of the pgoutput plugin, protocol version 1 (PostgreSQL's
// "Logical Replication Message Formats"). Malformed input is a SyncError,
// never a read past the buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cutover::sync {

using Lsn = std::uint64_t;

// "16/B374D848", as PostgreSQL writes an LSN; and back (nullopt when it is not one).
std::string FormatLsn(Lsn lsn);
std::optional<Lsn> ParseLsn(std::string_view text);

// PostgreSQL's epoch (2000-01-01) in microseconds, to and from Unix microseconds.
std::int64_t UnixMicrosFromPg(std::int64_t pg_micros);
std::int64_t PgMicrosFromUnix(std::int64_t unix_micros);

// ---------------------------------------------------------------- CopyData frames

struct XLogData {
  Lsn start = 0;
  Lsn wal_end = 0;
  std::int64_t send_time = 0;  // PostgreSQL microseconds
  std::string_view payload;    // one pgoutput message (points into the frame)
};
struct Keepalive {
  Lsn wal_end = 0;
  std::int64_t send_time = 0;
  bool reply_requested = false;
};
using CopyFrame = std::variant<XLogData, Keepalive>;

CopyFrame ParseCopyFrame(std::string_view frame);

// 'r': written, flushed and applied positions (the server keeps `flushed` as
// the slot's confirmed position), the send time, and whether to answer.
std::string StandbyStatusUpdate(Lsn written, Lsn flushed, Lsn applied, std::int64_t pg_micros,
                                bool reply_requested);

// ---------------------------------------------------------------- pgoutput

struct BeginMessage {
  Lsn final_lsn = 0;
  std::int64_t commit_time = 0;  // PostgreSQL microseconds
  std::uint32_t xid = 0;
};
struct CommitMessage {
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;
  std::int64_t commit_time = 0;
};
struct RelationColumn {
  bool key = false;
  std::string name;
  std::uint32_t type_oid = 0;
};
struct RelationMessage {
  std::uint32_t oid = 0;
  std::string nspname;  // "" for pg_catalog
  std::string relname;
  char replica_identity = 'd';
  std::vector<RelationColumn> columns;
};
// One column of a row: NULL, an unchanged TOASTed value (not sent), or text.
struct TupleField {
  enum class Kind { kNull, kUnchanged, kText };
  Kind kind = Kind::kNull;
  std::string text;
};
using Tuple = std::vector<TupleField>;
struct ChangeMessage {
  enum class Op { kInsert, kUpdate, kDelete };
  Op op = Op::kInsert;
  std::uint32_t relation = 0;
  // Update: the old key ('K') or old row ('O') when the key changed or the
  // table's identity is FULL. Delete: always.
  std::optional<Tuple> old_tuple;
  Tuple new_tuple;  // insert and update
};
struct TruncateMessage {
  std::vector<std::uint32_t> relations;
};
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn = 0;
  std::string prefix;
  std::string content;
};
// Origin ('O') and type ('Y') messages, and anything newer this sync does not use.
struct IgnoredMessage {
  char tag = 0;
};
using PgOutputMessage = std::variant<BeginMessage, CommitMessage, RelationMessage, ChangeMessage,
                                     TruncateMessage, LogicalMessage, IgnoredMessage>;

PgOutputMessage ParsePgOutput(std::string_view message);

}  // namespace cutover::sync

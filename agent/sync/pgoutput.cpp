#include "agent/sync/pgoutput.hpp"

#include <cstdio>

#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

namespace {

// Seconds between 1970-01-01 and 2000-01-01.
constexpr std::int64_t kPgEpochUnixSeconds = 946'684'800;

SyncError Malformed(const std::string& what) {
  return Unavailable("malformed replication message: " + what);
}

// Network-order reads with bounds checks.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  std::uint64_t Int(int bytes) {
    Need(static_cast<std::size_t>(bytes));
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data_[pos_++]);
    return v;
  }
  std::uint8_t U8() { return static_cast<std::uint8_t>(Int(1)); }
  std::uint16_t U16() { return static_cast<std::uint16_t>(Int(2)); }
  std::uint32_t U32() { return static_cast<std::uint32_t>(Int(4)); }
  std::uint64_t U64() { return Int(8); }
  std::int64_t I64() { return static_cast<std::int64_t>(Int(8)); }
  char Byte() { return static_cast<char>(U8()); }
  // A NUL-terminated string.
  std::string String() {
    const auto end = data_.find('\0', pos_);
    if (end == std::string_view::npos) throw Malformed("unterminated string");
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::string_view Bytes(std::size_t n) {
    Need(n);
    const std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view Rest() { return Bytes(data_.size() - pos_); }

 private:
  void Need(std::size_t n) const {
    if (data_.size() - pos_ < n) throw Malformed("truncated");
  }
  std::string_view data_;
  std::size_t pos_ = 0;
};

Tuple ReadTuple(Reader& in) {
  const std::uint16_t n = in.U16();
  Tuple tuple(n);
  for (auto& field : tuple) {
    switch (in.Byte()) {
      case 'n':
        field.kind = TupleField::Kind::kNull;
        break;
      case 'u':
        field.kind = TupleField::Kind::kUnchanged;
        break;
      case 't':
        field.kind = TupleField::Kind::kText;
        field.text = std::string(in.Bytes(in.U32()));
        break;
      default:  // 'b' (binary) is only sent when asked for
        throw Malformed("unexpected tuple field kind");
    }
  }
  return tuple;
}

}  // namespace

std::string FormatLsn(Lsn lsn) {
  char text[32];
  std::snprintf(text, sizeof text, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return text;
}

std::optional<Lsn> ParseLsn(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() || slash > 8 ||
      text.size() - slash - 1 > 8)
    return std::nullopt;
  Lsn high = 0, low = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == slash) continue;
    const char c = text[i];
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (digit < 0) return std::nullopt;
    Lsn& part = i < slash ? high : low;
    part = part * 16 + static_cast<Lsn>(digit);
  }
  return (high << 32) | low;
}

std::int64_t UnixMicrosFromPg(std::int64_t pg_micros) {
  return pg_micros + kPgEpochUnixSeconds * 1'000'000;
}
std::int64_t PgMicrosFromUnix(std::int64_t unix_micros) {
  return unix_micros - kPgEpochUnixSeconds * 1'000'000;
}

CopyFrame ParseCopyFrame(std::string_view frame) {
  Reader in(frame);
  switch (in.Byte()) {
    case 'w': {
      XLogData data;
      data.start = in.U64();
      data.wal_end = in.U64();
      data.send_time = in.I64();
      data.payload = in.Rest();
      return data;
    }
    case 'k': {
      Keepalive k;
      k.wal_end = in.U64();
      k.send_time = in.I64();
      k.reply_requested = in.U8() != 0;
      return k;
    }
    default:
      throw Malformed("unknown CopyData frame");
  }
}

std::string StandbyStatusUpdate(Lsn written, Lsn flushed, Lsn applied, std::int64_t pg_micros,
                                bool reply_requested) {
  std::string out(1, 'r');
  const auto put64 = [&](std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
  };
  put64(written);
  put64(flushed);
  put64(applied);
  put64(static_cast<std::uint64_t>(pg_micros));
  out += static_cast<char>(reply_requested ? 1 : 0);
  return out;
}

PgOutputMessage ParsePgOutput(std::string_view message) {
  Reader in(message);
  const char tag = in.Byte();
  switch (tag) {
    case 'B': {
      BeginMessage b;
      b.final_lsn = in.U64();
      b.commit_time = in.I64();
      b.xid = in.U32();
      return b;
    }
    case 'C': {
      CommitMessage c;
      in.U8();  // flags
      c.commit_lsn = in.U64();
      c.end_lsn = in.U64();
      c.commit_time = in.I64();
      return c;
    }
    case 'R': {
      RelationMessage r;
      r.oid = in.U32();
      r.nspname = in.String();
      r.relname = in.String();
      r.replica_identity = in.Byte();
      const std::uint16_t n = in.U16();
      r.columns.resize(n);
      for (auto& column : r.columns) {
        column.key = (in.U8() & 1) != 0;
        column.name = in.String();
        column.type_oid = in.U32();
        in.U32();  // type modifier
      }
      return r;
    }
    case 'I': {
      ChangeMessage c;
      c.op = ChangeMessage::Op::kInsert;
      c.relation = in.U32();
      if (in.Byte() != 'N') throw Malformed("insert without a new tuple");
      c.new_tuple = ReadTuple(in);
      return c;
    }
    case 'U': {
      ChangeMessage c;
      c.op = ChangeMessage::Op::kUpdate;
      c.relation = in.U32();
      char part = in.Byte();
      if (part == 'K' || part == 'O') {
        c.old_tuple = ReadTuple(in);
        part = in.Byte();
      }
      if (part != 'N') throw Malformed("update without a new tuple");
      c.new_tuple = ReadTuple(in);
      return c;
    }
    case 'D': {
      ChangeMessage c;
      c.op = ChangeMessage::Op::kDelete;
      c.relation = in.U32();
      const char part = in.Byte();
      if (part != 'K' && part != 'O') throw Malformed("delete without a key");
      c.old_tuple = ReadTuple(in);
      return c;
    }
    case 'T': {
      TruncateMessage t;
      const std::uint32_t n = in.U32();
      in.U8();  // options: CASCADE, RESTART IDENTITY
      if (n > message.size()) throw Malformed("truncate of more relations than bytes");
      for (std::uint32_t i = 0; i < n; ++i) t.relations.push_back(in.U32());
      return t;
    }
    case 'M': {
      LogicalMessage m;
      m.transactional = (in.U8() & 1) != 0;
      m.lsn = in.U64();
      m.prefix = in.String();
      m.content = std::string(in.Bytes(in.U32()));
      return m;
    }
    default:
      return IgnoredMessage{tag};
  }
}

}  // namespace cutover::sync

// The replication wire formats, against bytes built here by hand from
// PostgreSQL's protocol documentation (not by the code under test).
#include "agent/sync/pgoutput.hpp"

#include <gtest/gtest.h>

#include "agent/sync/sync_error.hpp"

namespace cutover::sync {
namespace {

class Bytes {
 public:
  Bytes& Byte(char c) {
    s_ += c;
    return *this;
  }
  Bytes& Int(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Bytes& Str(const std::string& v) {
    s_ += v;
    s_ += '\0';
    return *this;
  }
  Bytes& Raw(const std::string& v) {
    s_ += v;
    return *this;
  }
  Bytes& Text(const std::string& v) { return Byte('t').Int(v.size(), 4).Raw(v); }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

TEST(Lsn, FormatsAndParsesAsPostgresWritesThem) {
  EXPECT_EQ(FormatLsn(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ULL);
  EXPECT_EQ(ParseLsn("0/0"), 0u);
  for (const char* bad : {"", "16", "/1", "1/", "g/1", "1/123456789"})
    EXPECT_FALSE(ParseLsn(bad).has_value()) << bad;
}

TEST(CopyFrame, ReadsXLogDataAndKeepalives) {
  const std::string w = Bytes().Byte('w').Int(10, 8).Int(20, 8).Int(30, 8).Raw("Bxyz").str();
  const auto data = std::get<XLogData>(ParseCopyFrame(w));
  EXPECT_EQ(data.start, 10u);
  EXPECT_EQ(data.wal_end, 20u);
  EXPECT_EQ(data.payload, "Bxyz");
  const std::string k = Bytes().Byte('k').Int(99, 8).Int(5, 8).Byte(1).str();
  const auto keepalive = std::get<Keepalive>(ParseCopyFrame(k));
  EXPECT_EQ(keepalive.wal_end, 99u);
  EXPECT_TRUE(keepalive.reply_requested);
  EXPECT_THROW(ParseCopyFrame("k\x01"), SyncError);  // truncated
  EXPECT_THROW(ParseCopyFrame("z"), SyncError);
}

TEST(StandbyStatusUpdate, IsTheDocumentedThirtyFourBytes) {
  const std::string r = StandbyStatusUpdate(1, 2, 3, 4, true);
  EXPECT_EQ(r, Bytes().Byte('r').Int(1, 8).Int(2, 8).Int(3, 8).Int(4, 8).Byte(1).str());
}

TEST(PgOutput, BeginCommitAndRelation) {
  const auto b = std::get<BeginMessage>(
      ParsePgOutput(Bytes().Byte('B').Int(0x100, 8).Int(777, 8).Int(42, 4).str()));
  EXPECT_EQ(b.final_lsn, 0x100u);
  EXPECT_EQ(b.commit_time, 777);
  EXPECT_EQ(b.xid, 42u);
  const auto c = std::get<CommitMessage>(
      ParsePgOutput(Bytes().Byte('C').Byte(0).Int(0x100, 8).Int(0x180, 8).Int(777, 8).str()));
  EXPECT_EQ(c.commit_lsn, 0x100u);
  EXPECT_EQ(c.end_lsn, 0x180u);
  const auto r = std::get<RelationMessage>(ParsePgOutput(Bytes()
                                                             .Byte('R')
                                                             .Int(16384, 4)
                                                             .Str("public")
                                                             .Str("orders")
                                                             .Byte('d')
                                                             .Int(2, 2)
                                                             .Byte(1)
                                                             .Str("id")
                                                             .Int(20, 4)
                                                             .Int(0xffffffff, 4)
                                                             .Byte(0)
                                                             .Str("item")
                                                             .Int(25, 4)
                                                             .Int(0xffffffff, 4)
                                                             .str()));
  EXPECT_EQ(r.oid, 16384u);
  EXPECT_EQ(r.relname, "orders");
  ASSERT_EQ(r.columns.size(), 2u);
  EXPECT_TRUE(r.columns[0].key);
  EXPECT_EQ(r.columns[1].name, "item");
  EXPECT_EQ(r.columns[1].type_oid, 25u);
}

TEST(PgOutput, InsertUpdateDeleteTuples) {
  const auto i = std::get<ChangeMessage>(ParsePgOutput(
      Bytes().Byte('I').Int(7, 4).Byte('N').Int(3, 2).Text("42").Byte('n').Byte('u').str()));
  EXPECT_EQ(i.op, ChangeMessage::Op::kInsert);
  ASSERT_EQ(i.new_tuple.size(), 3u);
  EXPECT_EQ(i.new_tuple[0].text, "42");
  EXPECT_EQ(i.new_tuple[1].kind, TupleField::Kind::kNull);
  EXPECT_EQ(i.new_tuple[2].kind, TupleField::Kind::kUnchanged);
  // An update that changed the key carries the old key first.
  const auto u = std::get<ChangeMessage>(ParsePgOutput(Bytes()
                                                           .Byte('U')
                                                           .Int(7, 4)
                                                           .Byte('K')
                                                           .Int(1, 2)
                                                           .Text("1")
                                                           .Byte('N')
                                                           .Int(1, 2)
                                                           .Text("2")
                                                           .str()));
  ASSERT_TRUE(u.old_tuple.has_value());
  EXPECT_EQ((*u.old_tuple)[0].text, "1");
  EXPECT_EQ(u.new_tuple[0].text, "2");
  const auto plain = std::get<ChangeMessage>(
      ParsePgOutput(Bytes().Byte('U').Int(7, 4).Byte('N').Int(1, 2).Text("2").str()));
  EXPECT_FALSE(plain.old_tuple.has_value());
  const auto d = std::get<ChangeMessage>(
      ParsePgOutput(Bytes().Byte('D').Int(7, 4).Byte('K').Int(1, 2).Text("9").str()));
  EXPECT_EQ(d.op, ChangeMessage::Op::kDelete);
  EXPECT_EQ((*d.old_tuple)[0].text, "9");
}

TEST(PgOutput, TruncateAndLogicalMessages) {
  const auto t = std::get<TruncateMessage>(
      ParsePgOutput(Bytes().Byte('T').Int(2, 4).Byte(0).Int(7, 4).Int(8, 4).str()));
  EXPECT_EQ(t.relations, (std::vector<std::uint32_t>{7, 8}));
  const auto m = std::get<LogicalMessage>(ParsePgOutput(
      Bytes().Byte('M').Byte(0).Int(0x200, 8).Str("cutover_sync:app").Int(3, 4).Raw("abc").str()));
  EXPECT_FALSE(m.transactional);
  EXPECT_EQ(m.prefix, "cutover_sync:app");
  EXPECT_EQ(m.content, "abc");
  EXPECT_EQ(std::get<IgnoredMessage>(ParsePgOutput("Ysomething")).tag, 'Y');
}

TEST(PgOutput, RefusesWhatRunsPastTheMessage) {
  for (const std::string& bad :
       {std::string("B\x01"),
        Bytes().Byte('I').Int(7, 4).Byte('N').Int(1, 2).Byte('t').Int(99, 4).str(),
        Bytes().Byte('R').Int(1, 4).Raw("public").str(),  // unterminated string
        Bytes().Byte('I').Int(7, 4).Byte('X').str(), Bytes().Byte('T').Int(1000, 4).Byte(0).str()})
    EXPECT_THROW(ParsePgOutput(bad), SyncError) << bad.size();
}

}  // namespace
}  // namespace cutover::sync

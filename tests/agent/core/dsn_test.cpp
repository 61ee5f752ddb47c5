#include "agent/core/dsn.hpp"

#include <gtest/gtest.h>

namespace cutover::agent {
namespace {

TEST(RedactDsn, MasksTheUserInfoPasswordOfAUri) {
  EXPECT_EQ(RedactDsn("postgresql://app:s3cret@db.example:5432/app"),
            "postgresql://app:***@db.example:5432/app");
  EXPECT_EQ(RedactDsn("postgres://app:s3cret@h1,h2/app?sslmode=require"),
            "postgres://app:***@h1,h2/app?sslmode=require");
}

TEST(RedactDsn, MasksPasswordQueryParameters) {
  EXPECT_EQ(RedactDsn("postgresql://db/app?user=app&password=s3cret&sslpassword=k3y"),
            "postgresql://db/app?user=app&password=***&sslpassword=***");
}

TEST(RedactDsn, LeavesDsnsWithoutAPasswordAlone) {
  EXPECT_EQ(RedactDsn("postgresql://app@db:5432/app"), "postgresql://app@db:5432/app");
  EXPECT_EQ(RedactDsn("postgresql://db:5432/app"), "postgresql://db:5432/app");
  EXPECT_EQ(RedactDsn("sqlite:///var/lib/app/app.db"), "sqlite:///var/lib/app/app.db");
  EXPECT_EQ(RedactDsn("host=db dbname=app"), "host=db dbname=app");
}

TEST(RedactDsn, MasksAPasswordHoldingAnAtSign) {
  const std::string redacted = RedactDsn("postgresql://app:p@ss@db/app");
  EXPECT_EQ(redacted.find("p@ss"), std::string::npos) << redacted;
  EXPECT_EQ(redacted.find("ss@"), std::string::npos) << redacted;
}

// The forms the journal's own redaction let through (issue 9), and the ones
// that only libpq's reading of a URI reveals (issue 15, #20).
TEST(RedactDsn, MasksEveryPasswordLibpqWouldRead) {
  for (const char* dsn : {
           "postgresql://db/x?password=s3cret",
           "postgresql://app:p@ss@db/x",
           "postgresql://u:Pw?Secret1@host/db",
           "postgresql://u@host/db?pass%77ord=Secret2",
           "postgresql://u@host/db?%70assword=Secret3&sslmode=require",
           "postgres://u:a%40b%3Fc@h1,h2:5432,5433/db?target_session_attrs=any",
           "postgresql://u@host/db?sslpassword=Secret4",
       }) {
    const std::string redacted = RedactDsn(dsn);
    for (const char* secret : {"s3cret", "p@ss", "Secret", "a%40b", "Pw"})
      EXPECT_EQ(redacted.find(secret), std::string::npos) << dsn << " -> " << redacted;
    EXPECT_NE(redacted.find("***"), std::string::npos) << dsn << " -> " << redacted;
  }
  EXPECT_EQ(RedactDsn("postgresql://db/x?password=s3cret"), "postgresql://db/x?password=***");
  EXPECT_EQ(RedactDsn("postgresql://u@host/db?pass%77ord=Secret2"),
            "postgresql://u@host/db?pass%77ord=***");
}

// Found by tests/fuzz/dsn_fuzzer.cpp: the query's password was missed when a
// '@' and a '/' came after the '?' ("the path" was looked for from the start).
TEST(RedactDsn, FindsTheQueryWhereLibpqDoesWhateverFollowsIt) {
  for (const char* dsn : {"postgresql://u:pw@h?password=a@b/Secret5",
                          "postgresql://h/db?sslmode=disable&password=Secret6@b/c",
                          "postgresql://u@h:5432?password=Secret7/x@y"}) {
    const std::string redacted = RedactDsn(dsn);
    EXPECT_EQ(redacted.find("Secret"), std::string::npos) << dsn << " -> " << redacted;
  }
  EXPECT_EQ(RedactDsn("postgresql://u@h:5432?password=Secret7/x@y"),
            "postgresql://u@h:5432?password=***");
}

TEST(RedactDsn, MasksAUriLibpqCannotReadWhole) {
  EXPECT_EQ(RedactDsn("postgresql://u:secret@[::1/db"), "postgresql://***");
}

// Found by tests/fuzz/dsn_fuzzer.cpp: libpq cannot read the original (the
// unknown keyword "y"), but would read the masked "password=***y=z" as the
// password "***y=z": such a string is masked whole.
TEST(RedactDsn, MasksWholeAnUnreadableStringWhoseMaskedFormLibpqWouldMisread) {
  EXPECT_EQ(RedactDsn("host=db password='x'y=z"), "***");
  EXPECT_EQ(RedactDsn("host=db password='it\\'s a host=db ='iswe=app"), "***");
}

TEST(RedactDsn, MasksKeywordPasswordsQuotedOrNot) {
  EXPECT_EQ(RedactDsn("host=db password=s3cret dbname=app"), "host=db password=*** dbname=app");
  EXPECT_EQ(RedactDsn("host=db password = 'it\\'s a \\\\ secret' dbname=app"),
            "host=db password = *** dbname=app");
  EXPECT_EQ(RedactDsn("password=s3cret"), "password=***");
}

TEST(RedactDsn, MasksTheRestOfAKeywordStringItCannotParse) {
  // An unquoted password with a space: libpq itself would choke on "secret".
  const std::string redacted = RedactDsn("host=db password=my secret dbname=app");
  EXPECT_EQ(redacted.find("my"), std::string::npos) << redacted;
  EXPECT_EQ(redacted.find("secret"), std::string::npos) << redacted;
  EXPECT_EQ(redacted.rfind("host=db", 0), 0u) << redacted;
  const std::string unterminated = RedactDsn("host=db password='s3cret");
  EXPECT_EQ(unterminated.find("s3cret"), std::string::npos) << unterminated;
}

TEST(SecretScrubber, RemovesRawAndDecodedPasswordsFromText) {
  const SecretScrubber scrubber("postgresql://app:p%40ss%2Fw0rd@db/app");
  EXPECT_EQ(scrubber.Scrub("bad token \"p%40ss%2Fw0rd\" and p@ss/w0rd"),
            "bad token \"***\" and ***");
  const SecretScrubber keyword("host=db password='two words'");
  EXPECT_EQ(keyword.Scrub("x two words y 'two words'"), "x *** y ***");
}

TEST(SecretScrubber, KeepsEachSecretOnceAndNeverRescansItsOwnMask) {
  std::string dsn = "host=db";
  for (int i = 0; i < 18; ++i) dsn += " password=*";
  const SecretScrubber scrubber(dsn);
  EXPECT_EQ(scrubber.Scrub("a * b ** c"), "a *** b ****** c");
  const std::string big(1 << 20, '*');
  EXPECT_EQ(scrubber.Scrub(big).size(), big.size() * 3);
}

TEST(PostgresDsnProblem, AcceptsValidDsnsAndNamesTheProblemOfBadOnes) {
  EXPECT_FALSE(PostgresDsnProblem("postgresql://app@db/app").has_value());
  EXPECT_FALSE(PostgresDsnProblem("host=db dbname=app").has_value());
  const auto problem = PostgresDsnProblem("host=db nonsense=1");
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("nonsense"), std::string::npos) << *problem;
}

TEST(PostgresDsnProblem, NeverQuotesAPassword) {
  for (const char* dsn : {"host=db password=my secret", "postgresql://app:s3%zzcret@db/app",
                          "postgresql://db/app?password=s3cret&bogus=1"}) {
    const auto problem = PostgresDsnProblem(dsn);
    ASSERT_TRUE(problem.has_value()) << dsn;
    EXPECT_EQ(problem->find("secret"), std::string::npos) << *problem;
    EXPECT_EQ(problem->find("cret"), std::string::npos) << *problem;
  }
}

TEST(SqliteDsn, NamesTheFile) {
  EXPECT_TRUE(IsSqliteDsn("sqlite:///var/a.db"));
  EXPECT_EQ(SqlitePath("sqlite:///var/a.db"), "/var/a.db");
  EXPECT_EQ(SqlitePath("sqlite:/var/a.db"), "/var/a.db");
  EXPECT_EQ(SqlitePath("sqlite:a.db"), "a.db");
  EXPECT_FALSE(IsSqliteDsn("postgresql://db/app"));
}

}  // namespace
}  // namespace cutover::agent

#include "agent/server/flags.hpp"

#include <gtest/gtest.h>

namespace cutover::agent {
namespace {

using namespace std::chrono_literals;

std::string ErrorOf(const std::vector<std::string>& args) {
  try {
    ParseFlags(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Flags, ParsesEveryFlag) {
  AgentFlags f =
      ParseFlags({"--state-file", "/s", "--listen", "unix:/run/a.sock", "--listen=127.0.0.1:7000",
                  "--token-file", "/t", "--tls-cert", "/c", "--tls-key", "/k", "--journal",
                  "postgresql://x@y/z", "--metrics", "127.0.0.1:9100", "--tick=250ms"});
  EXPECT_EQ(f.state_file, "/s");
  EXPECT_EQ(f.listen, (std::vector<std::string>{"unix:/run/a.sock", "127.0.0.1:7000"}));
  EXPECT_EQ(f.token_file, "/t");
  EXPECT_EQ(f.journal, "postgresql://x@y/z");
  EXPECT_EQ(f.metrics, "127.0.0.1:9100");
  EXPECT_EQ(f.tick, 250ms);
}

TEST(Flags, HttpListenersAndWebhooksRepeat) {
  AgentFlags f = ParseFlags({"--state-file", "/s", "--http", "unix:/run/cutover/http.sock",
                             "--http=127.0.0.1:9472", "--notify", "https://hooks.example/a",
                             "--notify=http://127.0.0.1:9000/b"});
  EXPECT_EQ(f.http, (std::vector<std::string>{"unix:/run/cutover/http.sock", "127.0.0.1:9472"}));
  EXPECT_EQ(f.notify,
            (std::vector<std::string>{"https://hooks.example/a", "http://127.0.0.1:9000/b"}));
  EXPECT_EQ(f.listen, std::vector<std::string>{kDefaultListen});  // --http is not --listen
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--http", "9472"}),
            "--http: expected HOST:PORT or unix:/path, got \"9472\"");
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--http", "unix:run/x.sock"}),
            "--http: a unix socket needs an absolute path, got \"unix:run/x.sock\"");
  // A webhook's URL is a secret: the error says what is wrong without it.
  const std::string bad = ErrorOf({"--state-file", "/s", "--notify", "hooks.example/T0K3N"});
  EXPECT_EQ(bad, "--notify: must be an http:// or https:// URL with a host");
}

TEST(Flags, Defaults) {
  AgentFlags f = ParseFlags({"--state-file", "/s"});
  EXPECT_EQ(f.listen, std::vector<std::string>{kDefaultListen});
  EXPECT_EQ(f.tick, 100ms);
}

TEST(Flags, HelpAndVersionNeedNothingElse) {
  EXPECT_TRUE(ParseFlags({"--help"}).help);
  EXPECT_TRUE(ParseFlags({"-h"}).help);
  EXPECT_TRUE(ParseFlags({"--version"}).version);
  // What follows is not looked at.
  EXPECT_TRUE(ParseFlags({"--version", "--tick", "fast"}).version);
}

TEST(Flags, HelpDescribesEveryFlag) {
  const std::string help = Help();
  for (const char* flag :
       {"--state-file", "--listen", "--socket-group", "--token-file", "--tls-cert", "--tls-key",
        "--journal", "--metrics", "--tick", "--help", "--version"}) {
    EXPECT_NE(help.find(std::string("\n  ") + flag + " "), std::string::npos) << flag;
    EXPECT_NE(Usage().find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.find("Exit status:"), std::string::npos);
}

TEST(Flags, SocketGroup) {
  EXPECT_EQ(ParseFlags({"--state-file", "/s", "--socket-group", "www-data"}).socket_group,
            "www-data");
  EXPECT_EQ(ParseFlags({"--state-file", "/s"}).socket_group, "");
}

TEST(Flags, Errors) {
  EXPECT_EQ(ErrorOf({}), "--state-file is required");
  EXPECT_EQ(ErrorOf({"--state-file"}), "--state-file: needs a value");
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--bogus"}), "unknown flag \"--bogus\"");
  EXPECT_NE(ErrorOf({"--state-file", "/s", "--tick", "fast"}).find("--tick"), std::string::npos);
  EXPECT_NE(ErrorOf({"--state-file", "/s", "--listen", "nohost"}).find("--listen"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--state-file", "/s", "--listen", "unix:relative"}).find("absolute"),
            std::string::npos);
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--tls-cert", "/c"}),
            "--tls-cert and --tls-key go together");
}

TEST(Flags, AFleetNodeJournalsIntoTheFleetsDatabase) {
  AgentFlags f =
      ParseFlags({"--state-file", "/s", "--fleet", "postgresql://u@db/fleet", "--node=lb-1"});
  EXPECT_EQ(f.fleet, "postgresql://u@db/fleet");
  EXPECT_EQ(f.node, "lb-1");
  EXPECT_EQ(f.journal, "postgresql://u@db/fleet");
  // The same database named twice is fine.
  EXPECT_EQ(ParseFlags({"--state-file", "/s", "--fleet", "postgresql://u@db/fleet", "--node",
                        "lb-1", "--journal", "postgresql://u@db/fleet"})
                .journal,
            "postgresql://u@db/fleet");
}

TEST(Flags, FleetErrorsNameTheFlagAndNeverThePassword) {
  const std::string fleet = "postgresql://u:Hunter2-Fleet@db/fleet";
  const std::string elsewhere =
      ErrorOf({"--state-file", "/s", "--fleet", fleet, "--node", "a", "--journal", "/var/j"});
  EXPECT_EQ(elsewhere.rfind("--journal: with --fleet the journal is the fleet's database", 0), 0u)
      << elsewhere;
  EXPECT_NE(elsewhere.find("/var/j"), std::string::npos);
  EXPECT_EQ(elsewhere.find("Hunter2"), std::string::npos) << elsewhere;
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--fleet", fleet}),
            "--fleet needs --node NAME (this node's name)");
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--node", "a"}), "--node: only with --fleet");
  const std::string not_pg =
      ErrorOf({"--state-file", "/s", "--fleet", "mysql://u:Hunter2-Fleet@db", "--node", "a"});
  EXPECT_EQ(not_pg.rfind("--fleet: expected a postgresql:// URI", 0), 0u) << not_pg;
  EXPECT_EQ(not_pg.find("Hunter2"), std::string::npos) << not_pg;
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--fleet", "postgresql://db/f", "--node", "a b"})
                .rfind("--node:", 0),
            0u);
  EXPECT_EQ(ErrorOf({"--state-file", "/s", "--fleet", "postgresql://db/f", "--node",
                     std::string(64, 'n')})
                .rfind("--node:", 0),
            0u);
}

}  // namespace
}  // namespace cutover::agent

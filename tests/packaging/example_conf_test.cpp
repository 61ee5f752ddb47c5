// conf/nginx.conf is the production example operators copy: it must pass
// `nginx -t` with the real module, with only its host paths moved into a
// temporary directory.
#include <gtest/gtest.h>

#include <regex>

#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

// Replaces `from` (which must be there) with `to`.
void ReplaceIn(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "conf/nginx.conf no longer has: " << from;
  text.replace(at, from.size(), to);
}

class ExampleNginxConf : public ::testing::Test {
 protected:
  // conf/nginx.conf with the module from the build and paths under dir_.
  std::string Localized() {
    std::string conf = ReadFile(std::string(CUTOVER_SOURCE_DIR) + "/conf/nginx.conf");
    ReplaceIn(conf, "include /etc/nginx/modules-enabled/*.conf;",
              "load_module " + ModulePath() + ";");
    ReplaceIn(conf, "pid /run/nginx.pid;", "pid " + (dir_ / "nginx.pid") + ";");
    ReplaceIn(conf, "error_log /var/log/nginx/error.log;",
              "error_log " + (dir_ / "error.log") + ";");
    ReplaceIn(conf, "access_log /var/log/nginx/access.log cutover;",
              "access_log " + (dir_ / "access.log") + " cutover;");
    ReplaceIn(conf, "cutover_state_file /var/lib/nginx/cutover.state;",
              "cutover_state_file " + state_path() + ";");
    // nginx -t creates its temp directories: keep them out of /var/lib/nginx.
    std::string temp_paths;
    for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
      temp_paths += std::string("    ") + kind + "_temp_path " + (dir_ / kind) + ";\n";
    ReplaceIn(conf, "http {\n", "http {\n" + temp_paths);
    return conf;
  }
  RunResult NginxT(const std::string& conf) {
    WriteFile(dir_ / "nginx.conf", conf);
    auto r = test::Run({CUTOVER_NGINX_BINARY, "-t", "-p", dir_.path() + "/", "-e",
                        dir_ / "error.log", "-c", dir_ / "nginx.conf"});
    r.err = r.out + r.err;
    return r;
  }
  std::string state_path() const { return dir_ / "cutover.state"; }

  TempDir dir_{"example-conf"};
};

TEST_F(ExampleNginxConf, PassesNginxTWithTheModule) {
  auto t = NginxT(Localized());
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.err.find("test is successful"), std::string::npos) << t.err;
  EXPECT_EQ(t.err.find("[warn]"), std::string::npos) << t.err;
}

TEST_F(ExampleNginxConf, IsCheckedByTheModuleNotJustParsed) {
  // The same file with a mistake in a cutover parameter is refused, with
  // the line: the module really validated the example above.
  std::string conf = Localized();
  ReplaceIn(conf, "failover=on;", "failover=maybe;");
  auto t = NginxT(conf);
  EXPECT_NE(t.exit_code, 0);
  EXPECT_NE(t.err.find("failover="), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("nginx.conf:"), std::string::npos) << t.err;
}

}  // namespace
}  // namespace cutover::test

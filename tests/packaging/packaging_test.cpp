// The Debian packages and `cmake --install`: files where Debian's nginx and
// systemd look for them, and the packaged module loading into the real nginx.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

namespace fs = std::filesystem;

// Builds the .debs from the current build tree, as `cpack -G DEB` would.
class Packages {
 public:
  Packages() : dir_("cutover-deb") {
    auto r = test::Run({CUTOVER_CPACK, "-G", "DEB", "-B", dir_.path(), "--config",
                        std::string(CUTOVER_BINARY_DIR) + "/CPackConfig.cmake"});
    if (r.exit_code != 0) throw std::runtime_error("cpack failed:\n" + r.out + r.err);
  }
  // The one .deb whose package name is `name`.
  std::string Deb(const std::string& name) const {
    std::string found;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      const std::string file = entry.path().filename();
      if (entry.path().extension() == ".deb" && file.starts_with(name + "_")) {
        if (!found.empty()) throw std::runtime_error("two packages named " + name);
        found = entry.path();
      }
    }
    if (found.empty()) throw std::runtime_error("no package named " + name);
    return found;
  }
  // The package unpacked (dpkg-deb -x) into a fresh root.
  std::string Extract(const std::string& name, const TempDir& root) const {
    auto r = test::Run({"dpkg-deb", "-x", Deb(name), root.path()});
    if (r.exit_code != 0) throw std::runtime_error("dpkg-deb -x failed: " + r.err);
    return root.path();
  }
  std::string Field(const std::string& name, const std::string& field) const {
    return test::Run({"dpkg-deb", "-f", Deb(name), field}).out;
  }

 private:
  TempDir dir_;
};

// What Debian's nginx package says its module ABI is.
std::string NginxAbi() {
  std::smatch m;
  const std::string provides = test::Run({"dpkg-query", "-W", "-f=${Provides}", "nginx"}).out;
  return std::regex_search(provides, m, std::regex("nginx-abi-[^ ,]+")) ? m.str() : "";
}

TEST(Packages, ModuleDebLoadsIntoDebiansNginx) {
  Packages packages;
  TempDir root("deb-root");
  packages.Extract("cutover-nginx-module", root);

  const std::string so = root / "usr/lib/nginx/modules/ngx_http_cutover_module.so";
  const std::string snippet = root / "usr/share/nginx/modules-available/mod-http-cutover.conf";
  ASSERT_TRUE(FileExists(so));
  ASSERT_TRUE(FileExists(snippet));
  EXPECT_EQ(ReadFile(snippet), "load_module modules/ngx_http_cutover_module.so;\n");

  const std::string abi = NginxAbi();
  ASSERT_FALSE(abi.empty()) << "Debian's nginx should provide nginx-abi-*";
  EXPECT_NE(packages.Field("cutover-nginx-module", "Depends").find(abi), std::string::npos);

  // Debian's nginx runs with prefix /usr/share/nginx, where nginx-common
  // links modules -> /usr/lib/nginx/modules: the snippet's relative path
  // resolves through that link, as it will on a real system.
  fs::create_directory_symlink("../../lib/nginx/modules", root / "usr/share/nginx/modules");
  TempDir run("deb-nginx");
  // A configuration only the cutover module understands.
  WriteFile(run / "nginx.conf",
            "include " + snippet + ";\n" + "pid " + (run / "nginx.pid") + ";\n" + "events {}\n" +
                "http {\n" + "  access_log off;\n" + "  cutover_state_file " +
                (run / "cutover.state") + ";\n" + "  upstream app_blue { server 127.0.0.1:1; }\n" +
                "  upstream app_green { server 127.0.0.1:2; }\n" +
                "  upstream app { cutover blue=app_blue green=app_green; }\n" + "  server {\n" +
                "    listen 127.0.0.1:" + std::to_string(FreePort()) + ";\n" +
                "    location / { proxy_pass http://app; }\n" +
                "    location = /status { cutover_status; }\n" + "  }\n" + "}\n");
  auto t = test::Run({CUTOVER_NGINX_BINARY, "-t", "-p", root / "usr/share/nginx/", "-e",
                      run / "error.log", "-c", run / "nginx.conf"});
  EXPECT_EQ(t.exit_code, 0) << t.out << t.err;
  EXPECT_NE(t.err.find("test is successful"), std::string::npos) << t.err;

  // And nginx really resolved the module through the package's files: with
  // the .so gone, the same configuration fails.
  fs::remove(so);
  auto missing = test::Run({CUTOVER_NGINX_BINARY, "-t", "-p", root / "usr/share/nginx/", "-e",
                            run / "error.log", "-c", run / "nginx.conf"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("ngx_http_cutover_module.so"), std::string::npos) << missing.err;
}

TEST(Packages, ModuleDebEnablesItselfLikeDebiansModules) {
  Packages packages;
  TempDir control("deb-control");
  ASSERT_EQ(
      test::Run({"dpkg-deb", "-e", packages.Deb("cutover-nginx-module"), control.path()}).exit_code,
      0);
  for (const char* script : {"postinst", "postrm"}) {
    ASSERT_TRUE(FileExists(control / script)) << script;
    EXPECT_EQ(fs::status(control / script).permissions() & fs::perms::owner_exec,
              fs::perms::owner_exec)
        << script;
    EXPECT_EQ(test::Run({"sh", "-n", control / script}).exit_code, 0) << script;
  }
  EXPECT_NE(
      ReadFile(control / "postinst").find("/etc/nginx/modules-enabled/50-mod-http-cutover.conf"),
      std::string::npos);
}

TEST(Packages, CutoverDebCarriesAgentCliUnitAndExamples) {
  Packages packages;
  TempDir root("deb-root");
  packages.Extract("cutover", root);
  for (const char* path :
       {"usr/lib/systemd/system/cutover-agent.service", "usr/share/cutover/plans/conservative.yaml",
        "usr/share/cutover/plans/fast.yaml", "usr/share/cutover/grafana/cutover-dashboard.json",
        "usr/share/cutover/prometheus/cutover-alerts.yaml",
        "usr/share/doc/cutover/examples/nginx.conf"})
    EXPECT_TRUE(FileExists(root / path)) << path;
  // The unit starts the binary where the package puts it.
  EXPECT_NE(ReadFile(root / "usr/lib/systemd/system/cutover-agent.service")
                .find("ExecStart=/usr/bin/cutover-agent"),
            std::string::npos);
  for (const char* bin : {"usr/bin/cutover-agent", "usr/bin/cutoverctl"}) {
    ASSERT_TRUE(FileExists(root / bin)) << bin;
    EXPECT_EQ(fs::status(root / bin).permissions() & fs::perms::owner_exec, fs::perms::owner_exec);
  }
  // The demo app is for demonstrations, not production hosts.
  EXPECT_FALSE(FileExists(root / "usr/bin/cutover-demo-app"));
}

TEST(Systemd, AgentUnitVerifies) {
  if (test::Run({"sh", "-c", "command -v systemd-analyze"}).exit_code != 0)
    GTEST_SKIP() << "systemd-analyze is not installed (no systemd on this host)";
  // The unit as packaged, pointed at the agent just built instead of /usr/bin.
  TempDir dir("unit");
  std::string unit =
      ReadFile(std::string(CUTOVER_SOURCE_DIR) + "/conf/systemd/cutover-agent.service");
  const std::string packaged = "ExecStart=/usr/bin/cutover-agent";
  const auto at = unit.find(packaged);
  ASSERT_NE(at, std::string::npos);
  unit.replace(at, packaged.size(), std::string("ExecStart=") + CUTOVER_AGENT_BINARY);
  WriteFile(dir / "cutover-agent.service", unit);
  auto r = test::Run({"systemd-analyze", "verify", dir / "cutover-agent.service"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "") << "systemd has remarks about the unit";

  // And the flags the unit passes are ones the agent takes.
  for (const char* flag : {"--state-file", "--listen", "--journal", "--metrics"}) {
    EXPECT_NE(unit.find(flag), std::string::npos) << flag;
    EXPECT_NE(test::Run({CUTOVER_AGENT_BINARY, "--help"}).out.find(flag), std::string::npos)
        << flag;
  }
}

TEST(Install, PutsEveryPartInTheConventionalPlace) {
  TempDir root("install-root");
  const std::string prefix = root / "usr";
  auto r = test::Run({CUTOVER_CMAKE, "--install", CUTOVER_BINARY_DIR, "--prefix", prefix});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* path : {"lib/nginx/modules/ngx_http_cutover_module.so",
                           "share/nginx/modules-available/mod-http-cutover.conf",
                           "lib/systemd/system/cutover-agent.service",
                           "share/cutover/plans/conservative.yaml", "bin/cutover-demo-app"})
    EXPECT_TRUE(FileExists(prefix + "/" + path)) << path;
  EXPECT_TRUE(FileExists(prefix + "/bin/cutover-agent"));
  EXPECT_TRUE(FileExists(prefix + "/bin/cutoverctl"));
}

}  // namespace
}  // namespace cutover::test

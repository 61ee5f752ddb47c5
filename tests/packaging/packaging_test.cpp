// The Debian packages and `cmake --install`: built the Debian way
// (packaging/build-debs.sh: debhelper over this build tree), clean for
// lintian, files where Debian's nginx and systemd look for them, the module
// loading into the real nginx, and the maintainer scripts doing what
// dh_nginx's do to /etc/nginx/modules-enabled.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>

#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

namespace fs = std::filesystem;

const std::string kSource = CUTOVER_SOURCE_DIR;

// The .debs of the current build tree, made once for the suite.
class Packages {
 public:
  Packages() : dir_("cutover-deb") {
    auto r =
        test::Run({"bash", kSource + "/packaging/build-debs.sh", CUTOVER_BINARY_DIR, dir_.path()});
    if (r.exit_code != 0) throw std::runtime_error("build-debs.sh failed:\n" + r.out + r.err);
    log_ = r.out + r.err;
  }
  const std::string& dir() const { return dir_.path(); }
  // The one package file whose package name is `name` (.deb, or .ddeb for -dbgsym).
  std::string Deb(const std::string& name) const {
    std::string found;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
      const std::string file = entry.path().filename();
      const auto ext = entry.path().extension();
      if ((ext == ".deb" || ext == ".ddeb") && file.starts_with(name + "_")) {
        if (!found.empty()) throw std::runtime_error("two packages named " + name);
        found = entry.path();
      }
    }
    if (found.empty()) throw std::runtime_error("no package named " + name + "\n" + log_);
    return found;
  }
  // The package unpacked (dpkg-deb -x) into a fresh root.
  void Extract(const std::string& name, const TempDir& root) const {
    auto r = test::Run({"dpkg-deb", "-x", Deb(name), root.path()});
    if (r.exit_code != 0) throw std::runtime_error("dpkg-deb -x failed: " + r.err);
  }
  // Its control files (dpkg-deb -e).
  void Control(const std::string& name, const TempDir& into) const {
    auto r = test::Run({"dpkg-deb", "-e", Deb(name), into.path()});
    if (r.exit_code != 0) throw std::runtime_error("dpkg-deb -e failed: " + r.err);
  }
  std::string Field(const std::string& name, const std::string& field) const {
    return test::Run({"dpkg-deb", "-f", Deb(name), field}).out;
  }

 private:
  TempDir dir_;
  std::string log_;
};

class DebianPackages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { packages_ = std::make_unique<Packages>(); }
  static void TearDownTestSuite() { packages_.reset(); }
  static const Packages& packages() { return *packages_; }

 private:
  static std::unique_ptr<Packages> packages_;
};
std::unique_ptr<Packages> DebianPackages::packages_;

constexpr const char* kModulePackage = "libnginx-mod-http-cutover";
constexpr const char* kEnabledLink = "50-mod-http-cutover.conf";

// What Debian's nginx package says its module ABI is.
std::string NginxAbi() {
  std::smatch m;
  const std::string provides = test::Run({"dpkg-query", "-W", "-f=${Provides}", "nginx"}).out;
  return std::regex_search(provides, m, std::regex("nginx-abi-[^ ,]+")) ? m.str() : "";
}

TEST_F(DebianPackages, LintianReportsNoErrorOrWarning) {
  std::vector<std::string> argv = {"lintian", "--fail-on", "error,warning",
                                   "--no-tag-display-limit"};
  for (const char* name : {kModulePackage, "cutover"}) argv.push_back(packages().Deb(name));
  const auto r = test::Run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("E: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("W: "), std::string::npos) << r.out;
}

TEST_F(DebianPackages, ChangelogVersionIsTheProjectVersion) {
  for (const char* name : {kModulePackage, "cutover"})
    EXPECT_EQ(packages().Field(name, "Version"), std::string(CUTOVER_PROJECT_VERSION) + "\n")
        << name;
}

TEST_F(DebianPackages, ModuleDebLoadsIntoDebiansNginx) {
  TempDir root("deb-root");
  packages().Extract(kModulePackage, root);

  const std::string so = root / "usr/lib/nginx/modules/ngx_http_cutover_module.so";
  const std::string snippet = root / "usr/share/nginx/modules-available/mod-http-cutover.conf";
  ASSERT_TRUE(FileExists(so));
  ASSERT_TRUE(FileExists(snippet));
  EXPECT_EQ(ReadFile(snippet), "load_module modules/ngx_http_cutover_module.so;\n");

  const std::string abi = NginxAbi();
  ASSERT_FALSE(abi.empty()) << "Debian's nginx should provide nginx-abi-*";
  EXPECT_NE(packages().Field(kModulePackage, "Depends").find(abi), std::string::npos)
      << packages().Field(kModulePackage, "Depends");

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

// Runs a maintainer script of the module package as dpkg would, against a
// scratch /etc/nginx: in a private mount namespace the scratch directory is
// mounted over /etc/nginx, and dpkg-trigger (which only works inside a dpkg
// run) is a stand-in that records what it was asked.
class MaintainerScripts {
 public:
  explicit MaintainerScripts(const Packages& packages) {
    packages.Control(kModulePackage, control_);
    fs::create_directories(etc_ / "modules-enabled");
    WriteFile(bin_ / "dpkg-trigger", "#!/bin/sh\necho \"$@\" >> " + (bin_ / "triggers") + "\n");
    fs::permissions(bin_ / "dpkg-trigger", fs::perms::owner_all);
  }
  static bool CanRun() {
    return test::Run({"unshare", "-m", "--propagation", "private", "true"}).exit_code == 0;
  }
  RunResult Run(const std::string& script, const std::vector<std::string>& args) {
    std::string command = "mount --bind " + etc_.path() + " /etc/nginx && PATH=" + bin_.path() +
                          ":$PATH sh " + (control_ / script);
    for (const auto& a : args) command += " '" + a + "'";
    return test::Run({"unshare", "-m", "--propagation", "private", "sh", "-c", command});
  }
  std::string Enabled(const std::string& name) const { return etc_ / ("modules-enabled/" + name); }
  bool IsLink(const std::string& name) const { return fs::is_symlink(Enabled(name)); }
  std::string Triggers() const {
    return FileExists(bin_ / "triggers") ? ReadFile(bin_ / "triggers") : "";
  }
  const TempDir& control() const { return control_; }

 private:
  TempDir control_{"deb-control"};
  TempDir etc_{"etc-nginx"};
  TempDir bin_{"deb-bin"};
};

TEST_F(DebianPackages, ModuleLinkIsHandledAsDhNginxDoes) {
  if (!MaintainerScripts::CanRun()) GTEST_SKIP() << "no mount namespaces here (unshare -m)";
  MaintainerScripts scripts(packages());
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    EXPECT_EQ(test::Run({"sh", "-n", scripts.control() / script}).exit_code, 0) << script;
    EXPECT_NE(ReadFile(scripts.control() / script).find("dh_nginx"), std::string::npos) << script;
  }
  const std::string link = kEnabledLink;
  const std::string removed = link + ".removed";

  // A fresh install links the module in, and asks nginx to reload.
  auto r = scripts.Run("postinst", {"configure", ""});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(scripts.IsLink(link));
  EXPECT_EQ(fs::read_symlink(scripts.Enabled(link)),
            "/usr/share/nginx/modules-available/mod-http-cutover.conf");
  EXPECT_NE(scripts.Triggers().find("nginx-reload"), std::string::npos);

  // The admin disables it; an upgrade keeps it disabled.
  fs::remove(scripts.Enabled(link));
  ASSERT_EQ(scripts.Run("postinst", {"configure", "0.1.0"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(fs::symlink_status(scripts.Enabled(link))));

  // Enabled again; a removal renames the link instead of deleting it...
  ASSERT_EQ(scripts.Run("postinst", {"configure", ""}).exit_code, 0);
  ASSERT_EQ(scripts.Run("prerm", {"remove"}).exit_code, 0);
  ASSERT_EQ(scripts.Run("postrm", {"remove"}).exit_code, 0);
  EXPECT_FALSE(scripts.IsLink(link));
  EXPECT_TRUE(scripts.IsLink(removed));
  // ...so that reinstalling brings it back,
  ASSERT_EQ(scripts.Run("postinst", {"configure", "0.1.0"}).exit_code, 0);
  EXPECT_TRUE(scripts.IsLink(link));
  EXPECT_FALSE(scripts.IsLink(removed));
  // and only a purge deletes it.
  ASSERT_EQ(scripts.Run("prerm", {"remove"}).exit_code, 0);
  ASSERT_EQ(scripts.Run("postrm", {"remove"}).exit_code, 0);
  ASSERT_EQ(scripts.Run("postrm", {"purge"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(fs::symlink_status(scripts.Enabled(link))));
  EXPECT_FALSE(fs::exists(fs::symlink_status(scripts.Enabled(removed))));
}

// The GNU build id of an ELF file (readelf -n), "" when none.
std::string BuildId(const std::string& path) {
  std::smatch m;
  const std::string notes = test::Run({"readelf", "-n", path}).out;
  return std::regex_search(notes, m, std::regex(R"(Build ID: ([0-9a-f]+))")) ? m[1].str() : "";
}

TEST_F(DebianPackages, BinariesAreStrippedWithTheirDebugSymbolsApart) {
  struct Binary {
    const char* package;
    const char* path;
  };
  for (const Binary& b :
       {Binary{"cutover", "usr/bin/cutover-agent"}, Binary{"cutover", "usr/bin/cutoverctl"},
        Binary{kModulePackage, "usr/lib/nginx/modules/ngx_http_cutover_module.so"}}) {
    SCOPED_TRACE(b.path);
    TempDir root("deb-root"), debug("deb-dbgsym");
    packages().Extract(b.package, root);
    packages().Extract(std::string(b.package) + "-dbgsym", debug);
    const std::string binary = root / b.path;
    ASSERT_TRUE(FileExists(binary));
    const std::string file = test::Run({"file", "-b", binary}).out;
    EXPECT_NE(file.find(", stripped"), std::string::npos) << file;
    EXPECT_EQ(test::Run({"readelf", "-S", binary}).out.find(".debug_info"), std::string::npos);
    // The symbols are in the -dbgsym package, under the binary's build id.
    const std::string id = BuildId(binary);
    ASSERT_GT(id.size(), 2u);
    const std::string symbols =
        debug / ("usr/lib/debug/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug");
    ASSERT_TRUE(FileExists(symbols)) << symbols;
    EXPECT_NE(test::Run({"readelf", "-S", symbols}).out.find(".debug_info"), std::string::npos);
  }
}

TEST_F(DebianPackages, CutoverDebCarriesAgentCliUnitManualsAndConffiles) {
  TempDir root("deb-root");
  packages().Extract("cutover", root);
  for (const char* path :
       {"usr/lib/systemd/system/cutover-agent.service", "etc/cutover/plans/conservative.yaml",
        "etc/cutover/plans/fast.yaml", "etc/cutover/cutover-agent.default",
        "usr/share/cutover/grafana/cutover-dashboard.json",
        "usr/share/cutover/prometheus/cutover-alerts.yaml",
        "usr/share/doc/cutover/examples/nginx.conf", "usr/share/doc/cutover/deployment.md",
        "usr/share/doc/cutover/copyright", "usr/share/doc/cutover/changelog.gz",
        "usr/share/man/man1/cutover-agent.1.gz", "usr/share/man/man1/cutoverctl.1.gz"})
    EXPECT_TRUE(FileExists(root / path)) << path;
  // The unit starts the binary where the package puts it, reads its
  // settings from the conffile, and promises what the agent does.
  const std::string unit = ReadFile(root / "usr/lib/systemd/system/cutover-agent.service");
  EXPECT_NE(unit.find("ExecStart=/usr/bin/cutover-agent"), std::string::npos);
  EXPECT_NE(unit.find("EnvironmentFile=-/etc/cutover/cutover-agent.default"), std::string::npos);
  for (const char* bin : {"usr/bin/cutover-agent", "usr/bin/cutoverctl"}) {
    ASSERT_TRUE(FileExists(root / bin)) << bin;
    EXPECT_EQ(fs::status(root / bin).permissions() & fs::perms::owner_exec, fs::perms::owner_exec);
  }
  // What an operator edits survives upgrades: dpkg keeps it as conffiles.
  TempDir control("deb-control");
  packages().Control("cutover", control);
  const std::string conffiles = ReadFile(control / "conffiles");
  for (const char* f : {"/etc/cutover/plans/conservative.yaml", "/etc/cutover/plans/fast.yaml",
                        "/etc/cutover/cutover-agent.default"})
    EXPECT_NE(conffiles.find(f), std::string::npos) << f << " in\n" << conffiles;
  // The manual pages are the binaries' own help.
  for (const char* page : {"cutover-agent", "cutoverctl"}) {
    const auto man = test::Run(
        {"man", "-l", "-P", "cat", root / ("usr/share/man/man1/" + std::string(page) + ".1.gz")},
        {{"MANWIDTH", "100"}});
    EXPECT_EQ(man.exit_code, 0) << man.err;
    EXPECT_NE(man.out.find("--help"), std::string::npos) << man.out;
    EXPECT_NE(man.out.find("--version"), std::string::npos) << man.out;
  }
  // The demo app is for demonstrations, not production hosts.
  EXPECT_FALSE(FileExists(root / "usr/bin/cutover-demo-app"));
  EXPECT_NE(packages().Field("cutover", "Depends").find("libc6"), std::string::npos);
}

TEST_F(DebianPackages, BothCarryCopyrightAndChangelog) {
  for (const char* name : {kModulePackage, "cutover"}) {
    TempDir root("deb-root");
    packages().Extract(name, root);
    const std::string doc = root / ("usr/share/doc/" + std::string(name));
    EXPECT_NE(ReadFile(doc + "/copyright").find("Format: https://www.debian.org/doc/"),
              std::string::npos)
        << name;
    EXPECT_TRUE(FileExists(doc + "/changelog.gz")) << name;
  }
}

TEST(Systemd, AgentUnitVerifies) {
  if (test::Run({"sh", "-c", "command -v systemd-analyze"}).exit_code != 0)
    GTEST_SKIP() << "systemd-analyze is not installed (no systemd on this host)";
  // The unit as packaged, pointed at the agent just built instead of /usr/bin.
  TempDir dir("unit");
  std::string unit = ReadFile(kSource + "/conf/systemd/cutover-agent.service");
  const std::string packaged = "ExecStart=/usr/bin/cutover-agent";
  const auto at = unit.find(packaged);
  ASSERT_NE(at, std::string::npos);
  unit.replace(at, packaged.size(), std::string("ExecStart=") + CUTOVER_AGENT_BINARY);
  WriteFile(dir / "cutover-agent.service", unit);
  // Its Documentation= names man:cutover-agent(1), which verify looks up:
  // the page this build made, where man finds it.
  std::filesystem::create_directories(dir / "man/man1");
  std::filesystem::copy_file(std::string(CUTOVER_BINARY_DIR) + "/packaging/man/cutover-agent.1",
                             dir / "man/man1/cutover-agent.1");
  auto r = test::Run({"systemd-analyze", "verify", dir / "cutover-agent.service"},
                     {{"MANPATH", dir / "man"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "") << "systemd has remarks about the unit";
}

TEST(Systemd, UnitLetsNginxsGroupSteerAndTheAgentWaitForTheFile) {
  const std::string unit = ReadFile(kSource + "/conf/systemd/cutover-agent.service");
  // The socket carries the state file's group, which is the unit's group.
  EXPECT_NE(unit.find("\nGroup=www-data\n"), std::string::npos);
  // The directory, so a state file nginx creates after the agent started is
  // writable too (a file path given to ReadWritePaths= that does not exist
  // yet is dropped at start, for good).
  EXPECT_NE(unit.find("\nReadWritePaths=-/var/lib/nginx\n"), std::string::npos);
  EXPECT_EQ(unit.find("ReadWritePaths=-/var/lib/nginx/cutover.state"), std::string::npos);
  EXPECT_NE(unit.find("--state-file /var/lib/nginx/cutover.state"), std::string::npos);
}

TEST(Binaries, VersionNamesTheReleaseAndTheStateFileLayout) {
  for (const auto& [name, path] : {std::pair{"cutover-agent", CUTOVER_AGENT_BINARY},
                                   std::pair{"cutoverctl", CUTOVERCTL_BINARY}}) {
    const auto r = test::Run({path, "--version"});
    EXPECT_EQ(r.exit_code, 0) << name << r.err;
    EXPECT_TRUE(
        std::regex_match(r.out, std::regex(std::string(name) + " " + CUTOVER_PROJECT_VERSION +
                                           " \\(state-file layout [0-9]+, revision "
                                           "[0-9]+\\)\n")))
        << r.out;
  }
}

TEST(Install, PutsEveryPartInTheConventionalPlace) {
  TempDir root("install-root");
  const std::string prefix = root / "usr";
  auto r = test::Run({CUTOVER_CMAKE, "--install", CUTOVER_BINARY_DIR, "--prefix", prefix});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* path :
       {"lib/nginx/modules/ngx_http_cutover_module.so",
        "share/nginx/modules-available/mod-http-cutover.conf",
        "lib/systemd/system/cutover-agent.service", "etc/cutover/plans/conservative.yaml",
        "etc/cutover/cutover-agent.default", "share/man/man1/cutover-agent.1",
        "share/man/man1/cutoverctl.1", "bin/cutover-demo-app"})
    EXPECT_TRUE(FileExists(prefix + "/" + path)) << path;
  EXPECT_TRUE(FileExists(prefix + "/bin/cutover-agent"));
  EXPECT_TRUE(FileExists(prefix + "/bin/cutoverctl"));
}

}  // namespace
}  // namespace cutover::test

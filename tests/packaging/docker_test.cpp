// No Docker engine runs where the tests run, so docker/ is kept honest the
// other way: its nginx.conf passes nginx -t with the real module, its
// Dockerfiles build with the very commands the tests' build uses, and the
// compose file only names files and volumes that exist.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

namespace fs = std::filesystem;

const std::string kSource = CUTOVER_SOURCE_DIR;

void ReplaceIn(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "no longer there: " << from;
  text.replace(at, from.size(), to);
}

TEST(Docker, NginxConfPassesNginxTWithTheModule) {
  TempDir dir("docker-nginx");
  std::string conf = ReadFile(kSource + "/docker/nginx.conf");
  ReplaceIn(conf, "include /etc/nginx/modules-enabled/*.conf;",
            "load_module " + ModulePath() + ";");
  ReplaceIn(conf, "pid /run/nginx.pid;", "pid " + (dir / "nginx.pid") + ";");
  ReplaceIn(conf, "cutover_state_file /var/lib/cutover-shared/cutover.state;",
            "cutover_state_file " + (dir / "cutover.state") + ";");
  // The compose services' names resolve only inside the compose network.
  ReplaceIn(conf, "server blue:8000;", "server 127.0.0.1:1;");
  ReplaceIn(conf, "server green:8000;", "server 127.0.0.1:2;");
  std::string temp_paths;
  for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    temp_paths += std::string("    ") + kind + "_temp_path " + (dir / kind) + ";\n";
  ReplaceIn(conf, "http {\n", "http {\n" + temp_paths);
  WriteFile(dir / "nginx.conf", conf);

  auto t = test::Run({CUTOVER_NGINX_BINARY, "-t", "-p", dir.path() + "/", "-e", dir / "error.log",
                      "-c", dir / "nginx.conf"});
  EXPECT_EQ(t.exit_code, 0) << t.out << t.err;
  EXPECT_NE(t.err.find("test is successful"), std::string::npos) << t.err;
}

TEST(Docker, ImagesBuildOnBookwormWithTheTestsInstallScript) {
  int dockerfiles = 0;
  for (const auto& entry : fs::directory_iterator(kSource + "/docker")) {
    const std::string name = entry.path().filename();
    if (!name.starts_with("Dockerfile")) continue;
    ++dockerfiles;
    SCOPED_TRACE(name);
    const std::string text = ReadFile(entry.path());
    EXPECT_NE(text.find("FROM debian:bookworm AS build"), std::string::npos);
    // scripts/test.sh's own steps: the install script, then cmake.
    EXPECT_NE(text.find("RUN bash scripts/install-deps.sh"), std::string::npos);
    EXPECT_NE(text.find("cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo"),
              std::string::npos);
    EXPECT_NE(text.find("bash packaging/build-debs.sh build /debs"), std::string::npos);
    EXPECT_NE(ReadFile(kSource + "/scripts/test.sh").find("bash scripts/install-deps.sh"),
              std::string::npos);
    // Every file the image copies from the repository exists.
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      std::smatch m;
      if (std::regex_match(line, m, std::regex(R"(COPY (\S+) \S+)")) && m[1] != ".") {
        EXPECT_TRUE(fs::exists(kSource + "/" + m[1].str())) << line;
      }
      // Packages copied from the build stage are ones packaging/build-debs.sh makes.
      if (std::regex_match(line, m, std::regex(R"(COPY --from=build /debs/(\S+)_\*\.deb .*)"))) {
        EXPECT_TRUE(m[1] == "cutover" || m[1] == "libnginx-mod-http-cutover") << line;
      }
    }
  }
  EXPECT_EQ(dockerfiles, 3);
}

TEST(Docker, ComposeNamesOnlyWhatExists) {
  const YAML::Node compose = YAML::LoadFile(kSource + "/docker/compose.yaml");
  const YAML::Node services = compose["services"];
  ASSERT_TRUE(services.IsMap());
  for (const char* service : {"postgres", "blue", "green", "nginx", "agent", "migrate"})
    EXPECT_TRUE(services[service].IsDefined()) << service;
  for (const auto& kv : services) {
    const std::string name = kv.first.as<std::string>();
    SCOPED_TRACE(name);
    const YAML::Node svc = kv.second;
    if (svc["build"]) {
      EXPECT_EQ(svc["build"]["context"].as<std::string>(), "..");
      EXPECT_TRUE(FileExists(kSource + "/" + svc["build"]["dockerfile"].as<std::string>()));
    }
    for (const auto& volume : svc["volumes"]) {
      const std::string source =
          volume.as<std::string>().substr(0, volume.as<std::string>().find(':'));
      EXPECT_TRUE(compose["volumes"][source].IsDefined()) << source;
    }
    for (const auto& dep : svc["depends_on"])
      EXPECT_TRUE(services[dep.first.as<std::string>()].IsDefined()) << dep.first;
  }
  // nginx and the agent share the state file through one volume, at the
  // path docker/nginx.conf names and the agent image's command uses.
  const std::string agent_cmd = ReadFile(kSource + "/docker/Dockerfile.agent");
  EXPECT_NE(agent_cmd.find("/var/lib/cutover-shared/cutover.state"), std::string::npos);
  EXPECT_NE(ReadFile(kSource + "/docker/nginx.conf").find("/var/lib/cutover-shared/cutover.state"),
            std::string::npos);
  EXPECT_EQ(services["nginx"]["volumes"][0].as<std::string>(),
            "cutover-shared:/var/lib/cutover-shared");
  EXPECT_EQ(services["agent"]["volumes"][0].as<std::string>(),
            "cutover-shared:/var/lib/cutover-shared");
}

// Debian 12 ships docker-compose 1.29, others run compose v2. 1.29's own
// parser (config -q) validates the file against the compose spec it knows;
// compose v2 reads every file of that spec, and the two differ on top-level
// keys only: 1.29 refuses `name:`, v2 calls `version:` obsolete. The project
// name both take from docker/.env is checked through 1.29's own code.
TEST(Docker, ComposeIsValidForDockerCompose129AndComposeV2) {
  const auto config =
      test::Run({"docker-compose", "-f", kSource + "/docker/compose.yaml", "config", "-q"});
  EXPECT_EQ(config.exit_code, 0) << config.out << config.err;
  const YAML::Node compose = YAML::LoadFile(kSource + "/docker/compose.yaml");
  for (const auto& kv : compose) {
    const std::string key = kv.first.as<std::string>();
    EXPECT_TRUE(key == "services" || key == "volumes" || key == "networks" || key == "configs" ||
                key == "secrets" || key.starts_with("x-"))
        << "top-level key \"" << key << "\" is not read alike by compose 1.29 and v2";
  }
  const auto name = test::Run({"/usr/bin/python3", "-c",
                               "from compose.cli.command import get_project_name\n"
                               "from compose.config.environment import Environment\n"
                               "print(get_project_name('" +
                                   kSource + "/docker', environment=Environment.from_env_file('" +
                                   kSource + "/docker')))"});
  EXPECT_EQ(name.out, "cutover\n") << name.err;
}

}  // namespace
}  // namespace cutover::test

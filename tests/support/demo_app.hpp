// The demo app run as a real process on a free loopback port, for tests.
#pragma once

#include <stdexcept>
#include <string>

#include "support/process.hpp"

namespace cutover::test {

inline RunResult RunDemoApp(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CUTOVER_DEMO_APP};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

class DemoApp {
 public:
  // Serves `db` (sqlite:PATH or postgresql://...) and waits until it answers.
  DemoApp(const TempDir& dir, const std::string& slot, const std::string& db,
          std::vector<std::string> extra = {})
      : port_(FreePort()) {
    std::vector<std::string> argv = {CUTOVER_DEMO_APP,
                                     "--listen",
                                     Address(),
                                     "--db",
                                     db,
                                     "--slot",
                                     slot,
                                     "--version",
                                     slot == "blue" ? "1.0" : "2.0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = Process(argv, dir / ("app-" + slot));
    WaitFor([&] { return !process_.Running() || TcpPortAnswers(port_); });
    if (!process_.Running() || !TcpPortAnswers(port_))
      throw std::runtime_error("demo app did not start:\n" + process_.Stderr());
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Url(const std::string& path) const { return "http://" + Address() + path; }
  Process& process() { return process_; }

 private:
  int port_;
  Process process_;
};

}  // namespace cutover::test

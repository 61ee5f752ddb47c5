// The test Backend in a process of its own (cutover-test-backend), for tests
// that must stop it the way an operator's worst day does: SIGSTOP freezes it
// with its sockets open, so connections are accepted by the kernel and never
// answered (a hung green: a database lock, a stuck pool).
#pragma once

#include <string>

#include "support/process.hpp"

namespace cutover::test {

std::string BackendBinary();  // the built cutover-test-backend

class BackendProcess {
 public:
  // Starts `cutover-test-backend NAME` and waits until its port answers.
  BackendProcess(std::string name, const TempDir& dir);
  ~BackendProcess();  // thaws it first, so it can be stopped
  BackendProcess(const BackendProcess&) = delete;
  BackendProcess& operator=(const BackendProcess&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void Freeze();  // SIGSTOP
  void Thaw();    // SIGCONT

 private:
  Process process_;
  int port_ = 0;
  bool frozen_ = false;
};

}  // namespace cutover::test

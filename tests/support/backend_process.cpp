#include "support/backend_process.hpp"

#include <signal.h>

#include <stdexcept>

namespace cutover::test {

std::string BackendBinary() { return CUTOVER_TEST_BACKEND_BINARY; }

BackendProcess::BackendProcess(std::string name, const TempDir& dir)
    : process_({BackendBinary(), name}, dir / ("backend-" + name)) {
  // It prints its port on a line of its own once it listens.
  const bool up = WaitFor([&] {
    const std::string out = process_.Stdout();
    if (out.find('\n') == std::string::npos) return false;
    port_ = std::stoi(out);
    return port_ > 0 && TcpPortAnswers(port_);
  });
  if (!up)
    throw std::runtime_error("backend process " + name + " did not come up: " + process_.Stderr());
}

BackendProcess::~BackendProcess() { Thaw(); }

void BackendProcess::Freeze() {
  process_.Signal(SIGSTOP);
  frozen_ = true;
}

void BackendProcess::Thaw() {
  if (!frozen_) return;
  process_.Signal(SIGCONT);
  frozen_ = false;
}

}  // namespace cutover::test

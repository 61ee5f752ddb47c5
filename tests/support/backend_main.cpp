// cutover-test-backend NAME: the test Backend as a process of its own
// (support/backend_process.hpp). Prints its port, serves until SIGTERM.
#include <signal.h>

#include <cstdio>

#include "support/backend.hpp"

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the server's threads start
  cutover::test::Backend backend(argc > 1 ? argv[1] : "backend");
  std::printf("%d\n", backend.port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}

// Stores `count` weight changes into a cutover's record, alternating between
// two weights, one every `interval_us`: the API path whose effect on live
// traffic bench/module_bench.sh measures.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "cutover/state_file.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s STATE_FILE CUTOVER COUNT WEIGHT_A_BP,WEIGHT_B_BP INTERVAL_US\n",
                 argv[0]);
    return 2;
  }
  try {
    auto file = cutover::state::StateFile::Open(argv[1]);
    const int count = std::atoi(argv[3]);
    const std::string weights = argv[4];
    const auto comma = weights.find(',');
    const auto a = static_cast<std::uint32_t>(std::stoul(weights.substr(0, comma)));
    const auto b = static_cast<std::uint32_t>(std::stoul(weights.substr(comma + 1)));
    const auto interval = std::chrono::microseconds(std::atoi(argv[5]));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) {
      file.StoreWeight(argv[2], i % 2 ? b : a);
      std::this_thread::sleep_until(start + interval * (i + 1));  // pacing, not waiting
    }
    std::printf("%d weight changes stored\n", count);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}

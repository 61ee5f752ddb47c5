// A steady load of reads and writes through nginx, tallied per cutover step:
// which slot answered (X-Backend-Server), with what class of status, and at
// which weight (the X-Cutover-Weight / X-Cutover-Epoch headers the demo's
// nginx adds from $cutover_weight and $cutover_epoch).
#pragma once

#include <atomic>
#include <string>

namespace demo {

struct LoadOptions {
  std::string url;           // http://127.0.0.1:PORT
  double rate = 200;         // requests per second, all workers together
  double write_share = 0.2;  // share of requests that are POST /orders
  int workers = 4;
  double duration_seconds = 0;  // 0: until stopped
  std::string events_path;      // "<unix ms> epoch=E weight=W" when a step is first seen
  std::string report_path;      // the per-step table, written when the load stops
};

// Runs until `stop` is set or the duration has passed; prints the table to
// stdout (and report_path). Returns 0.
int RunLoad(const LoadOptions& options, const std::atomic<bool>& stop);

}  // namespace demo

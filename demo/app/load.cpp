#include "load.hpp"

#include <httplib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace demo {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct SlotTally {
  std::uint64_t requests = 0, ok = 0, client_errors = 0, server_errors = 0, writes = 0;
};

// Everything answered while one weight (one epoch) was in force.
struct Step {
  std::string epoch, weight;
  std::int64_t first_seen_ms = 0;
  std::map<std::string, SlotTally> slots;  // blue, green, or "-" (no header)
};

class Tally {
 public:
  explicit Tally(std::string events_path) {
    if (!events_path.empty()) events_.open(events_path, std::ios::app);
  }

  void Record(const httplib::Result& result, bool write) {
    std::lock_guard lock(mutex_);
    if (!result) {
      ++transport_errors_;
      return;
    }
    const auto& res = result.value();
    Step& step =
        StepFor(res.get_header_value("X-Cutover-Epoch"), res.get_header_value("X-Cutover-Weight"));
    std::string slot = res.get_header_value("X-Backend-Server");
    if (slot.empty()) slot = "-";
    SlotTally& t = step.slots[slot];
    ++t.requests;
    if (res.status >= 200 && res.status < 300) {
      ++t.ok;
      if (write) ++t.writes;
    } else if (res.status >= 500) {
      ++t.server_errors;
    } else if (res.status >= 400) {
      ++t.client_errors;
    }
  }

  std::string Table() {
    std::lock_guard lock(mutex_);
    std::ostringstream out;
    char line[160];
    // One row per weight the answers were routed under, named by its epoch
    // (as `cutoverctl history` shows it): weight changes, not rollout steps.
    std::snprintf(line, sizeof line, "%-6s %7s %9s %9s %9s %9s %9s %9s %9s\n", "epoch", "green%",
                  "requests", "blue", "green", "blue 5xx", "green 5xx", "blue wr", "green wr");
    out << line;
    SlotTally total_blue, total_green, total_none;
    for (const Step& step : steps_) {
      const SlotTally blue = Get(step, "blue"), green = Get(step, "green"), none = Get(step, "-");
      std::snprintf(line, sizeof line, "%-6s %7s %9llu %9llu %9llu %9llu %9llu %9llu %9llu\n",
                    step.epoch.empty() ? "?" : step.epoch.c_str(),
                    step.weight.empty() ? "?" : step.weight.c_str(),
                    U(blue.requests + green.requests + none.requests), U(blue.requests),
                    U(green.requests), U(blue.server_errors), U(green.server_errors),
                    U(blue.writes), U(green.writes));
      out << line;
      Add(total_blue, blue);
      Add(total_green, green);
      Add(total_none, none);
    }
    std::snprintf(line, sizeof line, "%-6s %7s %9llu %9llu %9llu %9llu %9llu %9llu %9llu\n",
                  "total", "", U(total_blue.requests + total_green.requests + total_none.requests),
                  U(total_blue.requests), U(total_green.requests), U(total_blue.server_errors),
                  U(total_green.server_errors), U(total_blue.writes), U(total_green.writes));
    out << line;
    out << "no answer at all: " << transport_errors_ << "\n";
    return out.str();
  }

 private:
  static unsigned long long U(std::uint64_t v) { return v; }
  static SlotTally Get(const Step& step, const std::string& slot) {
    auto it = step.slots.find(slot);
    return it == step.slots.end() ? SlotTally{} : it->second;
  }
  static void Add(SlotTally& into, const SlotTally& t) {
    into.requests += t.requests;
    into.server_errors += t.server_errors;
    into.writes += t.writes;
  }

  // Epochs only grow, but answers to requests routed before a change may
  // arrive after it: they count in their own (older) step.
  Step& StepFor(const std::string& epoch, const std::string& weight) {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it)
      if (it->epoch == epoch) return *it;
    steps_.push_back(Step{epoch, weight, UnixMillis(), {}});
    if (events_)
      events_ << steps_.back().first_seen_ms << " epoch=" << epoch << " weight=" << weight
              << std::endl;  // flushed: the demo script polls this file
    return steps_.back();
  }

  std::mutex mutex_;
  std::vector<Step> steps_;
  std::uint64_t transport_errors_ = 0;
  std::ofstream events_;
};

// Exactly floor(n * share) of the first n requests are writes, spread evenly.
bool IsWrite(std::uint64_t n, double share) {
  return std::floor((n + 1) * share) > std::floor(n * share);
}

}  // namespace

int RunLoad(const LoadOptions& options, const std::atomic<bool>& stop) {
  Tally tally(options.events_path);
  std::atomic<std::uint64_t> sequence{0};
  const auto start = Clock::now();
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.workers / options.rate));
  const auto deadline = options.duration_seconds > 0
                            ? start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options.duration_seconds))
                            : Clock::time_point::max();

  std::vector<std::thread> workers;
  for (int w = 0; w < options.workers; ++w) {
    workers.emplace_back([&, w] {
      httplib::Client client(options.url);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_connection_timeout(std::chrono::seconds(2));
      client.set_read_timeout(std::chrono::seconds(5));
      // Workers start staggered so the requests are spread over the period.
      auto next = start + period * w / options.workers;
      while (!stop && Clock::now() < deadline) {
        std::this_thread::sleep_until(next);  // pacing, not waiting for a condition
        next += period;
        if (next < Clock::now() - std::chrono::seconds(1)) next = Clock::now();  // no bursts
        const std::uint64_t n = sequence.fetch_add(1);
        if (IsWrite(n, options.write_share)) {
          const std::string body = "{\"customer_id\": " + std::to_string(1 + n % 10) +
                                   ", \"item\": \"load-" + std::to_string(n) +
                                   "\", \"quantity\": " + std::to_string(1 + n % 3) + "}";
          tally.Record(client.Post("/orders", body, "application/json"), true);
        } else {
          tally.Record(client.Get("/orders?limit=10"), false);
        }
      }
    });
  }
  for (auto& t : workers) t.join();

  const std::string table = tally.Table();
  std::cout << table << std::flush;
  if (!options.report_path.empty()) std::ofstream(options.report_path) << table;
  return 0;
}

}  // namespace demo

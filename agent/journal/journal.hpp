// The journal: every decision with the numbers behind it, append-only and
// durable before the call returns. The agent rebuilds its rollouts from it
// on restart, and GetHistory / WatchEvents read it.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Journal {
 public:
  virtual ~Journal() = default;
  // Assigns the next sequence number to `event` and makes it durable.
  // Throws JournalError when it could not.
  virtual void Append(v1::Event& event) = 0;
  // Every event, oldest first.
  virtual std::vector<v1::Event> ReadAll() = 0;
  // Newest first: at most `limit` events of `cutover` (every cutover when empty).
  virtual std::vector<v1::Event> History(const std::string& cutover, std::size_t limit);
  // Where it writes, for logs (never with a password).
  virtual std::string Describe() const = 0;
};

// One event as one JSON line (protobuf's JSON mapping, proto field names).
std::string EventToJson(const v1::Event& event);
bool EventFromJson(const std::string& json, v1::Event* event);

// `--journal DIR` or `--journal postgresql://...`.
std::unique_ptr<Journal> OpenJournal(const std::string& where);

}  // namespace cutover::agent

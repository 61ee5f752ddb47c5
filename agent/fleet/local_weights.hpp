// This node's state file as the fleet writes it: the weights the fleet
// decided (and the node-local guard's reverts) stored into the module's
// control word, from the fleet's threads, beside the controller's own handle
// (the word is one atomic; every store bumps its epoch). Opened lazily and
// reopened when nginx replaced the file.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "cutover/state_file.hpp"

namespace cutover::fleet {

class LocalWeights {
 public:
  explicit LocalWeights(std::string path) : path_(std::move(path)) {}

  // The weight in force; nullopt when the file or its record is missing.
  std::optional<state::Control> Read(const std::string& cutover);
  // Stores green's weight; nullopt (logged) when it cannot.
  std::optional<state::Control> Store(const std::string& cutover, std::uint32_t green_bp);

 private:
  bool Open();

  std::mutex mutex_;
  std::string path_;
  std::optional<state::StateFile> file_;
  std::string error_;  // the last reason it could not open, logged once
};

}  // namespace cutover::fleet

#include "agent/fleet/local_weights.hpp"

#include "agent/core/log.hpp"

namespace cutover::fleet {

bool LocalWeights::Open() {
  if (file_ && !file_->Replaced()) return true;
  file_.reset();
  try {
    file_.emplace(state::StateFile::Open(path_));
    error_.clear();
    return true;
  } catch (const state::StateFileError& e) {
    if (error_ != e.what()) agent::LogWarning(std::string("fleet: ") + e.what());
    error_ = e.what();
    return false;
  }
}

std::optional<state::Control> LocalWeights::Read(const std::string& cutover) {
  std::lock_guard lock(mutex_);
  if (!Open()) return std::nullopt;
  return file_->ReadControl(cutover);
}

std::optional<state::Control> LocalWeights::Store(const std::string& cutover,
                                                  std::uint32_t green_bp) {
  std::lock_guard lock(mutex_);
  if (!Open()) return std::nullopt;
  try {
    return file_->StoreWeight(cutover, green_bp);
  } catch (const state::StateFileError& e) {
    agent::LogWarning("fleet: " + cutover + ": cannot store the fleet's weight: " + e.what());
    return std::nullopt;
  }
}

}  // namespace cutover::fleet

// How the sync fails: with a message safe to show (no password: every
// message built from a DSN is scrubbed) and a kind that says who must act.
#pragma once

#include <stdexcept>
#include <string>

namespace cutover::sync {

class SyncError : public std::runtime_error {
 public:
  enum class Kind {
    kInvalidArgument,     // the request is wrong: a field is named
    kFailedPrecondition,  // the databases are not fit: a schema, wal_level, ownership
    kUnavailable,         // a database cannot be reached or refused a change: retried
  };
  SyncError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

inline SyncError Unavailable(const std::string& message) {
  return SyncError(SyncError::Kind::kUnavailable, message);
}
inline SyncError Unfit(const std::string& message) {
  return SyncError(SyncError::Kind::kFailedPrecondition, message);
}

}  // namespace cutover::sync

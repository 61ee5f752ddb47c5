// A unix socket's path, made free for the agent's listeners: a stale socket
// of a previous run is removed, anything else is refused. One rule for the
// gRPC and the HTTP listeners.
#pragma once

#include <optional>
#include <string>

namespace cutover::agent {

// Creates PATH's directory when missing and removes a socket at PATH; when
// PATH is anything but a socket (a regular file, a directory, a link), it is
// left alone and the problem returned ("/x exists and is not a socket ...").
std::optional<std::string> FreeSocketPath(const std::string& path);

}  // namespace cutover::agent

// Headless Chromium (Debian's chromium package) as a child process, driven
// over the DevTools protocol: a minimal WebSocket client on the browser's
// --remote-debugging-port, speaking to its one page. For tests of the web
// view: load a URL, evaluate JavaScript against the live DOM, type, and keep
// a screenshot. Every wait is on a condition with a deadline.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace cutover::test {

// The chromium binary (CUTOVER_CHROMIUM overrides), or "" when none is installed.
std::string ChromiumBinary();

class Chromium {
 public:
  // Starts the browser with its profile under `dir` and connects to its
  // page. Throws std::runtime_error (with the browser's stderr) when it
  // cannot.
  explicit Chromium(const TempDir& dir, int width = 1280, int height = 1100);
  ~Chromium();
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // One DevTools command; its "result". Throws std::runtime_error with the
  // protocol's error, or when no answer comes in time.
  nlohmann::json Send(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object());
  // Opens `url` and waits until its document has loaded.
  void Navigate(const std::string& url);
  // The value of a JavaScript expression in the page (a promise is awaited).
  // Throws std::runtime_error with the exception it threw.
  nlohmann::json Evaluate(const std::string& expression);
  // Polls `expression` until it is true; false if it never was in `timeout`.
  bool WaitUntil(const std::string& expression, std::chrono::milliseconds timeout = 20s);
  // Types `text` into the focused element, as a keyboard would insert it.
  void InsertText(const std::string& text);
  // The page as it looks now, written as PNG to `path` (directories made).
  void Screenshot(const std::string& path);

  // What the page reported: uncaught exceptions, console errors and
  // warnings, and the browser's log entries (a Content-Security-Policy
  // violation is one), as "SOURCE LEVEL: text".
  const std::vector<std::string>& Reports() const { return reports_; }
  std::string Log() const { return process_.Stderr(); }

 private:
  void Connect(int port, const std::string& path);
  void SendFrame(int opcode, const std::string& payload);
  // The next whole message; false when none came by `deadline`.
  bool ReadMessage(std::string* message, std::chrono::steady_clock::time_point deadline);
  bool Fill(std::size_t bytes, std::chrono::steady_clock::time_point deadline);
  void OnEvent(const nlohmann::json& event);

  Process process_;
  int fd_ = -1;
  std::string buffer_;  // bytes read from the socket, not yet a frame
  int next_id_ = 1;
  std::vector<std::string> reports_;
};

}  // namespace cutover::test

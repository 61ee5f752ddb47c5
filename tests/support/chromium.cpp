#include "support/chromium.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "support/http.hpp"

namespace cutover::test {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kCommandTimeout = std::chrono::seconds(20);

// RFC 6455 opcodes.
constexpr int kContinuation = 0x0, kText = 0x1, kClose = 0x8, kPing = 0x9;

int Milliseconds(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long>(0, left.count()));
}

}  // namespace

std::string ChromiumBinary() {
  if (const char* env = std::getenv("CUTOVER_CHROMIUM"); env != nullptr && *env != '\0') return env;
  return FileExists("/usr/bin/chromium") ? "/usr/bin/chromium" : "";
}

Chromium::Chromium(const TempDir& dir, int width, int height) {
  const std::string binary = ChromiumBinary();
  if (binary.empty())
    throw std::runtime_error("chromium is not installed (apt-get install chromium)");
  const std::string profile = dir / "chromium-profile";
  std::filesystem::create_directories(profile);
  // Port 0: the browser picks a free one and writes it to DevToolsActivePort.
  process_ = Process(
      {binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
       "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "--no-first-run",
       "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
       "--disable-component-update", "--disable-sync", "--password-store=basic",
       "--use-mock-keychain",
       "--window-size=" + std::to_string(width) + "," + std::to_string(height), "about:blank"},
      dir / "chromium");
  const std::string active = profile + "/DevToolsActivePort";
  if (!WaitFor([&] {
        return ReadFile(active).find('\n') != std::string::npos || !process_.Running();
      }) ||
      !process_.Running())
    throw std::runtime_error("chromium did not open its DevTools port: " + Log());
  const int port = std::stoi(ReadFile(active));

  // The page the browser opened with, from its target list.
  std::string page_path;
  HttpClient http;
  WaitFor([&] {
    const auto list = http.Get("http://127.0.0.1:" + std::to_string(port) + "/json/list");
    if (list.status != 200) return false;
    for (const auto& target : nlohmann::json::parse(list.body, nullptr, false))
      if (target.value("type", "") == "page") {
        const std::string ws = target.value("webSocketDebuggerUrl", "");
        const auto slash = ws.find('/', std::string("ws://").size());
        if (slash != std::string::npos) page_path = ws.substr(slash);
      }
    return !page_path.empty();
  });
  if (page_path.empty()) throw std::runtime_error("chromium has no page to drive: " + Log());
  Connect(port, page_path);
  Send("Page.enable");
  Send("Runtime.enable");
  Send("Log.enable");
}

Chromium::~Chromium() {
  if (fd_ >= 0) ::close(fd_);
  process_.Stop();
}

void Chromium::Connect(int port, const std::string& path) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error("cannot connect to chromium's DevTools port " + std::to_string(port));
  // No Origin header: DevTools refuses WebSocket origins it was not told to allow.
  const std::string upgrade = "GET " + path +
                              " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
  if (::send(fd_, upgrade.data(), upgrade.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(upgrade.size()))
    throw std::runtime_error("cannot send the WebSocket upgrade to chromium");
  const auto deadline = Clock::now() + kCommandTimeout;
  std::size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!Fill(buffer_.size() + 1, deadline))
      throw std::runtime_error("chromium did not answer the WebSocket upgrade");
  const std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  if (head.rfind("HTTP/1.1 101", 0) != 0)
    throw std::runtime_error("chromium refused the WebSocket upgrade: " + head);
}

bool Chromium::Fill(std::size_t bytes, Clock::time_point deadline) {
  char chunk[65536];
  while (buffer_.size() < bytes) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, Milliseconds(deadline)) <= 0) return false;
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

void Chromium::SendFrame(int opcode, const std::string& payload) {
  // A client's frames are masked (RFC 6455 5.3); one frame per message.
  std::string frame;
  frame.push_back(static_cast<char>(0x80 | opcode));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    frame.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    frame.push_back(static_cast<char>(0x80 | 126));
    for (int shift = 8; shift >= 0; shift -= 8)
      frame.push_back(static_cast<char>((n >> shift) & 0xff));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      frame.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  static std::mt19937 random(std::random_device{}());
  char mask[4];
  for (char& m : mask) m = static_cast<char>(random() & 0xff);
  frame.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) frame.push_back(payload[i] ^ mask[i % 4]);
  std::size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t w = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (w <= 0) throw std::runtime_error("chromium's DevTools connection is gone");
    sent += static_cast<std::size_t>(w);
  }
}

bool Chromium::ReadMessage(std::string* message, Clock::time_point deadline) {
  message->clear();
  for (;;) {
    if (!Fill(2, deadline)) return false;
    const auto b0 = static_cast<unsigned char>(buffer_[0]);
    const auto b1 = static_cast<unsigned char>(buffer_[1]);
    const int opcode = b0 & 0x0f;
    const bool fin = (b0 & 0x80) != 0;
    std::size_t header = 2;
    std::uint64_t length = b1 & 0x7f;
    if (length >= 126) {
      const std::size_t extra = length == 126 ? 2 : 8;
      if (!Fill(2 + extra, deadline)) return false;
      length = 0;
      for (std::size_t i = 0; i < extra; ++i)
        length = (length << 8) | static_cast<unsigned char>(buffer_[2 + i]);
      header += extra;
    }
    if ((b1 & 0x80) != 0) header += 4;  // a server never masks, but skip a mask if it did
    if (!Fill(header + length, deadline)) return false;
    std::string payload = buffer_.substr(header, length);
    buffer_.erase(0, header + length);
    if (opcode == kPing) {
      SendFrame(0xA, payload);
      continue;
    }
    if (opcode == kClose) throw std::runtime_error("chromium closed the DevTools connection");
    if (opcode == kText || opcode == kContinuation) {
      message->append(payload);
      if (fin) return true;
    }
  }
}

nlohmann::json Chromium::Send(const std::string& method, const nlohmann::json& params) {
  const int id = next_id_++;
  SendFrame(kText, nlohmann::json{{"id", id}, {"method", method}, {"params", params}}.dump());
  const auto deadline = Clock::now() + kCommandTimeout;
  std::string text;
  while (ReadMessage(&text, deadline)) {
    const auto message = nlohmann::json::parse(text, nullptr, false);
    if (message.is_discarded()) continue;
    if (!message.contains("id")) {
      OnEvent(message);
      continue;
    }
    if (message["id"] != id) continue;
    if (message.contains("error"))
      throw std::runtime_error(method + ": " + message["error"].dump());
    return message.value("result", nlohmann::json::object());
  }
  throw std::runtime_error(method + ": no answer from chromium in time: " + Log());
}

void Chromium::OnEvent(const nlohmann::json& event) {
  const std::string method = event.value("method", "");
  const auto& p = event.contains("params") ? event["params"] : nlohmann::json::object();
  if (method == "Runtime.exceptionThrown") {
    const auto& d = p["exceptionDetails"];
    std::string text = d.value("text", "");
    if (d.contains("exception")) text += " " + d["exception"].value("description", "");
    reports_.push_back("javascript exception: " + text);
  } else if (method == "Runtime.consoleAPICalled") {
    const std::string type = p.value("type", "");
    if (type != "error" && type != "warning") return;
    std::string text;
    for (const auto& arg : p["args"])
      text += (text.empty() ? "" : " ") +
              (arg.contains("value") ? arg["value"].dump() : arg.value("description", ""));
    reports_.push_back("console " + type + ": " + text);
  } else if (method == "Log.entryAdded") {
    const auto& e = p["entry"];
    reports_.push_back(e.value("source", "") + " " + e.value("level", "") + ": " +
                       e.value("text", ""));
  }
}

void Chromium::Navigate(const std::string& url) {
  // Marks the document open now, so a reload of the same URL is not taken
  // for loaded before the new document replaced it.
  Evaluate("window.__replaced = true");
  const auto result = Send("Page.navigate", {{"url", url}});
  if (result.contains("errorText") && !result["errorText"].get<std::string>().empty())
    throw std::runtime_error("cannot open " + url + ": " + result["errorText"].get<std::string>());
  if (!WaitUntil("window.__replaced === undefined && document.readyState === 'complete' && "
                 "location.href === " +
                 nlohmann::json(url).dump()))
    throw std::runtime_error(url + " did not finish loading");
}

nlohmann::json Chromium::Evaluate(const std::string& expression) {
  const auto result =
      Send("Runtime.evaluate",
           {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
  if (result.contains("exceptionDetails")) {
    const auto& d = result["exceptionDetails"];
    std::string text = d.value("text", "");
    if (d.contains("exception")) text += " " + d["exception"].value("description", "");
    throw std::runtime_error("evaluating " + expression + ": " + text);
  }
  const auto& value = result["result"];
  return value.contains("value") ? value["value"] : nlohmann::json();
}

bool Chromium::WaitUntil(const std::string& expression, std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        const auto v = Evaluate(expression);
        return v.is_boolean() && v.get<bool>();
      },
      timeout);
}

void Chromium::InsertText(const std::string& text) { Send("Input.insertText", {{"text", text}}); }

void Chromium::Screenshot(const std::string& path) {
  const auto shot =
      Send("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", true}});
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  // The protocol sends it as base64: the openssl tool decodes it.
  const auto r = Run({"openssl", "base64", "-d", "-A", "-out", path}, {}, shot.value("data", ""));
  if (r.exit_code != 0)
    throw std::runtime_error("cannot write the screenshot " + path + ": " + r.err);
}

}  // namespace cutover::test

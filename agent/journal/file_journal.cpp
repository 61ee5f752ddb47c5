#include "agent/journal/file_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cutover::agent {

namespace {
std::string Errno() { return std::strerror(errno); }
}  // namespace

FileJournal::FileJournal(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw JournalError("journal " + dir + ": cannot create: " + ec.message());
  path_ = dir + "/journal.jsonl";
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) throw JournalError("journal " + path_ + ": cannot open: " + Errno());
  // The file's directory entry must survive a crash as well as its lines.
  if (int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  // Cut off a torn last line: everything after the last newline.
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  if (size > 0) {
    std::string content(static_cast<std::size_t>(size), '\0');
    if (::pread(fd_, content.data(), content.size(), 0) != size)
      throw JournalError("journal " + path_ + ": cannot read: " + Errno());
    const auto last_newline = content.rfind('\n');
    const off_t keep = last_newline == std::string::npos ? 0 : static_cast<off_t>(last_newline + 1);
    if (keep != size && ::ftruncate(fd_, keep) != 0)
      throw JournalError("journal " + path_ + ": cannot repair a torn line: " + Errno());
  }
  for (const auto& e : ReadAll()) last_sequence_ = std::max(last_sequence_, e.sequence());
}

FileJournal::~FileJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void FileJournal::Append(v1::Event& event) {
  std::lock_guard lock(mutex_);
  event.set_sequence(last_sequence_ + 1);
  const std::string line = EventToJson(event) + "\n";
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw JournalError("journal " + path_ + ": write failed: " + Errno());
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) throw JournalError("journal " + path_ + ": fsync failed: " + Errno());
  ++last_sequence_;
}

std::vector<v1::Event> FileJournal::ReadAll() {
  std::lock_guard lock(mutex_);
  std::vector<v1::Event> events;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    v1::Event e;
    if (EventFromJson(line, &e)) events.push_back(std::move(e));
  }
  return events;
}

}  // namespace cutover::agent

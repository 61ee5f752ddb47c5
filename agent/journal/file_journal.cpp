#include "agent/journal/file_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "agent/core/log.hpp"

namespace cutover::agent {

namespace {

// A line longer than this is no event of ours (a reason is at most 1 KiB, a
// plan a few hundred): it is left out rather than read into memory.
constexpr std::size_t kMaxLineBytes = std::size_t{8} << 20;

std::string Errno(int e) { return std::strerror(e); }

void FsyncDir(const std::string& dir) {
  if (int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Appends all of `text`; false (errno set) when the file would not take it.
bool WriteAll(int fd, const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return true;
}

bool ReadAt(int fd, std::uint64_t offset, std::uint32_t length, std::string* out) {
  out->resize(length);
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fd, out->data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

FileJournal::Segment::~Segment() {
  if (fd >= 0) ::close(fd);
}

FileJournal::FileJournal(const std::string& dir, Options options)
    : dir_(dir), path_(dir + "/journal.jsonl"), options_(options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw JournalError("journal " + dir + ": cannot create: " + ec.message());
  // A rotation writes the new file aside, then renames: one that stopped
  // between its two renames left the new file whole, one that stopped
  // before them left the old one whole.
  const std::string fresh = path_ + ".tmp";
  if (!std::filesystem::exists(path_, ec) && std::filesystem::exists(fresh, ec))
    std::filesystem::rename(fresh, path_, ec);
  std::filesystem::remove(fresh, ec);

  auto segment = std::make_shared<Segment>();
  segment->fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (segment->fd < 0) throw JournalError("journal " + path_ + ": cannot open: " + Errno(errno));
  // The file's directory entry must survive a crash as well as its lines.
  FsyncDir(dir_);
  std::unique_lock lock(index_mutex_);
  Scan(*segment);
  segment_ = std::move(segment);
  NumberAfter(segment_->entries.empty() ? 0 : segment_->entries.back().sequence);
}

FileJournal::~FileJournal() = default;

std::uint32_t FileJournal::CutoverId(const std::string& cutover) {
  auto [it, fresh] =
      cutover_ids_.try_emplace(cutover, static_cast<std::uint32_t>(cutover_names_.size()));
  if (fresh) cutover_names_.push_back(cutover);
  return it->second;
}

void FileJournal::Track(const Entry& entry, const v1::Event& event) {
  last_rollouts_.Add(event.cutover(), event.kind(), event.rollout_id(), entry);
  if (event.kind() == event_kind::kRolloutStarted && !event.release().empty())
    last_starts_[{entry.cutover, static_cast<int>(event.to_slot())}] = entry;
}

void FileJournal::Scan(Segment& segment) {
  const off_t size = ::lseek(segment.fd, 0, SEEK_END);
  if (size < 0) throw JournalError("journal " + path_ + ": cannot read: " + Errno(errno));
  std::string line;         // the line being read
  bool overlong = false;    // ... is longer than kMaxLineBytes
  std::uint64_t start = 0;  // where it starts
  std::string block(1 << 20, '\0');
  const auto take_line = [&](std::uint64_t end) {
    ++lines_;
    const std::string where = Where(lines_);
    v1::Event e;
    if (overlong || !EventFromJson(line, &e)) {
      LogWarning("journal " + where + ": not a journal event (" + std::to_string(end - start) +
                 " bytes): left out");
    } else if (e.sequence() == 0 || e.sequence() > kMaxSequence) {
      LogWarning("journal " + where + ": sequence " + std::to_string(e.sequence()) +
                 " is out of range: left out");
    } else if (!segment.entries.empty() && e.sequence() <= segment.entries.back().sequence) {
      LogWarning("journal " + where + ": sequence " + std::to_string(e.sequence()) +
                 " does not follow " + std::to_string(segment.entries.back().sequence) +
                 " (a number repeated or wrapped): left out");
    } else {
      const Entry entry{e.sequence(), start, static_cast<std::uint32_t>(end - start), lines_,
                        CutoverId(e.cutover())};
      segment.entries.push_back(entry);
      Track(entry, e);
    }
    line.clear();
    overlong = false;
  };
  for (std::uint64_t offset = 0; offset < static_cast<std::uint64_t>(size);) {
    const ssize_t n = ::pread(segment.fd, block.data(), block.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw JournalError("journal " + path_ + ": cannot read: " + Errno(errno));
    for (ssize_t i = 0; i < n;) {
      const char* from = block.data() + i;
      const void* newline = std::memchr(from, '\n', static_cast<std::size_t>(n - i));
      const ssize_t upto = newline ? static_cast<const char*>(newline) - block.data() : n;
      if (!overlong) {
        line.append(from, static_cast<std::size_t>(upto - i));
        if (line.size() > kMaxLineBytes) {
          overlong = true;
          line.clear();
        }
      }
      if (newline == nullptr) break;
      take_line(offset + static_cast<std::uint64_t>(upto));
      i = upto + 1;
      start = offset + static_cast<std::uint64_t>(i);
    }
    offset += static_cast<std::uint64_t>(n);
  }
  end_ = start;
  if (end_ != static_cast<std::uint64_t>(size)) {
    // The agent stopped mid-write, or a write failed and could not be cut back.
    LogWarning("journal " + Where(lines_ + 1) + ": cutting off a torn last line (" +
               std::to_string(static_cast<std::uint64_t>(size) - end_) + " bytes)");
    if (::ftruncate(segment.fd, static_cast<off_t>(end_)) != 0)
      throw JournalError("journal " + path_ + ": cannot repair a torn line: " + Errno(errno));
  }
}

bool FileJournal::TruncateBack() {
  if (::ftruncate(segment_->fd, static_cast<off_t>(end_)) != 0) return false;
  dirty_ = false;
  return true;
}

void FileJournal::Write(const std::vector<v1::Event>& events) {
  if (events.empty()) return;
  std::lock_guard lock(write_mutex_);
  if (dirty_ && !TruncateBack())
    throw JournalError("journal " + path_ +
                       ": cannot cut a failed write back off: " + Errno(errno));
  if (end_ >= options_.rotate_bytes && end_ >= no_rotation_before_) Rotate();
  std::string text;
  std::vector<Entry> entries;
  entries.reserve(events.size());
  for (const v1::Event& e : events) {
    const std::string json = EventToJson(e);
    entries.push_back(Entry{e.sequence(), end_ + text.size(),
                            static_cast<std::uint32_t>(json.size()),
                            lines_ + static_cast<std::uint32_t>(entries.size()) + 1, 0});
    text += json;
    text += '\n';
  }
  const int fd = segment_->fd;
  const char* failed = nullptr;
  if (!WriteAll(fd, text)) {
    failed = "write failed";
  } else if (::fsync(fd) != 0) {
    failed = "fsync failed";
  }
  if (failed != nullptr) {
    const int error = errno;
    // Nothing of a failed write may stay: the next line would be glued to it.
    dirty_ = true;
    TruncateBack();
    throw JournalError("journal " + path_ + ": " + failed + ": " + Errno(error));
  }
  end_ += text.size();
  lines_ += static_cast<std::uint32_t>(events.size());
  std::unique_lock index(index_mutex_);
  for (std::size_t i = 0; i < events.size(); ++i) {
    entries[i].cutover = CutoverId(events[i].cutover());
    segment_->entries.push_back(entries[i]);
    Track(entries[i], events[i]);
  }
}

void FileJournal::Rotate() {
  // What a restart replays, in sequence order: each cutover's last rollout,
  // and the rollout_started that put each slot's release in.
  std::vector<Entry> carry;
  for (const auto& group : last_rollouts_.groups())
    carry.insert(carry.end(), group.items.begin(), group.items.end());
  for (const auto& [key, entry] : last_starts_) carry.push_back(entry);
  std::sort(carry.begin(), carry.end(),
            [](const Entry& a, const Entry& b) { return a.sequence < b.sequence; });
  carry.erase(std::unique(carry.begin(), carry.end(),
                          [](const Entry& a, const Entry& b) { return a.sequence == b.sequence; }),
              carry.end());
  const std::string fresh = path_ + ".tmp";
  auto segment = std::make_shared<Segment>();
  std::string text;
  std::string failed;
  for (const Entry& e : carry) {
    std::string line;
    if (!ReadAt(segment_->fd, e.offset, e.length, &line)) {
      failed = "cannot read " + Where(e.line) + ": " + Errno(errno);
      break;
    }
    segment->entries.push_back(Entry{e.sequence, text.size(), e.length,
                                     static_cast<std::uint32_t>(segment->entries.size()) + 1,
                                     e.cutover});
    text += line;
    text += '\n';
  }
  if (failed.empty()) {
    segment->fd = ::open(fresh.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (segment->fd < 0 || !WriteAll(segment->fd, text) || ::fsync(segment->fd) != 0) {
      failed = "cannot write " + fresh + ": " + Errno(errno);
    } else if (::rename(path_.c_str(), rotated_path().c_str()) != 0) {
      failed = "cannot rename it to " + rotated_path() + ": " + Errno(errno);
    } else if (::rename(fresh.c_str(), path_.c_str()) != 0) {
      failed = "cannot rename " + fresh + ": " + Errno(errno);
      ::rename(rotated_path().c_str(), path_.c_str());  // the old file stays the journal
    }
  }
  if (!failed.empty()) {
    ::unlink(fresh.c_str());
    no_rotation_before_ = end_ + options_.rotate_bytes / 8;  // not at every write
    LogWarning("journal " + path_ + ": cannot rotate (" + failed + "); it grows on");
    return;
  }
  FsyncDir(dir_);
  // The same rollouts, at their places in the new file (only this writer
  // changes last_rollouts_, so it is read here without the index lock).
  std::unordered_map<std::uint64_t, Entry> by_sequence;
  for (const Entry& e : segment->entries) by_sequence.emplace(e.sequence, e);
  LastRolloutGrouping<Entry> moved;
  for (const auto& g : last_rollouts_.groups())
    for (std::size_t i = 0; i < g.items.size(); ++i)
      moved.Add(g.cutover, i == 0 ? event_kind::kRolloutStarted : "", g.rollout_id,
                by_sequence.at(g.items[i].sequence));
  std::map<std::pair<std::uint32_t, int>, Entry> starts;
  for (const auto& [key, entry] : last_starts_) starts[key] = by_sequence.at(entry.sequence);
  const std::uint64_t old_size = end_;
  {
    std::unique_lock index(index_mutex_);
    segment_ = segment;
    last_rollouts_ = std::move(moved);
    last_starts_ = std::move(starts);
  }
  end_ = text.size();
  lines_ = static_cast<std::uint32_t>(segment->entries.size());
  dirty_ = false;
  no_rotation_before_ = 2 * end_;
  LogInfo("journal " + path_ + ": rotated at " + std::to_string(old_size) +
          " bytes: the events before are in " + rotated_path() + "; " +
          std::to_string(carry.size()) + " events of each cutover's last rollout carried over");
}

std::vector<v1::Event> FileJournal::ReadEntries(const Segment& segment,
                                                const std::vector<Entry>& entries) {
  std::vector<v1::Event> events;
  events.reserve(entries.size());
  std::string line;
  for (const Entry& entry : entries) {
    if (!ReadAt(segment.fd, entry.offset, entry.length, &line))
      throw JournalError("journal " + Where(entry.line) + ": cannot read: " + Errno(errno));
    v1::Event e;
    if (!EventFromJson(line, &e))
      throw JournalError("journal " + Where(entry.line) + ": changed under the agent");
    events.push_back(std::move(e));
  }
  return events;
}

std::optional<std::uint32_t> FileJournal::CutoverFilter(const std::string& cutover) const {
  if (cutover.empty()) return kNoCutover;
  const auto it = cutover_ids_.find(cutover);
  if (it == cutover_ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<v1::Event> FileJournal::History(const std::string& cutover, std::size_t limit) {
  std::shared_ptr<Segment> segment;
  std::vector<Entry> picked;
  {
    std::shared_lock lock(index_mutex_);
    segment = segment_;
    const std::optional<std::uint32_t> id = CutoverFilter(cutover);
    if (!id) return {};
    const auto& entries = segment->entries;
    for (auto it = entries.rbegin(); it != entries.rend() && picked.size() < limit; ++it)
      if (*id == kNoCutover || it->cutover == *id) picked.push_back(*it);
  }
  return ReadEntries(*segment, picked);
}

std::vector<v1::Event> FileJournal::Since(const std::string& cutover, std::uint64_t since,
                                          std::size_t max) {
  std::shared_ptr<Segment> segment;
  std::vector<Entry> picked;
  {
    std::shared_lock lock(index_mutex_);
    segment = segment_;
    const std::optional<std::uint32_t> id = CutoverFilter(cutover);
    if (!id) return {};
    const auto& entries = segment->entries;
    auto it = std::lower_bound(entries.begin(), entries.end(), since,
                               [](const Entry& e, std::uint64_t s) { return e.sequence < s; });
    for (; it != entries.end() && picked.size() < max; ++it)
      if (*id == kNoCutover || it->cutover == *id) picked.push_back(*it);
  }
  return ReadEntries(*segment, picked);
}

bool FileJournal::Knows(const std::string& cutover) {
  std::shared_lock lock(index_mutex_);
  return cutover_ids_.count(cutover) != 0;
}

std::vector<JournaledRollout> FileJournal::LastRollouts() {
  std::shared_ptr<Segment> segment;
  std::vector<std::vector<Entry>> groups;
  {
    std::shared_lock lock(index_mutex_);
    segment = segment_;
    for (const auto& g : last_rollouts_.groups()) groups.push_back(g.items);
  }
  std::vector<JournaledRollout> out;
  for (const auto& entries : groups) {
    JournaledRollout rollout;
    rollout.events = ReadEntries(*segment, entries);
    for (const Entry& e : entries) rollout.where.push_back(Where(e.line));
    out.push_back(std::move(rollout));
  }
  return out;
}

std::vector<v1::Event> FileJournal::LastRolloutStarts() {
  std::shared_ptr<Segment> segment;
  std::vector<Entry> entries;
  {
    std::shared_lock lock(index_mutex_);
    segment = segment_;
    for (const auto& [key, entry] : last_starts_) entries.push_back(entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.sequence < b.sequence; });
  return ReadEntries(*segment, entries);
}

std::vector<v1::Event> FileJournal::ReadAll() {
  std::shared_ptr<Segment> segment;
  std::vector<Entry> entries;
  {
    std::shared_lock lock(index_mutex_);
    segment = segment_;
    entries = segment->entries;
  }
  return ReadEntries(*segment, entries);
}

}  // namespace cutover::agent

// The default journal: JSON lines in DIR/journal.jsonl, one fsync per entry.
// A torn last line (the agent died mid-write) is cut off when opened.
#pragma once

#include <mutex>

#include "agent/journal/journal.hpp"

namespace cutover::agent {

class FileJournal final : public Journal {
 public:
  explicit FileJournal(const std::string& dir);
  ~FileJournal() override;
  FileJournal(const FileJournal&) = delete;
  FileJournal& operator=(const FileJournal&) = delete;

  void Append(v1::Event& event) override;
  std::vector<v1::Event> ReadAll() override;
  std::string Describe() const override { return path_; }
  const std::string& path() const { return path_; }

 private:
  std::mutex mutex_;
  std::string path_;
  int fd_ = -1;
  std::uint64_t last_sequence_ = 0;
};

}  // namespace cutover::agent

// The default journal: JSON lines in DIR/journal.jsonl, one fsync per batch.
//
// Opening reads the file once: every line is checked (a torn last line, the
// agent dying mid-write, is cut off; an unparsable line or one whose
// sequence does not follow the one before is logged with its line number
// and left out), and an index of the lines is kept in memory: sequence,
// offset, length, cutover (about 32 bytes a line). Reads find their lines in
// the index and read only those, under a shared lock the writer takes only
// to add entries: they never wait for a write, and never read the file whole.
//
// Rotation bounds the file, the index and the time the next start takes:
// when the file passes `rotate_bytes`, a new one is started that holds each
// cutover's last rollout (what a restart replays), and the old one is kept
// as journal.jsonl.1 (the one before is dropped). Reads see the new file.
//
// A failed write (full disk, I/O error) is cut back off the file before the
// error is thrown, so no fragment of it stays to be glued to the next line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/journal/journal.hpp"

namespace cutover::agent {

class FileJournal final : public Journal {
 public:
  struct Options {
    std::uint64_t rotate_bytes = std::uint64_t{64} << 20;
  };

  explicit FileJournal(const std::string& dir) : FileJournal(dir, Options{}) {}
  FileJournal(const std::string& dir, Options options);
  ~FileJournal() override;
  FileJournal(const FileJournal&) = delete;
  FileJournal& operator=(const FileJournal&) = delete;

  void Write(const std::vector<v1::Event>& events) override;
  std::vector<v1::Event> History(const std::string& cutover, std::size_t limit) override;
  std::vector<v1::Event> Since(const std::string& cutover, std::uint64_t since,
                               std::size_t max) override;
  bool Knows(const std::string& cutover) override;
  std::vector<JournaledRollout> LastRollouts() override;
  std::vector<v1::Event> LastRolloutStarts() override;
  std::vector<v1::Event> ReadAll() override;
  std::string Describe() const override { return path_; }
  const std::string& path() const { return path_; }
  // The file before the last rotation.
  std::string rotated_path() const { return path_ + ".1"; }

 private:
  static constexpr std::uint32_t kNoCutover = 0xffffffff;
  struct Entry {
    std::uint64_t sequence;
    std::uint64_t offset;
    std::uint32_t length;   // without the newline
    std::uint32_t line;     // 1-based, in this file
    std::uint32_t cutover;  // index into cutover_names_
  };
  // One file and the index of its lines, shared with the readers that use
  // it: a rotation swaps it, and the old one closes when its last reader is done.
  struct Segment {
    int fd = -1;
    std::vector<Entry> entries;  // by sequence, ascending
    ~Segment();
  };
  void Scan(Segment& segment);
  std::uint32_t CutoverId(const std::string& cutover);     // under index_mutex_ (exclusive)
  void Track(const Entry& entry, const v1::Event& event);  // likewise
  // The id a read filters on: kNoCutover for "" (every cutover), nullopt
  // for a name the journal has never seen. Under index_mutex_ (shared).
  std::optional<std::uint32_t> CutoverFilter(const std::string& cutover) const;
  void Rotate();
  bool TruncateBack();
  std::vector<v1::Event> ReadEntries(const Segment& segment, const std::vector<Entry>& entries);
  std::string Where(std::uint32_t line) const { return path_ + ":" + std::to_string(line); }

  std::string dir_;
  std::string path_;
  Options options_;

  std::mutex write_mutex_;   // one writer: Write and Rotate
  std::uint64_t end_ = 0;    // the file's length: whole lines only
  std::uint32_t lines_ = 0;  // lines in the file, indexed or not
  bool dirty_ = false;       // a failed write may have left bytes past end_
  std::uint64_t no_rotation_before_ = 0;

  mutable std::shared_mutex index_mutex_;
  std::shared_ptr<Segment> segment_;  // swapped only under write_mutex_ too
  std::vector<std::string> cutover_names_;
  std::unordered_map<std::string, std::uint32_t> cutover_ids_;
  LastRolloutGrouping<Entry> last_rollouts_;
  std::map<std::pair<std::uint32_t, int>, Entry> last_starts_;  // by (cutover, to_slot)
};

}  // namespace cutover::agent

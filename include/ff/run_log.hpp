// Files a run writes: metrics.jsonl (one JSON object per line, flushed as written) and whole files
// written atomically (temporary name, then rename) so a crash never leaves half a result.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace ff {

// Writes `text` to `path` via `path.tmp`, fsync, rename, fsync of the folder: after a crash `path`
// holds the old file or the whole new one. Throws ff::Error naming the path on failure (the
// temporary file removed, `path` untouched).
void write_file_atomically(const std::string& path, const std::string& text);
// fsync of the folder holding `path`, so that a rename into it survives a power cut.
void sync_parent_folder(const std::string& path);

// For a run resumed at `epoch` epochs done: rewrites metrics.jsonl at `path` (atomically) keeping
// only the records of epochs 1..epoch. A crash after an epoch's line but before its checkpoint,
// or after the final record but before result.json, would otherwise leave lines the resumed run
// writes again; a line cut short by the crash is dropped too. A missing file stays missing.
void keep_metrics_through_epoch(const std::string& path, int epoch);

class JsonLines {
 public:
  JsonLines() = default;
  // Truncates (or appends, for a resumed run); throws ff::Error if not writable.
  explicit JsonLines(const std::string& path, bool append = false);
  void append(const nlohmann::json& record);
  // Forces what was appended to disk: before a checkpoint that counts on these lines.
  void sync();
  bool is_open() const { return stream_.is_open(); }

 private:
  std::string path_;
  std::ofstream stream_;
};

// "1h02m", "3m05s", "12.3s"
std::string format_duration(double seconds);

}  // namespace ff

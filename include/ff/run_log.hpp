// Files a run writes: metrics.jsonl (one JSON object per line, flushed as written) and whole files
// written atomically (temporary name, then rename) so a crash never leaves half a result.
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace ff {

// Writes `text` to `path` via `path.tmp` + rename. Throws ff::Error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& text);

class JsonLines {
 public:
  JsonLines() = default;
  // Truncates (or appends, for a resumed run); throws ff::Error if not writable.
  explicit JsonLines(const std::string& path, bool append = false);
  void append(const nlohmann::json& record);
  bool is_open() const { return stream_.is_open(); }

 private:
  std::string path_;
  std::ofstream stream_;
};

// "1h02m", "3m05s", "12.3s"
std::string format_duration(double seconds);

}  // namespace ff

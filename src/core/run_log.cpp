#include "ff/run_log.hpp"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ff/error.hpp"

namespace ff {

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    require(out.good(), "cannot write '" + temporary + "': check that the folder exists and is writable");
    out << text;
    out.flush();
    require(out.good(), "writing '" + temporary + "' failed (disk full?)");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  require(!error, "cannot rename '" + temporary + "' to '" + path + "': " + error.message());
}

JsonLines::JsonLines(const std::string& path, bool append)
    : path_(path), stream_(path, append ? std::ios::app : std::ios::trunc) {
  require(stream_.good(), "cannot write '" + path + "': check that the folder is writable");
}

void JsonLines::append(const nlohmann::json& record) {
  stream_ << record.dump() << '\n';
  stream_.flush();
  require(stream_.good(), "writing '" + path_ + "' failed (disk full?)");
}

std::string format_duration(double seconds) {
  char text[32];
  if (seconds >= 3600) {
    std::snprintf(text, sizeof text, "%dh%02dm", static_cast<int>(seconds / 3600),
                  static_cast<int>(seconds / 60) % 60);
  } else if (seconds >= 60) {
    std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds / 60),
                  static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  }
  return text;
}

}  // namespace ff

#include "ff/run_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ff/error.hpp"

namespace ff {

void sync_parent_folder(const std::string& path) {
  std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder.empty()) folder = ".";
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // nothing to sync through; the rename itself already happened
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  require(fd >= 0, "cannot write '" + temporary + "' (" + std::strerror(errno) +
                       "): check that the folder exists and is writable");
  size_t written = 0;
  int error = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : ENOSPC;  // a write of 0 bytes: no room
      break;
    }
    written += static_cast<size_t>(n);
  }
  // fsync before the rename: otherwise a power cut soon after it can leave `path` empty.
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    std::remove(temporary.c_str());
    throw Error("writing '" + path + "' failed (" + std::strerror(error) +
                "); check the free disk space; the previous file, if any, is unchanged");
  }
  std::error_code rename_error;
  std::filesystem::rename(temporary, path, rename_error);
  if (rename_error) std::remove(temporary.c_str());
  require(!rename_error,
          "cannot rename '" + temporary + "' to '" + path + "': " + rename_error.message());
  sync_parent_folder(path);  // the rename itself durable
}

void keep_metrics_through_epoch(const std::string& path, int epoch) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object() || record.contains("final")) continue;
    const auto found = record.find("epoch");
    if (found == record.end() || !found->is_number_integer() || found->get<int64_t>() > epoch) {
      continue;
    }
    kept += line + "\n";
  }
  in.close();
  write_file_atomically(path, kept);
}

JsonLines::JsonLines(const std::string& path, bool append)
    : path_(path), stream_(path, append ? std::ios::app : std::ios::trunc) {
  require(stream_.good(), "cannot write '" + path + "': check that the folder is writable");
}

void JsonLines::sync() {
  stream_.flush();
  require(stream_.good(), "writing '" + path_ + "' failed (disk full?)");
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {  // fsync through any descriptor of the file forces its data to disk
    ::fsync(fd);
    ::close(fd);
  }
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

// The locks that keep the processes of one study folder (shards, job slots, a second copy of the
// same command) from ever training one cell twice at once, and from writing the report at once.
// flock(2) locks: the kernel drops them when the last process holding them ends, however it ends.
#pragma once

#include <optional>
#include <string>

namespace ff::study {

// An exclusive lock on a file, held while this object lives (and by any child process that
// inherits its descriptor: see keep_across_exec).
class FileLock {
 public:
  // Takes the lock if no other process holds it; nullopt if one does. Throws ff::Error when the
  // file cannot be created.
  static std::optional<FileLock> try_take(const std::string& path);
  // Waits for the lock.
  static FileLock take(const std::string& path);

  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // The descriptor a child process keeps across exec (after fork, in the child), so that the lock
  // stays held until the child ends too, even if this process is killed first.
  int fd() const { return fd_; }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// DIR/cells/<cell>/cell.lock: held by the process that trains the cell (and its child).
std::string cell_lock_path(const std::string& cell_dir);
// DIR/study.lock: held while the report is written (several shards may end at once).
std::string report_lock_path(const std::string& study_dir);

}  // namespace ff::study

#include "study_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ff/error.hpp"

namespace ff::study {
namespace {

int open_lock_file(const std::string& path) {
  // O_CLOEXEC: a child started for another cell must not inherit (and so hold) this lock.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  require(fd >= 0, "cannot create " + path + " (" + std::strerror(errno) +
                       "): check that the study's folder is writable");
  return fd;
}

}  // namespace

std::optional<FileLock> FileLock::try_take(const std::string& path) {
  const int fd = open_lock_file(path);
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return FileLock(fd);
  const int error = errno;
  ::close(fd);
  require(error == EWOULDBLOCK, "cannot lock " + path + " (" + std::strerror(error) + ")");
  return std::nullopt;
}

FileLock FileLock::take(const std::string& path) {
  const int fd = open_lock_file(path);
  while (::flock(fd, LOCK_EX) != 0) {
    const int error = errno;
    if (error == EINTR) continue;
    ::close(fd);
    throw Error("cannot lock " + path + " (" + std::strerror(error) + ")");
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string cell_lock_path(const std::string& cell_dir) { return cell_dir + "/cell.lock"; }

std::string report_lock_path(const std::string& study_dir) { return study_dir + "/study.lock"; }

}  // namespace ff::study

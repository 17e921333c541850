#include "cell_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "ff/error.hpp"

// POSIX has the program declare environ itself (glibc's unistd.h does only under _GNU_SOURCE).
extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace ff::study {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void note_stop_signal(int signal) { g_stop_signal = signal; }

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Our environment with `changes` applied, as execve wants it.
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& changes) {
  std::map<std::string, std::string> variables;
  std::vector<std::string> order;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    const std::string name = text.substr(0, equals);
    if (!variables.count(name)) order.push_back(name);
    variables[name] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : changes) {
    if (!variables.count(name)) order.push_back(name);
    variables[name] = value;
  }
  std::vector<std::string> environment;
  environment.reserve(order.size());
  for (const std::string& name : order) environment.push_back(name + "=" + variables[name]);
  return environment;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (std::string& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

}  // namespace

pid_t start_child(const ChildSpec& spec) {
  // Everything the child needs is made here: between fork and exec only async-signal-safe calls
  // are allowed (this process may have other threads).
  std::vector<std::string> arguments = {"ffcuda"};
  arguments.insert(arguments.end(), spec.arguments.begin(), spec.arguments.end());
  std::vector<std::string> environment = child_environment(spec.environment);
  std::vector<char*> argv = pointers(arguments);
  std::vector<char*> envp = pointers(environment);
  const int log = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  require(log >= 0, "cannot write " + spec.log_path + " (" + std::strerror(errno) + ")");
  const int null_input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    // A parent killed outright (SIGKILL, an OOM kill) takes its children with it; the lock they
    // inherited then goes too, and a rerun resumes the cell from its checkpoint.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (null_input >= 0) ::dup2(null_input, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    if (spec.inherited_fd >= 0) ::fcntl(spec.inherited_fd, F_SETFD, 0);
    ::execve("/proc/self/exe", argv.data(), envp.data());
    ::_exit(127);
  }
  const int fork_error = errno;
  ::close(log);
  if (null_input >= 0) ::close(null_input);
  require(pid > 0, std::string("cannot start a child process (") + std::strerror(fork_error) + ")");
  ::setpgid(pid, pid);  // also here: the parent may signal the group before the child ran
  return pid;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = ::strsignal(signal);
    return "was killed by signal " + std::to_string(signal) +
           (name ? std::string(" (") + name + ")" : "");
  }
  return "ended (status " + std::to_string(status) + ")";
}

StopSignals::StopSignals() {
  g_stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = note_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int signal : kStopSignals) ::sigaction(signal, &action, nullptr);
}

StopSignals::~StopSignals() {
  for (int signal : kStopSignals) std::signal(signal, SIG_DFL);
}

bool StopSignals::requested() const { return g_stop_signal != 0; }

void StopSignals::raise_again() {
  const int signal = g_stop_signal;
  for (int s : kStopSignals) std::signal(s, SIG_DFL);
  std::raise(signal);
  std::_Exit(128 + signal);  // not reached for the signals caught
}

void stop_children(const std::vector<pid_t>& children, double grace_s) {
  for (pid_t pid : children) ::kill(-pid, SIGTERM);
  std::vector<pid_t> left = children;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    for (size_t i = 0; i < left.size();) {
      int status = 0;
      if (::waitpid(left[i], &status, WNOHANG) == left[i]) {
        left.erase(left.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (pid_t pid : left) {
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

std::string last_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace ff::study

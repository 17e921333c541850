// A Slurm cluster of one node on this machine, for a test: its own munged (own key and socket),
// slurmctld and slurmd, each a child of the test process in the foreground, with every port,
// state, spool, log and pid path its own (a temporary folder), so that it touches no other Slurm
// or munge on the machine. The destructor cancels its jobs and stops the daemons, whatever the
// test did; a test process that dies takes them with it (PR_SET_PDEATHSIG).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "command_util.hpp"

namespace ff::testing_util {

class LocalSlurm {
 public:
  // Why this machine cannot run one ("" when it can).
  static std::string why_unavailable() {
    if (::geteuid() != 0) return "a local slurmctld and slurmd need root";
    for (const char* program :
         {"/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch",
          "/usr/bin/scontrol", "/usr/bin/sinfo", "/usr/bin/scancel"}) {
      if (::access(program, X_OK) != 0) {
        return std::string(program) +
               " not found: slurm-wlm and munge are not installed "
               "(tools/setup.sh installs them)";
      }
    }
    return "";
  }

  explicit LocalSlurm(const std::filesystem::path& dir) : dir_(dir) {
    namespace fs = std::filesystem;
    for (const char* sub : {"run", "state", "spool", "log"}) fs::create_directories(dir_ / sub);
    // munged wants its socket's folder searchable by all, its key readable by its owner only.
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(dir_ / "run", fs::perms::owner_all | fs::perms::group_read |
                                      fs::perms::group_exec | fs::perms::others_read |
                                      fs::perms::others_exec);
    write_key(dir_ / "munge.key");
    write_conf();
    daemons_.push_back(
        start({"/usr/sbin/munged", "-F", "-S", path("run/munge.sock"),
               "--key-file=" + path("munge.key"), "--log-file=" + path("log/munged.log"),
               "--pid-file=" + path("run/munged.pid"), "--seed-file=" + path("munged.seed")},
              path("log/munged.out")));
    wait_for([&] { return fs::exists(dir_ / "run" / "munge.sock"); }, 10);
    daemons_.push_back(
        start({"/usr/sbin/slurmctld", "-D", "-f", conf()}, path("log/slurmctld.out")));
    daemons_.push_back(start({"/usr/sbin/slurmd", "-D", "-f", conf()}, path("log/slurmd.out")));
  }

  ~LocalSlurm() {
    // Jobs first (their steps would outlive slurmd), then the daemons in reverse order.
    run_shell(client() + "scancel --user=root");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (auto pid = daemons_.rbegin(); pid != daemons_.rend(); ++pid) stop(*pid);
  }

  LocalSlurm(const LocalSlurm&) = delete;
  LocalSlurm& operator=(const LocalSlurm&) = delete;

  std::string conf() const { return path("slurm.conf"); }
  // The prefix of a client command (sbatch, squeue...): this cluster's configuration.
  std::string client() const { return "SLURM_CONF=" + conf() + " "; }

  // Waits until the node is idle (registered, nothing running); false after `seconds`.
  bool wait_until_ready(double seconds) const {
    return wait_for([&] { return run_shell(client() + "sinfo -h -o %T").output.find("idle") == 0; },
                    seconds);
  }

  // A job's state (COMPLETED, RUNNING, PENDING, FAILED...), "" when slurmctld does not know it.
  std::string job_state(const std::string& id) const {
    const std::string text = run_shell(client() + "scontrol show job -o " + id).output;
    const size_t at = text.find("JobState=");
    if (at == std::string::npos) return "";
    return text.substr(at + 9, text.find(' ', at) - at - 9);
  }

  // The daemons' logs, for a failure message.
  std::string logs() const {
    std::string text;
    for (const char* name : {"log/slurmctld.log", "log/slurmd.log", "log/munged.log",
                             "log/slurmctld.out", "log/slurmd.out", "log/munged.out"}) {
      text += "---- " + path(name) + "\n" + tail(read_whole_file(dir_ / name), 3000);
    }
    return text;
  }

  static bool wait_for(const std::function<bool()>& ready, double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!ready()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return true;
  }

  // stdout and stderr of a shell command.
  static CommandOutcome run_shell(const std::string& command) {
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    std::string output;
    char buffer[512];
    while (pipe && fgets(buffer, sizeof buffer, pipe)) output += buffer;
    return {pipe ? pclose(pipe) : -1, output};
  }

  static std::string tail(const std::string& text, size_t size) {
    return text.size() <= size ? text : "..." + text.substr(text.size() - size);
  }

 private:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A TCP port nobody listens on now (the kernel's choice), for slurmctld and slurmd.
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  static void write_key(const std::filesystem::path& file) {
    std::random_device random;
    std::string key;
    for (int i = 0; i < 128; ++i) key += static_cast<char>(random() & 0xff);
    std::ofstream(file, std::ios::binary) << key;
    std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write);
  }

  void write_conf() const {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::string node = host;
    node = node.substr(0, node.find('.'));  // hostname -s
    int ctld_port = free_port(), slurmd_port = free_port();
    while (slurmd_port == ctld_port) slurmd_port = free_port();
    const long cpus = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    std::ofstream(conf()) << "ClusterName=ffcudatest\n"
                          << "SlurmctldHost=" << node << "(127.0.0.1)\n"
                          << "SlurmctldPort=" << ctld_port << "\nSlurmdPort=" << slurmd_port << "\n"
                          << "SlurmUser=root\nSlurmdUser=root\n"
                          << "AuthType=auth/munge\nCredType=cred/munge\n"
                          << "AuthInfo=socket=" << path("run/munge.sock") << "\n"
                          << "StateSaveLocation=" << path("state")
                          << "\nSlurmdSpoolDir=" << path("spool") << "\n"
                          << "SlurmctldPidFile=" << path("run/slurmctld.pid") << "\n"
                          << "SlurmdPidFile=" << path("run/slurmd.pid") << "\n"
                          << "SlurmctldLogFile=" << path("log/slurmctld.log") << "\n"
                          << "SlurmdLogFile=" << path("log/slurmd.log") << "\n"
                          << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
                          << "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
                          << "SchedulerType=sched/builtin\nReturnToService=2\nMpiDefault=none\n"
                          << "JobCompType=jobcomp/none\nJobAcctGatherType=jobacct_gather/none\n"
                          << "AccountingStorageType=accounting_storage/none\nMailProg=/bin/true\n"
                          << "NodeName=" << node << " NodeAddr=127.0.0.1 CPUs=" << cpus
                          << " State=UNKNOWN\n"
                          << "PartitionName=ffcudatest Nodes=" << node
                          << " Default=YES MaxTime=INFINITE State=UP\n";
  }

  // A daemon in the foreground, its output in `log`.
  static pid_t start(std::vector<std::string> arguments, const std::string& log) {
    std::vector<char*> argv;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::setpgid(0, 0);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }

  static void stop(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    const bool ended = wait_for(
        [&] {
          int status = 0;
          return ::waitpid(pid, &status, WNOHANG) == pid;
        },
        10);
    if (!ended) {
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }

  std::filesystem::path dir_;
  std::vector<pid_t> daemons_;
};

}  // namespace ff::testing_util

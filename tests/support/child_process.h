// A child process for tests: started with argv (no shell), output to a log file, stopped by its
// PID (SIGTERM, then SIGKILL) when the object dies, also when the test fails.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace bulwark::testing {

class ChildProcess {
 public:
  // Starts argv; stdout and stderr go to `log_path`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal` and waits up to 5 s, then SIGKILL. Returns the exit status (or -signal).
  int Stop(int signal = 15);

 private:
  pid_t pid_ = -1;
};

// Waits up to `timeout_ms` for `path` to exist and be non-empty; returns its contents or "".
std::string WaitForFile(const std::string& path, int timeout_ms);

}  // namespace bulwark::testing

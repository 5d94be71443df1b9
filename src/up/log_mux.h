// All the mesh's logs in one stream: each child's stdout and stderr go into a pipe of its own;
// a reader thread per pipe writes every line to the shared stream as "<name> | <line>" (whole
// lines, under one lock, so lines of different processes never interleave) and appends it,
// unprefixed, to the process's own log file. Thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/netns.h"

namespace bulwark::up {

class LogMux {
 public:
  // Writes prefixed lines to `out` (not owned; stdout in `bulwark up`).
  explicit LogMux(std::FILE* out) : out_(out) {}
  // Waits for every pipe to reach end of file (all its writers closed or exited).
  ~LogMux();
  LogMux(const LogMux&) = delete;
  LogMux& operator=(const LogMux&) = delete;

  // Returns the write end of a new pipe (CLOEXEC) whose lines are logged as `name`'s and
  // appended to `file` (created 0640). Errors: the pipe or the file cannot be opened.
  absl::StatusOr<sandbox::UniqueFd> Open(const std::string& name, const std::string& file);
  // Writes one line of up's own, prefixed "up".
  void Say(std::string_view line);

 private:
  void Copy(std::string name, sandbox::UniqueFd pipe, sandbox::UniqueFd file);
  void Emit(std::string_view name, std::string_view line);

  std::FILE* out_;
  std::mutex mu_;  // one line at a time on out_
  std::vector<std::thread> readers_;
  std::mutex readers_mu_;
};

}  // namespace bulwark::up

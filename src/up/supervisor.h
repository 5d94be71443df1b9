// Executes a Plan (up/plan.h): starts every process in order (services in their sandbox, each
// sidecar joined to its service's network namespace), waits until each is ready, restarts one
// that exits (with RestartDelay backoff; a service together with its sidecar, which must follow
// the service's new namespace), and stops everything in reverse order: SIGTERM, then SIGKILL
// after a bound, each by its PID. Logs go through a LogMux. Start, Run and Stop from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "up/log_mux.h"
#include "up/plan.h"
#include "up/process.h"

namespace bulwark::up {

struct SupervisorOptions {
  // Issues a one-time join token for a SPIFFE ID (called once the authority is ready, for every
  // start of the gateway or a sidecar).
  std::function<absl::StatusOr<std::string>(const std::string& spiffe_id)> join_token;
  std::chrono::milliseconds ready_timeout{30'000};  // for the whole mesh to become ready
  std::chrono::milliseconds stop_timeout{10'000};   // SIGTERM, then SIGKILL
  // A process that ran this long before it exited starts its backoff again from the beginning.
  std::chrono::milliseconds stable_after{30'000};
};

class Supervisor {
 public:
  Supervisor(Plan plan, LogMux& logs, SupervisorOptions options)
      : plan_(std::move(plan)), logs_(logs), options_(std::move(options)) {}
  // Stops whatever still runs.
  ~Supervisor() { Stop(); }
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts the authority and waits for it, then the gateway and waits for it, then per service
  // the sandboxed service and its sidecar, and waits until all are ready. Errors: a process cannot
  // start, exits, or is not ready within ready_timeout (naming it and its log file); what was
  // started keeps running until Stop.
  absl::Status Start();
  // Supervises until `stop` is true (checked every 50 ms): reports and restarts processes that
  // exit. Then stops everything in reverse order.
  void Run(const std::atomic<bool>& stop);
  // Stops every running process in reverse start order.
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Slot {
    const ProcessSpec* spec;
    ChildPtr child;
    Clock::time_point started;
    int failures = 0;
    std::optional<Clock::time_point> restart_at;
    bool ready = false;  // once seen ready after its (re)start
  };

  absl::Status StartSlot(Slot& slot);
  absl::StatusOr<ChildPtr> SpawnService(const ProcessSpec& spec, int output_fd);
  absl::StatusOr<ChildPtr> SpawnHost(const ProcessSpec& spec, int output_fd, int token_fd);
  absl::StatusOr<bool> IsReady(const Slot& slot) const;
  absl::Status WaitUntilReady(const std::vector<Slot*>& slots);
  void StopSlot(Slot& slot);
  void Reap(Clock::time_point now);
  void RestartDue(Clock::time_point now);
  void ReportReady();
  Slot* Find(const std::string& name);

  Plan plan_;
  LogMux& logs_;
  SupervisorOptions options_;
  std::vector<Slot> slots_;
  std::set<std::string> not_applied_;  // sandbox protections the host lacks, reported once
};

}  // namespace bulwark::up

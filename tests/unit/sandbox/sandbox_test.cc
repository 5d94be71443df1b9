#include "sandbox/sandbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace bulwark::sandbox {
namespace {

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

SandboxSpec ShellSpec(const std::string& script) {
  SandboxSpec spec;
  spec.name = "unit-" + std::to_string(getpid());
  spec.argv = {"sh", "-c", script};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.uid = 61990;
  spec.gid = 61990;
  return spec;
}

TEST(SandboxCgroupNameTest, EverySpawnGetsACgroupOfItsOwn) {
  std::string first = CgroupNameFor("queue");
  std::string second = CgroupNameFor("queue");
  EXPECT_NE(first, second);
  std::string prefix = "bulwark-" + std::to_string(getpid()) + "-";
  EXPECT_TRUE(first.starts_with(prefix)) << first;
  EXPECT_TRUE(first.ends_with("-queue")) << first;
}

TEST(SandboxSpecTest, RejectsWhatCannotBeSandboxed) {
  SandboxSpec spec = ShellSpec("true");
  spec.uid = 0;
  EXPECT_EQ(Message(ValidateSpec(spec)),
            "sandbox: uid and gid: a service never runs as root (uid or gid 0)");
  spec = ShellSpec("true");
  spec.argv.clear();
  EXPECT_EQ(Message(ValidateSpec(spec)), "sandbox: argv: a command is required");
  spec = ShellSpec("true");
  spec.nofile = 0;
  EXPECT_EQ(Message(ValidateSpec(spec)),
            "sandbox: limits: nofile and nproc must be >= 1, memory >= 1MiB, tmp_size > 0");
  spec = ShellSpec("true");
  spec.keep_fds = {1};
  EXPECT_EQ(Message(ValidateSpec(spec)), "sandbox: keep_fds: 1 is not an open descriptor >= 3");
  spec = ShellSpec("true");
  spec.argv = {"no-such-command-for-bulwark"};
  EXPECT_EQ(Message(Spawn(spec).status()),
            "sandbox: command 'no-such-command-for-bulwark' not found in PATH /usr/bin:/bin");
}

class SandboxSpawnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "the sandbox needs root (namespaces, setuid)";
    }
  }
};

TEST_F(SandboxSpawnTest, PassesTheExitStatusThrough) {
  absl::StatusOr<SandboxedProcessPtr> child = Spawn(ShellSpec("exit 3"));
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(*(*child)->Wait(), 3);
  EXPECT_FALSE((*child)->Wait().ok());
}

TEST_F(SandboxSpawnTest, ReportsTheFailingStep) {
  SandboxSpec spec = ShellSpec("true");
  spec.working_directory = "/nonexistent-bulwark-dir";
  EXPECT_EQ(Message(Spawn(spec).status()),
            "sandbox step 'working directory' failed: No such file or directory");
  spec = ShellSpec("true");
  spec.argv = {"/proc/version"};  // exists, mode 0444
  EXPECT_EQ(Message(Spawn(spec).status()), "sandbox step 'execve' failed: Permission denied");
}

TEST_F(SandboxSpawnTest, KeepsOnlyListedDescriptors) {
  int kept[2], dropped[2];
  ASSERT_EQ(pipe(kept), 0);
  ASSERT_EQ(pipe(dropped), 0);  // not CLOEXEC: only the sandbox closes it
  SandboxSpec spec = ShellSpec("test -e /proc/self/fd/" + std::to_string(kept[1]) +
                               " && ! test -e /proc/self/fd/" + std::to_string(dropped[1]));
  spec.keep_fds = {kept[1]};
  absl::StatusOr<SandboxedProcessPtr> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(*(*child)->Wait(), 0);
  for (int fd : {kept[0], kept[1], dropped[0], dropped[1]}) {
    close(fd);
  }
}

TEST_F(SandboxSpawnTest, DestroyingKillsTheService) {
  pid_t pid;
  {
    absl::StatusOr<SandboxedProcessPtr> child = Spawn(ShellSpec("sleep 30"));
    ASSERT_TRUE(child.ok()) << child.status();
    pid = (*child)->pid();
    EXPECT_EQ(kill(pid, 0), 0);
  }
  EXPECT_NE(kill(pid, 0), 0);  // reaped: no such process
}

}  // namespace
}  // namespace bulwark::sandbox

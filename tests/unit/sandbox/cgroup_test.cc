#include "sandbox/cgroup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "core/files.h"
#include "tests/support/temp_dir.h"

namespace bulwark::sandbox {
namespace {

constexpr char kHybridMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
    "38 31 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr char kHybridSelf[] = "8:pids:/\n4:memory:/jobs/42\n1:cpu:/\n0::/user.slice\n";

TEST(CgroupLayoutTest, ParsesHybridHost) {
  CgroupLayout layout = ParseCgroupLayout(kHybridMountinfo, kHybridSelf);
  EXPECT_EQ(layout.v1.at("memory"), "/sys/fs/cgroup/memory/jobs/42");
  EXPECT_EQ(layout.v1.at("pids"), "/sys/fs/cgroup/pids");
  EXPECT_EQ(layout.v1.at("cpu"), "/sys/fs/cgroup/cpu");
  EXPECT_EQ(layout.v2, "/sys/fs/cgroup/unified/user.slice");
}

TEST(CgroupLayoutTest, ParsesUnifiedHostAndMountRoots) {
  // A container whose cgroup2 mount shows only its own subtree (root /ctr).
  CgroupLayout layout = ParseCgroupLayout(
      "30 25 0:26 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", "0::/ctr/app\n");
  EXPECT_TRUE(layout.v1.empty());
  EXPECT_EQ(layout.v2, "/sys/fs/cgroup/app");
  // Our cgroup is outside what the mount shows: not usable.
  layout =
      ParseCgroupLayout("30 25 0:26 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/other\n");
  EXPECT_FALSE(layout.v2.has_value());
  // Garbage and short lines are skipped.
  layout = ParseCgroupLayout("x\n1 2 3\n- - -\n", "nonsense\n::\n");
  EXPECT_TRUE(layout.v1.empty());
  EXPECT_FALSE(layout.v2.has_value());
}

void WriteEmpty(const std::string& path) { std::ofstream(path) << ""; }

TEST(CgroupTest, V1WritesLimitsAndRemovesItsDirectories) {
  testing::TempDir tmp;
  ASSERT_EQ(mkdir(tmp.File("memory").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(tmp.File("pids").c_str(), 0755), 0);
  CgroupLayout layout{{{"memory", tmp.File("memory")}, {"pids", tmp.File("pids")}}, {}};
  std::string dir;
  {
    absl::StatusOr<CgroupPtr> cgroup = Cgroup::Create("bulwark-a", {128 << 20, 16}, layout);
    ASSERT_TRUE(cgroup.ok()) << cgroup.status();
    // A plain directory is not cgroupfs: cgroup.procs does not exist, so nothing is applied
    // and each controller says why.
    EXPECT_TRUE((*cgroup)->applied().empty());
    ASSERT_EQ((*cgroup)->not_applied().size(), 2u);
    EXPECT_NE((*cgroup)->not_applied()[0].find("cgroup memory (v1): cannot open"),
              std::string::npos);
    dir = tmp.File("memory/bulwark-a");
    EXPECT_EQ((*cgroup)->directories().front(), dir);
  }
  struct stat st;
  EXPECT_NE(stat(dir.c_str(), &st), 0) << "directory left behind";
}

TEST(CgroupTest, V1WithControlFilesAppliesLimits) {
  testing::TempDir tmp;
  ASSERT_EQ(mkdir(tmp.File("memory").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(tmp.File("memory/bulwark-b").c_str(), 0755), 0);
  WriteEmpty(tmp.File("memory/bulwark-b/cgroup.procs"));
  WriteEmpty(tmp.File("memory/bulwark-b/memory.limit_in_bytes"));
  CgroupLayout layout{{{"memory", tmp.File("memory")}}, {}};
  absl::StatusOr<CgroupPtr> cgroup = Cgroup::Create("bulwark-b", {64 << 20, 8}, layout);
  ASSERT_TRUE(cgroup.ok());
  ASSERT_EQ((*cgroup)->applied().size(), 1u);
  EXPECT_EQ((*cgroup)->applied()[0],
            "cgroup memory.limit_in_bytes=67108864 (" + tmp.File("memory/bulwark-b") + ")");
  EXPECT_EQ((*cgroup)->procs_fds().size(), 1u);
  EXPECT_EQ(*core::ReadFile(tmp.File("memory/bulwark-b/memory.limit_in_bytes")), "67108864");
  // No pids controller in v1 and no v2: reported.
  ASSERT_EQ((*cgroup)->not_applied().size(), 1u);
  EXPECT_EQ((*cgroup)->not_applied()[0],
            "cgroup pids: this host offers no pids controller (neither cgroup v1 nor v2)");
}

TEST(CgroupTest, V2EnablesControllersInTheParent) {
  testing::TempDir tmp;
  std::ofstream(tmp.File("cgroup.controllers")) << "cpu memory\n";
  WriteEmpty(tmp.File("cgroup.subtree_control"));
  ASSERT_EQ(mkdir(tmp.File("bulwark-c").c_str(), 0755), 0);
  WriteEmpty(tmp.File("bulwark-c/cgroup.procs"));
  WriteEmpty(tmp.File("bulwark-c/memory.max"));
  CgroupLayout layout{{}, tmp.path()};
  absl::StatusOr<CgroupPtr> cgroup = Cgroup::Create("bulwark-c", {32 << 20, 4}, layout);
  ASSERT_TRUE(cgroup.ok());
  EXPECT_EQ(*core::ReadFile(tmp.File("cgroup.subtree_control")), "+memory");
  EXPECT_EQ(*core::ReadFile(tmp.File("bulwark-c/memory.max")), "33554432");
  ASSERT_EQ((*cgroup)->not_applied().size(), 1u);
  EXPECT_NE((*cgroup)->not_applied()[0].find("no pids controller"), std::string::npos);
}

TEST(CgroupTest, NoCgroupsAtAllIsReportedNotFatal) {
  absl::StatusOr<CgroupPtr> cgroup = Cgroup::Create("bulwark-d", {1 << 20, 1}, CgroupLayout{});
  ASSERT_TRUE(cgroup.ok());
  EXPECT_TRUE((*cgroup)->applied().empty());
  EXPECT_EQ((*cgroup)->not_applied().size(), 2u);
  EXPECT_TRUE((*cgroup)->procs_fds().empty());
}

TEST(CgroupTest, RejectsNamesThatLeaveTheDirectory) {
  for (const char* name : {"", ".", "..", "../x", "a/b", "a b"}) {
    EXPECT_FALSE(Cgroup::Create(name, {}, CgroupLayout{}).ok()) << name;
  }
}

}  // namespace
}  // namespace bulwark::sandbox

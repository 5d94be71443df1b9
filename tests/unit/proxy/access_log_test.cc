// Tests of the access log: the exact JSON line, traceparent and path handling, that a full
// queue drops (and counts) instead of blocking, and that Reopen follows a logrotate rename.
#include "proxy/access_log.h"

#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "core/files.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace bulwark::proxy {
namespace {

using namespace std::chrono_literals;

AccessRecord Sample() {
  AccessRecord r;
  r.time = std::chrono::system_clock::time_point(1764580496123ms);  // 2025-12-01T09:14:56.123Z
  r.direction = Direction::kInbound;
  r.peer = "spiffe://example.org/svc/a";
  r.method = "POST";
  r.path = "/hello";
  r.status = 200;
  r.request_bytes = 5;
  r.response_bytes = 42;
  r.duration_ms = 1.5;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  return r;
}

TEST(AccessLogTest, FormatsOneJsonLine) {
  EXPECT_EQ(FormatAccessRecord(Sample()),
            R"({"time":"2025-12-01T09:14:56.123Z","direction":"inbound",)"
            R"("peer":"spiffe://example.org/svc/a","method":"POST","path":"/hello","status":200,)"
            R"("request_bytes":5,"response_bytes":42,"duration_ms":1.5,)"
            R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"})"
            "\n");
}

TEST(AccessLogTest, GatewayLinesCarryTheRoute) {
  AccessRecord r = Sample();
  r.direction = Direction::kPublic;
  r.route = "/api";
  std::string line = FormatAccessRecord(r);
  EXPECT_NE(line.find(R"("direction":"public")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("route":"/api"})"), std::string::npos) << line;
  EXPECT_EQ(FormatAccessRecord(Sample()).find("route"), std::string::npos);
}

TEST(AccessLogTest, OmitsEmptyTraceIdAndSurvivesInvalidUtf8) {
  AccessRecord r = Sample();
  r.trace_id.clear();
  r.direction = Direction::kOutbound;
  r.path = "/\xff";
  std::string line = FormatAccessRecord(r);
  EXPECT_EQ(line.find("trace_id"), std::string::npos);
  EXPECT_NE(line.find(R"("direction":"outbound")"), std::string::npos);
  EXPECT_NE(line.find("\"path\":\"/\xEF\xBF\xBD\""), std::string::npos) << line;  // U+FFFD
}

TEST(AccessLogTest, TraceIdFromTraceparent) {
  EXPECT_EQ(TraceIdFromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(TraceIdFromTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), "");
  EXPECT_EQ(TraceIdFromTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), "");
  EXPECT_EQ(TraceIdFromTraceparent("00-4bf92f35\"7b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "");
  EXPECT_EQ(TraceIdFromTraceparent("garbage"), "");
}

TEST(AccessLogTest, PathDropsTheQuery) {
  EXPECT_EQ(PathWithoutQuery("/hello?token=secret"), "/hello");
  EXPECT_EQ(PathWithoutQuery("/a/b"), "/a/b");
  EXPECT_EQ(PathWithoutQuery("http://b/hello?x=1"), "/hello");
  EXPECT_EQ(PathWithoutQuery("http://b?x=1"), "/");
  EXPECT_EQ(PathWithoutQuery("?x"), "/");
}

TEST(AccessLogTest, WritesEveryQueuedLineBeforeStopping) {
  std::string written;
  {
    AccessLog log([&](std::string_view lines) { written += lines; }, 16);
    EXPECT_TRUE(log.Submit(Sample()));
    EXPECT_TRUE(log.Submit(Sample()));
  }
  EXPECT_EQ(written, FormatAccessRecord(Sample()) + FormatAccessRecord(Sample()));
}

TEST(AccessLogTest, DropsAndCountsWhenTheQueueIsFull) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  bool first = true;
  std::size_t lines = 0;
  {
    AccessLog log(
        [&](std::string_view text) {
          lines += static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
          if (first) {
            first = false;
            entered.set_value();
            released.wait();  // a stuck disk
          }
        },
        2);
    ASSERT_TRUE(log.Submit(Sample()));
    ASSERT_EQ(entered.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(log.Submit(Sample()));
    EXPECT_TRUE(log.Submit(Sample()));
    EXPECT_FALSE(log.Submit(Sample()));  // the writer holds none of the queue: full
    EXPECT_FALSE(log.Submit(Sample()));
    EXPECT_EQ(log.dropped(), 2u);
    release.set_value();
  }
  EXPECT_EQ(lines, 3u);
}

AccessRecord WithPath(std::string path) {
  AccessRecord r = Sample();
  r.path = std::move(path);
  return r;
}

TEST(AccessLogTest, WorkerIsWrittenOnlyWhenSet) {
  EXPECT_EQ(FormatAccessRecord(Sample()).find("worker"), std::string::npos);
  AccessRecord r = Sample();
  r.worker = 1;
  EXPECT_NE(FormatAccessRecord(r).find(R"("worker":1})"), std::string::npos);
}

TEST(AccessLogTest, ReopenAfterARenameWritesTheNextLinesToANewFile) {
  testing::TempDir dir;
  const std::string path = dir.File("access.jsonl");
  const std::string rotated = dir.File("access.jsonl.1");
  {
    absl::StatusOr<std::unique_ptr<AccessLog>> log = AccessLog::Open(path, "--access-log");
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->Submit(WithPath("/one")));
    ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
    ASSERT_TRUE((*log)->Submit(WithPath("/two")));  // still the open file: now `rotated`
    (*log)->Reopen();
    ASSERT_TRUE((*log)->Submit(WithPath("/three")));
  }  // writes what is queued
  absl::StatusOr<std::string> old_file = core::ReadFile(rotated);
  absl::StatusOr<std::string> new_file = core::ReadFile(path);
  ASSERT_TRUE(old_file.ok()) << old_file.status();
  ASSERT_TRUE(new_file.ok()) << new_file.status();
  EXPECT_EQ(*old_file, FormatAccessRecord(WithPath("/one")) + FormatAccessRecord(WithPath("/two")));
  EXPECT_EQ(*new_file, FormatAccessRecord(WithPath("/three")));
}

TEST(AccessLogTest, ReopenThatFailsKeepsWritingToTheOpenFile) {
  testing::TempDir dir;
  const std::string path = dir.File("logs/access.jsonl");
  ASSERT_TRUE(std::filesystem::create_directory(dir.File("logs")));
  const std::string moved = dir.File("moved");
  {
    absl::StatusOr<std::unique_ptr<AccessLog>> log = AccessLog::Open(path, "--access-log");
    ASSERT_TRUE(log.ok()) << log.status();
    // The directory is gone: the path cannot be created again.
    ASSERT_EQ(std::rename(dir.File("logs").c_str(), moved.c_str()), 0);
    (*log)->Reopen();
    ASSERT_TRUE((*log)->Submit(WithPath("/kept")));
  }
  absl::StatusOr<std::string> kept = core::ReadFile(moved + "/access.jsonl");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, FormatAccessRecord(WithPath("/kept")));
}

}  // namespace
}  // namespace bulwark::proxy

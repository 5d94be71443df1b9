// Tests of the decision log: the exact JSON line for an allow and a deny, and the sampling rule
// (every deny, one allow in N).
#include "proxy/decision_log.h"

#include <mutex>
#include <string>

#include "gtest/gtest.h"

namespace bulwark::proxy {
namespace {

using namespace std::chrono_literals;

DecisionRecord Allowed() {
  DecisionRecord r;
  r.time = std::chrono::system_clock::time_point(1764580496123ms);  // 2025-12-01T09:14:56.123Z
  r.peer = "spiffe://example.org/svc/a";
  r.method = "GET";
  r.path = "/users/7";
  r.allowed = true;
  r.rule = 2;
  r.description = "from a; methods GET; paths /users/{id}";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.policy_version = 9;
  return r;
}

TEST(DecisionLogTest, FormatsAllowAndDeny) {
  EXPECT_EQ(FormatDecisionRecord(Allowed()),
            R"({"time":"2025-12-01T09:14:56.123Z","peer":"spiffe://example.org/svc/a",)"
            R"("method":"GET","path":"/users/7","decision":"allow","rule":2,)"
            R"("description":"from a; methods GET; paths /users/{id}",)"
            R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","policy_version":9})"
            "\n");
  DecisionRecord deny = Allowed();
  deny.allowed = false;
  deny.rule = -1;
  deny.reason = "path";
  deny.trace_id.clear();
  deny.path = "/\xff";  // a refused raw path may be anything
  EXPECT_EQ(FormatDecisionRecord(deny),
            R"({"time":"2025-12-01T09:14:56.123Z","peer":"spiffe://example.org/svc/a",)"
            R"("method":"GET","path":"/)"
            "\xEF\xBF\xBD"  // U+FFFD in place of the invalid byte
            R"(","decision":"deny","reason":"path",)"
            R"("policy_version":9})"
            "\n");
}

TEST(DecisionLogTest, SamplesAllowsButKeepsEveryDeny) {
  std::mutex mu;
  std::string written;
  {
    DecisionLog log(
        [&](std::string_view lines) {
          std::lock_guard<std::mutex> lock(mu);
          written += lines;
        },
        3);
    int allows = 0;
    int denies = 0;
    for (int i = 0; i < 9; ++i) {
      allows += log.Sampled(true) ? 1 : 0;
      denies += log.Sampled(false) ? 1 : 0;
    }
    EXPECT_EQ(allows, 3);  // the 1st, 4th and 7th
    EXPECT_EQ(denies, 9);
    EXPECT_TRUE(log.Submit(Allowed()));
  }  // the destructor writes what is queued
  EXPECT_NE(written.find("\"decision\":\"allow\""), std::string::npos);
  DecisionLog every([](std::string_view) {}, 0);  // 0 means 1: every decision
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(every.Sampled(true));
  }
}

}  // namespace
}  // namespace bulwark::proxy

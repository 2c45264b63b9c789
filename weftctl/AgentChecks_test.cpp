#include "weftctl/AgentChecks.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace weft::weftctl;
using namespace std::chrono;

namespace {

const auto kNow = system_clock::from_time_t(1767225600);  // 2026-01-01 00:00:00 UTC

double unix_s(system_clock::time_point t) {
  return duration<double>(t.time_since_epoch()).count();
}

/// An agent that answered /metrics and /ready, its clock `skew` seconds off.
AgentProbe agent(std::string address, std::string version = "0.1.0", double skew = 0) {
  AgentProbe p;
  p.address = std::move(address);
  p.sent = kNow;
  p.answered = kNow + milliseconds(20);
  p.metrics = std::vector<MetricSample>{
      {"weft_build_info", {{"version", version}}, 1},
      {"weft_agent_time_seconds", {}, unix_s(kNow + milliseconds(10)) + skew},
      {"weft_identity_certificate_expiry_timestamp_seconds",
       {{"principal", "spiffe://cluster.local/ns/e2e/sa/web"}},
       unix_s(kNow + hours(20))},
  };
  return p;
}

CheckResult find(const std::vector<CheckResult>& results, std::string_view check) {
  for (const CheckResult& r : results) {
    if (r.check.find(check) != std::string::npos) {
      return r;
    }
  }
  FAIL("no check " << check);
  return {};
}

}  // namespace

TEST_CASE("agent checks: healthy agents of weftctl's version pass") {
  std::vector<AgentProbe> probes{agent("a:15020"), agent("b:15020")};
  auto results = agent_checks(probes, "0.1.0");
  REQUIRE(results.size() == 4);
  for (const CheckResult& r : results) {
    CAPTURE(r.check);
    CHECK(r.status == CheckStatus::Ok);
    CHECK(r.category == "weft-agents");
  }
  CHECK(results[0].detail == "2 agents: a:15020, b:15020");
  auto certs = workload_certificate_check(probes, kNow);
  CHECK(certs.status == CheckStatus::Ok);
  CHECK(certs.detail == "2 certificates; the soonest expires 2026-01-01 20:00:00 UTC, in 20 hours");
}

TEST_CASE("agent checks: an unreachable agent fails, the rest are judged on those read") {
  std::vector<AgentProbe> probes{agent("a:15020"), agent("b:15020")};
  probes[1].metrics = std::unexpected(weft::make_error(
      weft::Error::Kind::System, "GET http://b:15020/metrics: Couldn't connect to server"));
  probes[0].ready = std::unexpected(
      weft::make_error(weft::Error::Kind::Protocol, "GET http://a:15020/ready: status 503"));
  auto results = agent_checks(probes, "0.1.0");
  auto reach = find(results, "serve their admin endpoint");
  CHECK(reach.status == CheckStatus::Error);
  CHECK(reach.detail == "b:15020: GET http://b:15020/metrics: Couldn't connect to server");
  auto ready = find(results, "are ready");
  CHECK(ready.status == CheckStatus::Error);
  CHECK(ready.detail == "a:15020: GET http://a:15020/ready: status 503");
  CHECK(find(results, "version").status == CheckStatus::Ok);

  // None read: only the reachability check, and no certificate check to make.
  probes[0].metrics = probes[1].metrics;
  CHECK(agent_checks(probes, "0.1.0").size() == 1);
}

TEST_CASE("agent checks: other versions warn, naming who runs what") {
  std::vector<AgentProbe> probes{agent("a:1"), agent("b:1", "0.2.0"), agent("c:1")};
  auto r = find(agent_checks(probes, "0.1.0"), "version");
  CHECK(r.status == CheckStatus::Warning);
  CHECK(r.detail == "weftctl is 0.1.0\n0.1.0: a:1, c:1\n0.2.0: b:1");
  CHECK(r.hint.find("rollout") != std::string::npos);
  // One version, not weftctl's.
  std::vector<AgentProbe> newer{agent("a:1", "0.2.0")};
  CHECK(find(agent_checks(newer, "0.1.0"), "version").status == CheckStatus::Warning);
  // An agent without weft_build_info.
  probes[1].metrics->erase(probes[1].metrics->begin());
  r = find(agent_checks(probes, "0.1.0"), "version");
  CHECK(r.detail.find("no weft_build_info (older than weft 0.1.0): b:1") != std::string::npos);
}

TEST_CASE("agent checks: clocks over 10 s apart warn, over 60 s fail") {
  CHECK(clock_offset(agent("a:1")) == 0.0);  // read between sending and the answer
  CHECK(*clock_offset(agent("a:1", "0.1.0", 5)) == doctest::Approx(4.99));
  CHECK(*clock_offset(agent("a:1", "0.1.0", -5)) == doctest::Approx(-4.99));
  struct Case {
    double a, b;
    CheckStatus status;
  };
  for (const auto& c : {Case{3, -3, CheckStatus::Ok}, Case{12, 0, CheckStatus::Warning},
                        Case{8, -8, CheckStatus::Warning}, Case{50, -20, CheckStatus::Error},
                        Case{-61, 0, CheckStatus::Error}}) {
    CAPTURE(c.a);
    CAPTURE(c.b);
    std::vector<AgentProbe> probes{agent("a:1", "0.1.0", c.a), agent("b:1", "0.1.0", c.b)};
    auto r = find(agent_checks(probes, "0.1.0"), "clocks");
    CHECK(r.status == c.status);
    CHECK(r.hint.empty() == (c.status == CheckStatus::Ok));
  }
  std::vector<AgentProbe> ahead{agent("a:1", "0.1.0", 75)};
  auto r = find(agent_checks(ahead, "0.1.0"), "clocks");
  CHECK(r.detail.starts_with("a:1 is 75.0 s ahead of this machine\n"));
}

TEST_CASE("agent checks: an expired workload certificate fails, a failed renewal warns") {
  std::vector<AgentProbe> probes{agent("a:1"), agent("b:1")};
  probes[1].metrics->push_back(
      {"weft_identity_certificate_renewals_total", {{"result", "error"}}, 3});
  auto r = workload_certificate_check(probes, kNow);
  CHECK(r.status == CheckStatus::Warning);
  CHECK(r.detail == "b:1: 3 failed renewals since it started");
  probes[0].metrics->push_back({"weft_identity_certificate_expiry_timestamp_seconds",
                                {{"principal", "spiffe://cluster.local/ns/e2e/sa/old"}},
                                unix_s(kNow - minutes(5))});
  r = workload_certificate_check(probes, kNow);
  CHECK(r.status == CheckStatus::Error);
  CHECK(r.detail ==
        "a:1: spiffe://cluster.local/ns/e2e/sa/old expired 2025-12-31 23:55:00 UTC, 5 minutes ago");
  std::vector<AgentProbe> empty{agent("a:1")};
  empty[0].metrics->pop_back();
  CHECK(workload_certificate_check(empty, kNow).detail == "no meshed workload yet");
}

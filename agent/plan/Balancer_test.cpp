#include "agent/plan/Balancer.hpp"

#include <doctest/doctest.h>

#include <map>
#include <vector>

using weft::IpAddr;
using weft::SockAddr;
using weft::proxy::Balancer;
using weft::proxy::SuspectPeers;

namespace {
const SuspectPeers kNoSuspects{std::chrono::seconds(2)};

struct Ep {
  SockAddr addr;
};
std::vector<Ep> endpoints(int n) {
  std::vector<Ep> eps;
  for (int i = 0; i < n; ++i) {
    eps.push_back({SockAddr{*IpAddr::parse("10.0.0." + std::to_string(i + 1)), 80}});
  }
  return eps;
}

/// The endpoint `b` picks now, none tried before.
std::size_t pick(Balancer& b, const std::vector<Ep>& eps, Balancer::Clock::time_point now = {}) {
  auto idx = b.pick(std::span<const Ep>(eps), {}, now);
  REQUIRE(idx);
  return *idx;
}
}  // namespace

TEST_CASE("balancer spreads new connections evenly when all stay open") {
  Balancer b(42, kNoSuspects);
  auto eps = endpoints(3);
  std::map<std::size_t, int> hits;
  for (int i = 0; i < 300; ++i) {
    auto idx = pick(b, eps);
    b.opened(eps[idx].addr);
    ++hits[idx];
  }
  // Least-loaded of two keeps every endpoint within a few connections of the mean.
  for (auto [idx, n] : hits) {
    CHECK(n >= 95);
    CHECK(n <= 105);
  }
}

TEST_CASE("balancer avoids a loaded endpoint and forgets closed connections") {
  Balancer b(7, kNoSuspects);
  auto eps = endpoints(2);
  for (int i = 0; i < 10; ++i) {
    b.opened(eps[0].addr);
  }
  for (int i = 0; i < 20; ++i) {
    CHECK(pick(b, eps) == 1);
  }
  for (int i = 0; i < 10; ++i) {
    b.closed(eps[0].addr);
  }
  CHECK(b.load(eps[0].addr) == 0);
}

TEST_CASE("balancer never picks a tried endpoint, and avoids one that just refused") {
  Balancer b(11, kNoSuspects);
  auto eps = endpoints(3);
  Balancer::Clock::time_point t{};
  std::vector<SockAddr> tried{eps[0].addr};
  for (int i = 0; i < 50; ++i) {
    auto idx = b.pick(std::span<const Ep>(eps), tried, t);
    REQUIRE(idx);
    CHECK(*idx != 0);
  }
  tried = {eps[0].addr, eps[1].addr, eps[2].addr};
  CHECK_FALSE(b.pick(std::span<const Ep>(eps), tried, t));

  b.refused(eps[1].addr, t);
  for (int i = 0; i < 50; ++i) {
    CHECK(pick(b, eps, t + std::chrono::seconds(1)) != 1);
  }
  // Every other one tried: the one that refused is tried again (it may be back).
  tried = {eps[0].addr, eps[2].addr};
  CHECK(b.pick(std::span<const Ep>(eps), tried, t + std::chrono::seconds(1)) == 1);
  // Its refusal is forgotten after kAvoidAfterRefusal (and dropped by the tick).
  b.forget_refusals(t + Balancer::kAvoidAfterRefusal);
  std::map<std::size_t, int> hits;
  for (int i = 0; i < 300; ++i) {
    ++hits[pick(b, eps, t + Balancer::kAvoidAfterRefusal)];
  }
  CHECK(hits[1] > 50);
}

TEST_CASE("balancer avoids endpoints whose peer agent did not answer while another is left") {
  SuspectPeers suspects{std::chrono::seconds(2)};
  Balancer b(13, suspects);
  auto eps = endpoints(2);
  Balancer::Clock::time_point t{};
  suspects.avoid(eps[0].addr.ip, t);
  for (int i = 0; i < 50; ++i) {
    CHECK(pick(b, eps, t + std::chrono::seconds(1)) == 1);
  }
  // The other one tried: the suspect one is the last resort, not a refusal.
  std::vector<SockAddr> tried{eps[1].addr};
  CHECK(b.pick(std::span<const Ep>(eps), tried, t + std::chrono::seconds(1)) == 0);
  // After the avoidance window it takes connections again (a new session dials it with the
  // short limit while it stays suspect).
  std::map<std::size_t, int> hits;
  for (int i = 0; i < 300; ++i) {
    ++hits[pick(b, eps, t + std::chrono::seconds(2))];
  }
  CHECK(hits[0] > 50);
  CHECK(suspects.suspect(eps[0].addr.ip));
  suspects.forget(t + SuspectPeers::kForgetAfter + std::chrono::seconds(1));
  CHECK_FALSE(suspects.suspect(eps[0].addr.ip));
}

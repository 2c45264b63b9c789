#include "agent/plan/EndpointPicker.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using weft::IpAddr;
using weft::SockAddr;
using weft::discovery::Endpoint;
using weft::proxy::Avoid;
using weft::proxy::EndpointLoads;
using weft::proxy::EndpointPicker;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<Endpoint> endpoints(int n) {
  std::vector<Endpoint> eps(n);
  for (int i = 0; i < n; ++i) {
    eps[i].addr = SockAddr{*IpAddr::parse("10.0.0." + std::to_string(i + 1)), 8080};
  }
  return eps;
}

/// Ejects `addr`'s breaker: as many failures in a row as the policy needs (refused
/// connections when `refused`, else error answers).
void eject(EndpointLoads& loads, const SockAddr& addr, Clock::time_point now,
           bool refused = false) {
  auto& breaker = loads.of(addr, now).breaker;
  for (uint32_t i = 0; i < weft::l7::CircuitBreakerPolicy{}.consecutive_failures; ++i) {
    if (refused) {
      breaker.unreachable(now, 0.0);
    } else {
      breaker.failed(now, 0.0);
    }
  }
}

/// How often each endpoint index is picked over `n` requests (none of them ends: the loads
/// keep their state).
std::map<std::size_t, int> picks(EndpointPicker& picker, const std::vector<Endpoint>& eps,
                                 EndpointLoads& loads, weft::l7::FastRandom& random, int n,
                                 Clock::time_point now, const Avoid& avoid = {}) {
  std::map<std::size_t, int> hits;
  for (int i = 0; i < n; ++i) {
    auto p = picker.pick(eps, loads, avoid, random, now);
    REQUIRE(p);
    ++hits[p->index];
  }
  return hits;
}

}  // namespace

TEST_CASE("endpoint picker: of two endpoints the one with fewer requests in flight") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(7);
  auto now = Clock::now();
  auto eps = endpoints(2);
  loads.of(eps[0].addr, now).load.started();  // endpoint 0 has a request outstanding
  auto hits = picks(picker, eps, loads, random, 50, now);
  CHECK(hits[1] == 50);
}

TEST_CASE("endpoint picker: the slower endpoint's peak-EWMA cost keeps it out of pairs") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(11);
  auto now = Clock::now();
  auto eps = endpoints(3);
  // Endpoint 2 answered in 2 s once: its estimate jumps to the peak.
  loads.of(eps[2].addr, now).load.finished(now - std::chrono::seconds(2), now);
  auto hits = picks(picker, eps, loads, random, 600, now);
  // Power of two choices: endpoint 2 wins no pair, the other two share the load.
  CHECK(hits[2] == 0);
  CHECK(hits[0] > 200);
  CHECK(hits[1] > 200);
}

TEST_CASE("endpoint picker: equal endpoints share requests") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(3);
  auto now = Clock::now();
  auto eps = endpoints(4);
  auto hits = picks(picker, eps, loads, random, 4000, now);
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(hits[k] > 700);  // 1000 expected each
  }
}

TEST_CASE("endpoint picker: an ejected endpoint gets nothing until its probe is due") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(5);
  auto now = Clock::now();
  auto eps = endpoints(3);
  eject(loads, eps[1].addr, now);
  auto hits = picks(picker, eps, loads, random, 300, now);
  CHECK(hits[1] == 0);
  CHECK(hits[0] + hits[2] == 300);

  // After the backoff (1 s, jitter 0) exactly one request is its probe, marked as such.
  auto later = now + std::chrono::milliseconds(1500);
  int probes = 0;
  int to_ejected = 0;
  for (int i = 0; i < 300; ++i) {
    auto p = picker.pick(eps, loads, {}, random, later);
    REQUIRE(p);
    to_ejected += p->index == 1 ? 1 : 0;
    probes += p->probe ? 1 : 0;
    if (p->probe) {
      CHECK(p->index == 1);
    }
  }
  CHECK(probes == 1);
  CHECK(to_ejected == 1);
}

TEST_CASE("endpoint picker: every endpoint ejected fails fast") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(9);
  auto now = Clock::now();
  auto eps = endpoints(2);
  eject(loads, eps[0].addr, now);
  eject(loads, eps[1].addr, now);
  CHECK_FALSE(picker.pick(eps, loads, {}, random, now));
  CHECK_FALSE(picker.pick({}, loads, {}, random, now));
}

TEST_CASE(
    "endpoint picker: with every endpoint ejected, those that refused connections are tried") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(11);
  auto now = Clock::now();
  auto eps = endpoints(3);
  eject(loads, eps[0].addr, now);                    // answered with errors: fails fast
  eject(loads, eps[1].addr, now, /*refused=*/true);  // may be back at any moment
  eject(loads, eps[2].addr, now, /*refused=*/true);
  auto hits = picks(picker, eps, loads, random, 100, now);
  CHECK(hits[0] == 0);
  CHECK(hits[1] + hits[2] == 100);
  CHECK(hits[1] > 0);
  CHECK(hits[2] > 0);
  // A request that found both refusing (in its unreachable list) gets nothing: fail fast.
  std::vector<SockAddr> tried{eps[1].addr, eps[2].addr};
  CHECK_FALSE(picker.pick(eps, loads, Avoid{nullptr, tried}, random, now));
  // One endpoint is back: its success closes its breaker, and it takes every request.
  loads.of(eps[2].addr, now).breaker.succeeded();
  hits = picks(picker, eps, loads, random, 50, now);
  CHECK(hits[2] == 50);
}

TEST_CASE("endpoint picker: a request sent again avoids where it failed") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(13);
  auto now = Clock::now();
  auto eps = endpoints(3);

  SUBCASE("the endpoint whose attempt failed, while another one is admitted") {
    Avoid avoid{&eps[0].addr, {}};
    auto hits = picks(picker, eps, loads, random, 200, now, avoid);
    CHECK(hits[0] == 0);
    // Alone, it may be tried again.
    std::vector<Endpoint> one{eps[0]};
    auto p = picker.pick(one, loads, avoid, random, now);
    REQUIRE(p);
    CHECK(p->index == 0);
  }
  SUBCASE("endpoints that refused it, never again") {
    std::vector<SockAddr> refused{eps[0].addr, eps[2].addr};
    Avoid avoid{nullptr, refused};
    auto hits = picks(picker, eps, loads, random, 200, now, avoid);
    CHECK(hits[1] == 200);
    std::vector<SockAddr> all{eps[0].addr, eps[1].addr, eps[2].addr};
    CHECK_FALSE(picker.pick(eps, loads, Avoid{nullptr, all}, random, now));
  }
}

TEST_CASE("endpoint picker: endpoints whose peer agent did not answer get only what has no other") {
  EndpointLoads loads;
  EndpointPicker picker;
  weft::l7::FastRandom random(17);
  auto now = Clock::now();
  auto eps = endpoints(3);
  weft::proxy::SuspectPeers suspects{std::chrono::seconds(2)};
  suspects.avoid(eps[0].addr.ip, now);
  Avoid avoid{nullptr, {}, &suspects};
  auto hits = picks(picker, eps, loads, random, 200, now, avoid);
  CHECK(hits[0] == 0);
  CHECK(hits[1] + hits[2] == 200);

  // The others down (one answered with errors, one refused this request): the suspect one is
  // dialled rather than the request failed.
  eject(loads, eps[1].addr, now);
  std::vector<SockAddr> refused{eps[2].addr};
  hits = picks(picker, eps, loads, random, 50, now, Avoid{nullptr, refused, &suspects});
  CHECK(hits[0] == 50);

  // Past the avoidance window it shares requests again.
  hits = picks(picker, eps, loads, random, 200, now + std::chrono::seconds(2), avoid);
  CHECK(hits[0] > 20);
}

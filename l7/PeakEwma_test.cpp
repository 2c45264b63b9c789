#include "l7/PeakEwma.hpp"

#include <doctest/doctest.h>

#include "l7/PowerOfTwoChoices.hpp"

namespace weft::l7 {
namespace {

using namespace std::chrono_literals;
using Clock = PeakEwma::Clock;

TEST_CASE("a slower response raises the estimate at once, faster ones lower it slowly") {
  Clock::time_point t0{};
  PeakEwma e(30ms, 10s, t0);
  CHECK(e.estimate(t0) == doctest::Approx(30e6));
  e.started();
  e.finished(t0, t0 + 50ms);
  CHECK(e.estimate(t0 + 50ms) == doctest::Approx(50e6));
  e.started();
  e.finished(t0 + 50ms, t0 + 51ms);  // 1 ms, 1 ms after the last update: barely moves
  CHECK(e.estimate(t0 + 51ms) < 50e6);
  CHECK(e.estimate(t0 + 51ms) > 49e6);
}

TEST_CASE("an idle estimate decays so the endpoint is tried again") {
  Clock::time_point t0{};
  PeakEwma e(30ms, 10s, t0);
  e.started();
  e.finished(t0, t0 + 100ms);
  CHECK(e.estimate(t0 + 10s + 100ms) == doctest::Approx(100e6 * 0.36788).epsilon(0.01));
}

TEST_CASE("requests in flight multiply the cost") {
  Clock::time_point t0{};
  PeakEwma e(10ms, 10s, t0);
  CHECK(e.cost(t0) == doctest::Approx(10e6));
  e.started();
  e.started();
  CHECK(e.pending() == 2);
  CHECK(e.cost(t0) == doctest::Approx(30e6));
}

TEST_CASE("power of two choices takes the cheaper of two distinct candidates") {
  FastRandom random(42);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 3000; ++i) {
    ++counts[pick_two(3, random, [](std::size_t j) { return j == 2 ? 100.0 : 1.0; })];
  }
  CHECK(counts[2] == 0);  // the expensive one loses every pairing it is drawn in
  CHECK(counts[0] > 1200);
  CHECK(counts[1] > 1200);
  CHECK(pick_two(1, random, [](std::size_t) { return 0.0; }) == 0);
}

}  // namespace
}  // namespace weft::l7

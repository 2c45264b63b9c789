#include "l7/CircuitBreaker.hpp"

#include <doctest/doctest.h>

namespace weft::l7 {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

TEST_CASE("consecutive failures eject, a success in between resets the count") {
  CircuitBreaker b({3, 1s, 60s});
  CircuitBreaker::Clock::time_point t{};
  b.failed(t, 0);
  b.failed(t, 0);
  b.succeeded();
  b.failed(t, 0);
  b.failed(t, 0);
  CHECK(b.state() == State::Closed);
  b.failed(t, 0);
  CHECK(b.state() == State::Ejected);
  CHECK_FALSE(b.admits(t + 999ms));
  CHECK(b.ejections() == 1);
}

TEST_CASE("after the backoff exactly one probe goes; its outcome decides") {
  CircuitBreaker b({1, 1s, 60s});
  CircuitBreaker::Clock::time_point t{};
  b.failed(t, 0);
  REQUIRE(b.admits(t + 1s));
  CHECK(b.sent(t + 1s));  // this request is the probe
  CHECK(b.state() == State::Probing);
  CHECK_FALSE(b.admits(t + 1s));  // no second request while the probe is out
  b.failed(t + 1s, 0);            // still broken: out for twice as long
  CHECK_FALSE(b.admits(t + 2s + 999ms));
  CHECK(b.admits(t + 3s));
  CHECK(b.sent(t + 3s));
  b.succeeded();
  CHECK(b.state() == State::Closed);
  CHECK(b.admits(t + 3s));
  CHECK_FALSE(b.sent(t + 3s));  // an ordinary request
}

TEST_CASE("backoff doubles up to the maximum and jitter only lengthens it") {
  CircuitBreaker b({1, 1s, 4s});
  CircuitBreaker::Clock::time_point t{};
  b.failed(t, 0.99);  // 1 s + up to 0.5 s
  CHECK_FALSE(b.admits(t + 1400ms));
  CHECK(b.admits(t + 1500ms));
  for (int i = 0; i < 5; ++i) {
    t += 10s;
    b.sent(t);
    b.failed(t, 0);
  }
  CHECK_FALSE(b.admits(t + 3999ms));  // capped at 4 s
  CHECK(b.admits(t + 4s));
}

TEST_CASE("an endpoint ejected for refusing is refusing() until it answers") {
  CircuitBreaker b({2, 1s, 60s});
  CircuitBreaker::Clock::time_point t{};
  b.unreachable(t, 0);
  CHECK_FALSE(b.refusing());  // still closed: one failure of two
  b.unreachable(t, 0);
  CHECK(b.state() == State::Ejected);
  CHECK(b.refusing());
  b.unreachable(t + 10ms, 0);  // a try while ejected changes nothing but the kind
  CHECK(b.refusing());
  CHECK_FALSE(b.admits(t + 999ms));
  b.failed(t + 20ms, 0);  // reached, but answered with an error: not refusing any more
  CHECK_FALSE(b.refusing());
  CHECK(b.state() == State::Ejected);
  b.unreachable(t + 30ms, 0);
  b.succeeded();
  CHECK(b.state() == State::Closed);
  CHECK_FALSE(b.refusing());
}

}  // namespace
}  // namespace weft::l7

#include "l7/RetryBudget.hpp"

#include <doctest/doctest.h>

namespace weft::l7 {
namespace {

using namespace std::chrono_literals;

TEST_CASE("the floor allows a few retries per second without traffic") {
  RetryBudget b({0.2, 1, 10s});
  RetryBudget::Clock::time_point t{};
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    allowed += b.try_spend(t) ? 1 : 0;
  }
  CHECK(allowed == 10);  // 1 per second over a 10 s window
}

TEST_CASE("retries stay within the ratio of requests plus the floor") {
  RetryBudget b({0.2, 1, 10s});
  RetryBudget::Clock::time_point t{};
  for (int i = 0; i < 1000; ++i) {
    b.request(t);
  }
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) {
    allowed += b.try_spend(t) ? 1 : 0;
  }
  CHECK(allowed == 210);  // 0.2 * 1000 + 1 * 10
}

TEST_CASE("old requests and retries leave the window") {
  RetryBudget b({0.5, 0, 2s});
  RetryBudget::Clock::time_point t{};
  for (int i = 0; i < 10; ++i) {
    b.request(t);
  }
  for (int i = 0; i < 5; ++i) {
    CHECK(b.try_spend(t));
  }
  CHECK_FALSE(b.try_spend(t));
  CHECK_FALSE(b.try_spend(t + 3s));  // the requests aged out too: nothing to retry against
  b.request(t + 3s);
  b.request(t + 3s);
  CHECK(b.try_spend(t + 3s));
  CHECK_FALSE(b.try_spend(t + 3s));
}

}  // namespace
}  // namespace weft::l7

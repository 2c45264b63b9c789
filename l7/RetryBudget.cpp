#include "l7/RetryBudget.hpp"

#include <algorithm>

namespace weft::l7 {
namespace {

int64_t second_of(RetryBudget::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

RetryBudget::Bucket& RetryBudget::bucket(Clock::time_point now) {
  int64_t s = second_of(now);
  Bucket& b = buckets_[static_cast<std::size_t>(s) % kBuckets];
  if (b.second != s) {
    b = Bucket{s, 0, 0};
  }
  return b;
}

void RetryBudget::totals(Clock::time_point now, uint64_t& requests, uint64_t& retries) const {
  int64_t s = second_of(now);
  int64_t window = std::min<int64_t>(policy_.window.count(), kBuckets);
  requests = retries = 0;
  for (const Bucket& b : buckets_) {
    if (b.second > s - window && b.second <= s) {
      requests += b.requests;
      retries += b.retries;
    }
  }
}

void RetryBudget::request(Clock::time_point now) {
  ++bucket(now).requests;
}

bool RetryBudget::try_spend(Clock::time_point now) {
  uint64_t requests = 0;
  uint64_t retries = 0;
  totals(now, requests, retries);
  double window = static_cast<double>(std::min<int64_t>(policy_.window.count(), kBuckets));
  double allowed = policy_.ratio * static_cast<double>(requests) + policy_.min_per_second * window;
  if (static_cast<double>(retries) + 1 > allowed) {
    return false;
  }
  ++bucket(now).retries;
  return true;
}

}  // namespace weft::l7

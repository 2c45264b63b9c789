// How many retries a destination can take without retries multiplying an outage: a ratio of
// the original requests plus a small floor per second, over a sliding window (Linkerd's and
// Finagle's retry budget).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace weft::l7 {

struct RetryBudgetPolicy {
  double ratio = 0.2;               ///< retries allowed per original request
  uint32_t min_per_second = 10;     ///< retries allowed regardless, per second
  std::chrono::seconds window{10};  ///< how long a request or retry counts
};

class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;

  using Policy = RetryBudgetPolicy;

  explicit RetryBudget(Policy policy = {}) : policy_(policy) {}

  /// An original request was sent.
  void request(Clock::time_point now);
  /// Whether one more retry fits; when it does it is counted as spent.
  bool try_spend(Clock::time_point now);

 private:
  /// One-second buckets over the window (at most 60 s).
  static constexpr std::size_t kBuckets = 60;
  struct Bucket {
    int64_t second = -1;
    uint32_t requests = 0;
    uint32_t retries = 0;
  };
  Bucket& bucket(Clock::time_point now);
  void totals(Clock::time_point now, uint64_t& requests, uint64_t& retries) const;

  Policy policy_;
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace weft::l7

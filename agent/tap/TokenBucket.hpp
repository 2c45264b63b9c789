// A token bucket: `rate` tokens a second, at most a second's worth saved. Not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>

namespace weft::agent {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double rate, Clock::time_point now) : rate_(rate), tokens_(rate), last_(now) {}
  /// Takes one token if there is one.
  bool take(Clock::time_point now) {
    tokens_ = std::min(rate_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1) {
      return false;
    }
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace weft::agent

#include "l7/CircuitBreaker.hpp"

#include <algorithm>

namespace weft::l7 {

bool CircuitBreaker::admits(Clock::time_point now) const {
  switch (state_) {
    case State::Closed:
      return true;
    case State::Ejected:
      return now >= retry_at_;
    case State::Probing:
      return false;
  }
  return false;
}

bool CircuitBreaker::sent(Clock::time_point now) {
  if (state_ == State::Ejected && now >= retry_at_) {
    state_ = State::Probing;
    return true;
  }
  return false;
}

void CircuitBreaker::succeeded() {
  state_ = State::Closed;
  refused_ = false;
  failures_ = 0;
  backoff_ = {};
}

void CircuitBreaker::abandoned(Clock::time_point now) {
  if (state_ == State::Probing) {
    state_ = State::Ejected;
    retry_at_ = now;
  }
}

void CircuitBreaker::unreachable(Clock::time_point now, double jitter) {
  failed(now, jitter);
  refused_ = true;
}

void CircuitBreaker::failed(Clock::time_point now, double jitter) {
  refused_ = false;
  if (state_ == State::Probing) {
    eject(now, jitter);  // still failing: out again, for longer
    return;
  }
  if (state_ == State::Closed && ++failures_ >= policy_.consecutive_failures) {
    eject(now, jitter);
  }
}

void CircuitBreaker::eject(Clock::time_point now, double jitter) {
  backoff_ = backoff_ == Clock::duration{} ? policy_.min_backoff
                                           : std::min(backoff_ * 2, policy_.max_backoff);
  auto spread = std::chrono::duration_cast<Clock::duration>(backoff_ * (jitter * 0.5));
  retry_at_ = now + backoff_ + spread;
  state_ = State::Ejected;
  ++ejections_;
}

}  // namespace weft::l7

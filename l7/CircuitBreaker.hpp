// Failure accrual for one endpoint: consecutive failures eject it; after a backoff one probe
// request may go; a success closes the breaker, a failure ejects it for twice as long.
#pragma once

#include <chrono>
#include <cstdint>

namespace weft::l7 {

struct CircuitBreakerPolicy {
  uint32_t consecutive_failures = 5;  ///< failures in a row that eject the endpoint
  std::chrono::steady_clock::duration min_backoff = std::chrono::seconds(1);
  std::chrono::steady_clock::duration max_backoff = std::chrono::seconds(60);
};

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  using Policy = CircuitBreakerPolicy;

  enum class State {
    Closed,   ///< takes requests
    Ejected,  ///< takes none until the backoff has passed
    Probing,  ///< one request is on its way to tell whether it is back
  };

  explicit CircuitBreaker(Policy policy = {}) : policy_(policy) {}

  /// Whether a request may be sent now. An ejected endpoint whose backoff has passed admits
  /// exactly one (the probe) and then none until it is answered.
  bool admits(Clock::time_point now) const;
  /// The balancer chose this endpoint: a due probe starts. Returns whether this request is
  /// that probe.
  bool sent(Clock::time_point now);
  void succeeded();
  /// The request was abandoned before it said anything (the client went away): a probe that
  /// ends this way lets the next request probe at once.
  void abandoned(Clock::time_point now);
  /// `jitter` in [0, 1): spreads the next backoff by up to half of it, so that workers and
  /// nodes do not probe in lockstep.
  void failed(Clock::time_point now, double jitter);
  /// The request could not reach the endpoint (its connection or stream was refused): counted
  /// as failed() counts it, and the endpoint is then refusing() until it answers again.
  void unreachable(Clock::time_point now, double jitter);

  /// Ejected (or probing) because its last failure was a refused connection. When no endpoint
  /// of a Service admits a request, the request may still try such a one: a refused connect
  /// costs it one round trip before it goes elsewhere, and an endpoint that is back takes it
  /// at once instead of after its backoff (a Service whose every endpoint was down answers as
  /// soon as one is up).
  bool refusing() const { return state_ != State::Closed && refused_; }

  State state() const { return state_; }
  uint32_t ejections() const { return ejections_; }

 private:
  void eject(Clock::time_point now, double jitter);

  Policy policy_;
  State state_ = State::Closed;
  uint32_t failures_ = 0;
  Clock::duration backoff_{};
  Clock::time_point retry_at_{};
  uint32_t ejections_ = 0;
  bool refused_ = false;  ///< the last failure was unreachable()
};

}  // namespace weft::l7

// Latency estimate of one endpoint as Linkerd (and tower's PeakEwma) keep it: jumps up to any
// slower response at once, decays towards faster ones, and is weighted by requests in flight.
#pragma once

#include <chrono>
#include <cstdint>

namespace weft::l7 {

class PeakEwma {
 public:
  using Clock = std::chrono::steady_clock;

  /// `initial`: the estimate before any response (Linkerd uses 30 ms, so an unknown endpoint is
  /// tried but not flooded). `decay`: the time constant over which old samples lose weight and
  /// an idle estimate fades, so a once-slow endpoint is probed again (Linkerd: 10 s).
  PeakEwma(Clock::duration initial, Clock::duration decay, Clock::time_point now);

  /// The load balancer's cost: the decayed estimate (ns) times (requests in flight + 1).
  double cost(Clock::time_point now) const;
  /// A request was sent to the endpoint.
  void started() { ++pending_; }
  /// A request sent at `sent` ended at `now` (a response or a failure).
  void finished(Clock::time_point sent, Clock::time_point now);

  uint32_t pending() const { return pending_; }
  /// The estimate in ns, decayed to `now`.
  double estimate(Clock::time_point now) const;

 private:
  double rtt_ns_;
  double decay_ns_;
  Clock::time_point updated_;
  uint32_t pending_ = 0;
};

}  // namespace weft::l7

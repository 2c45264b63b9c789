// Per-worker state of the endpoints this worker sends requests to: latency estimate and
// failure accrual.
#pragma once

#include <chrono>
#include <unordered_map>

#include "common/IpAddr.hpp"
#include "l7/CircuitBreaker.hpp"
#include "l7/PeakEwma.hpp"

namespace weft::proxy {

struct EndpointState {
  l7::PeakEwma load;
  l7::CircuitBreaker breaker;
};

/// One EndpointState per endpoint address, owned by one worker (no locks). Entries live as
/// long as the worker: references stay valid (node-based map), and the set is bounded by the
/// endpoints this node has ever called.
class EndpointLoads {
 public:
  /// Linkerd's defaults: an unknown endpoint is assumed to answer in 30 ms; samples fade over
  /// 10 s.
  static constexpr auto kInitialRtt = std::chrono::milliseconds(30);
  static constexpr auto kDecay = std::chrono::seconds(10);

  EndpointState& of(const SockAddr& endpoint, l7::PeakEwma::Clock::time_point now) {
    auto it = states_.find(endpoint);
    if (it == states_.end()) {
      it = states_
               .emplace(endpoint,
                        EndpointState{l7::PeakEwma(kInitialRtt, kDecay, now), l7::CircuitBreaker()})
               .first;
    }
    return it->second;
  }

 private:
  std::unordered_map<SockAddr, EndpointState> states_;
};

}  // namespace weft::proxy

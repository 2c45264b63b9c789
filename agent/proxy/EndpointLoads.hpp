// Per-worker latency estimates of the endpoints this worker sends requests to.
#pragma once

#include <chrono>
#include <unordered_map>

#include "common/IpAddr.hpp"
#include "l7/PeakEwma.hpp"

namespace weft::proxy {

/// One PeakEwma per endpoint address, owned by one worker (no locks). Entries live as long as
/// the worker: references stay valid (node-based map), and the set is bounded by the endpoints
/// this node has ever called.
class EndpointLoads {
 public:
  /// Linkerd's defaults: an unknown endpoint is assumed to answer in 30 ms; samples fade over
  /// 10 s.
  static constexpr auto kInitialRtt = std::chrono::milliseconds(30);
  static constexpr auto kDecay = std::chrono::seconds(10);

  l7::PeakEwma& of(const SockAddr& endpoint, l7::PeakEwma::Clock::time_point now) {
    return loads_.try_emplace(endpoint, kInitialRtt, kDecay, now).first->second;
  }

 private:
  std::unordered_map<SockAddr, l7::PeakEwma> loads_;
};

}  // namespace weft::proxy

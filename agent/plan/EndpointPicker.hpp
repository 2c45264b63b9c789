// Which endpoint of a Service one request goes to: power of two choices over the peak-EWMA cost
// of the endpoints whose circuit breaker admits a request, avoiding those that already failed it.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "agent/discovery/World.hpp"
#include "agent/plan/EndpointLoads.hpp"
#include "agent/plan/SuspectPeers.hpp"
#include "common/IpAddr.hpp"
#include "l7/PowerOfTwoChoices.hpp"

namespace weft::proxy {

/// Endpoints a request sent again is not to go to.
struct Avoid {
  /// The endpoint whose attempt just failed: another one is taken when there is one.
  const SockAddr* last_failed = nullptr;
  /// Endpoints the request could not reach (their connections refused): never again.
  std::span<const SockAddr> unreachable;
  /// Peer agents that did not answer: their endpoints are taken only when no other is admitted.
  const SuspectPeers* suspects = nullptr;
};

class EndpointPicker {
 public:
  struct Picked {
    std::size_t index = 0;           ///< into the endpoints given to pick()
    EndpointState* state = nullptr;  ///< its entry in the loads (never moves)
    /// The request is the one probe its ejected endpoint's circuit breaker lets through.
    bool probe = false;
  };

  /// The cheaper of two random admitted endpoints; the choice counts as sent in its breaker.
  /// When none is admitted, one ejected for refusing connections (CircuitBreaker::refusing)
  /// is tried. Empty when none can take the request: every one is ejected for answering with
  /// errors, or in `avoid.unreachable` (fail fast). `avoid.last_failed`, and endpoints whose
  /// peer agent `avoid.suspects` avoids, are skipped when another one is admitted.
  std::optional<Picked> pick(std::span<const discovery::Endpoint> endpoints, EndpointLoads& loads,
                             const Avoid& avoid, l7::FastRandom& random,
                             std::chrono::steady_clock::time_point now);

 private:
  struct Candidate {
    std::size_t index;
    EndpointState* state;
  };
  std::vector<Candidate> admitted_;  ///< pick()'s scratch, kept for its capacity
};

}  // namespace weft::proxy

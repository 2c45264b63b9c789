#include "agent/plan/EndpointPicker.hpp"

#include <algorithm>

namespace weft::proxy {
namespace {

/// Drops the candidates `skipped` names unless that would leave none.
template <class Candidates, class Skipped>
void skip_unless_alone(Candidates& candidates, Skipped skipped) {
  if (std::any_of(candidates.begin(), candidates.end(),
                  [&](const auto& c) { return !skipped(c); })) {
    std::erase_if(candidates, skipped);
  }
}

}  // namespace

std::optional<EndpointPicker::Picked> EndpointPicker::pick(
    std::span<const discovery::Endpoint> endpoints, EndpointLoads& loads, const Avoid& avoid,
    l7::FastRandom& random, std::chrono::steady_clock::time_point now) {
  // One state lookup per endpoint per request: the candidates carry their state pointer.
  admitted_.clear();
  for (std::size_t k = 0; k < endpoints.size(); ++k) {
    const SockAddr& addr = endpoints[k].addr;
    if (std::find(avoid.unreachable.begin(), avoid.unreachable.end(), addr) !=
        avoid.unreachable.end()) {
      continue;
    }
    EndpointState& state = loads.of(addr, now);
    if (state.breaker.admits(now)) {
      admitted_.push_back({k, &state});
    }
  }
  if (admitted_.empty()) {
    // Every endpoint is ejected: those ejected for refusing connections may be back, and trying
    // one costs the request a connect (see CircuitBreaker::refusing).
    for (std::size_t k = 0; k < endpoints.size(); ++k) {
      const SockAddr& addr = endpoints[k].addr;
      EndpointState& state = loads.of(addr, now);
      if (state.breaker.refusing() && std::find(avoid.unreachable.begin(), avoid.unreachable.end(),
                                                addr) == avoid.unreachable.end()) {
        admitted_.push_back({k, &state});
      }
    }
    if (admitted_.empty()) {
      return std::nullopt;
    }
  }
  if (avoid.suspects != nullptr && !avoid.suspects->empty()) {
    skip_unless_alone(admitted_, [&](const Candidate& c) {
      return avoid.suspects->avoided(endpoints[c.index].addr.ip, now);
    });
  }
  if (avoid.last_failed != nullptr) {
    skip_unless_alone(admitted_, [&](const Candidate& c) {
      return endpoints[c.index].addr == *avoid.last_failed;
    });
  }
  const Candidate& chosen = admitted_[l7::pick_two(
      admitted_.size(), random, [&](std::size_t k) { return admitted_[k].state->load.cost(now); })];
  return Picked{chosen.index, chosen.state, chosen.state->breaker.sent(now)};
}

}  // namespace weft::proxy

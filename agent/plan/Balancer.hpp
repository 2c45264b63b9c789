// L4 endpoint choice: the less loaded of two random endpoints ("power of two choices").
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>

#include "common/IpAddr.hpp"
#include "l7/PowerOfTwoChoices.hpp"

namespace weft::proxy {

/// Picks endpoints by active connection count, per worker (no shared state, no locks). Two random
/// candidates avoid the herd effect of always taking the global minimum with stale counts.
class Balancer {
 public:
  explicit Balancer(uint64_t seed) : random_(seed) {}

  /// Index into `endpoints` of the chosen one; `endpoints` must not be empty.
  template <class Endpoint>
  std::size_t pick(std::span<const Endpoint> endpoints) {
    return l7::pick_two(endpoints.size(), random_,
                        [&](std::size_t i) { return load(endpoints[i].addr); });
  }

  void opened(const SockAddr& endpoint) { ++active_[endpoint]; }
  void closed(const SockAddr& endpoint);
  uint32_t load(const SockAddr& endpoint) const;

 private:
  l7::FastRandom random_;
  std::unordered_map<SockAddr, uint32_t> active_;
};

}  // namespace weft::proxy

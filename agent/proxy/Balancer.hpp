// L4 endpoint choice: the less loaded of two random endpoints ("power of two choices").
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>

#include "common/IpAddr.hpp"

namespace weft::proxy {

/// Picks endpoints by active connection count, per worker (no shared state, no locks). Two random
/// candidates avoid the herd effect of always taking the global minimum with stale counts.
class Balancer {
 public:
  explicit Balancer(uint64_t seed) : state_(seed | 1) {}

  /// Index into `endpoints` of the chosen one; `endpoints` must not be empty.
  template <class Endpoint>
  std::size_t pick(std::span<const Endpoint> endpoints) {
    if (endpoints.size() == 1) {
      return 0;
    }
    std::size_t a = next() % endpoints.size();
    std::size_t b = next() % (endpoints.size() - 1);
    if (b >= a) {
      ++b;  // b is uniform over the others
    }
    return load(endpoints[b].addr) < load(endpoints[a].addr) ? b : a;
  }

  void opened(const SockAddr& endpoint) { ++active_[endpoint]; }
  void closed(const SockAddr& endpoint);
  uint32_t load(const SockAddr& endpoint) const;

 private:
  uint64_t next();  // xorshift64*

  uint64_t state_;
  std::unordered_map<SockAddr, uint32_t> active_;
};

}  // namespace weft::proxy

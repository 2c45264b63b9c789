// L4 endpoint choice: the less loaded of two random endpoints ("power of two choices"), away from
// endpoints that just refused a connection and from those whose node agent did not answer.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "agent/plan/RecentMarks.hpp"
#include "agent/plan/SuspectPeers.hpp"
#include "common/IpAddr.hpp"
#include "l7/PowerOfTwoChoices.hpp"

namespace weft::proxy {

/// Picks endpoints by active connection count, per worker (no shared state, no locks). Two random
/// candidates avoid the herd effect of always taking the global minimum with stale counts.
class Balancer {
 public:
  using Clock = std::chrono::steady_clock;
  /// How long an endpoint that refused a connection gets new ones only when no other is left.
  static constexpr auto kAvoidAfterRefusal = std::chrono::seconds(5);

  /// `suspects`: the worker's peer agents that did not answer (outlives the balancer).
  Balancer(uint64_t seed, const SuspectPeers& suspects) : random_(seed), suspects_(suspects) {}

  /// Index into `endpoints` of the chosen one, never one in `tried`; one that refused a
  /// connection in the last kAvoidAfterRefusal, or whose peer agent is avoided (SuspectPeers),
  /// only when every other was tried too (its connect then tells whether it is back). Empty
  /// when every endpoint was tried.
  template <class Endpoint>
  std::optional<std::size_t> pick(std::span<const Endpoint> endpoints,
                                  std::span<const SockAddr> tried, Clock::time_point now) {
    if (tried.empty() && refused_.empty() && suspects_.empty() && !endpoints.empty()) {
      return pick_of(
          endpoints, [](std::size_t i) { return i; }, endpoints.size());
    }
    candidates_.clear();
    std::size_t avoided = 0;  // candidates_ holds the avoided ones first
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      const SockAddr& addr = endpoints[i].addr;
      if (std::find(tried.begin(), tried.end(), addr) != tried.end()) {
        continue;
      }
      if (refused_.within(addr, now, kAvoidAfterRefusal) || suspects_.avoided(addr.ip, now)) {
        candidates_.insert(candidates_.begin() + static_cast<std::ptrdiff_t>(avoided++), i);
      } else {
        candidates_.push_back(i);
      }
    }
    if (candidates_.empty()) {
      return std::nullopt;
    }
    std::size_t first = avoided < candidates_.size() ? avoided : 0;
    return pick_of(
        endpoints, [&](std::size_t k) { return candidates_[first + k]; },
        candidates_.size() - first);
  }

  void opened(const SockAddr& endpoint) { ++active_[endpoint]; }
  void closed(const SockAddr& endpoint);
  uint32_t load(const SockAddr& endpoint) const;
  /// `endpoint` refused a connection (or did not answer it) at `now`.
  void refused(const SockAddr& endpoint, Clock::time_point now) { refused_.mark(endpoint, now); }
  /// Forgets refusals older than kAvoidAfterRefusal (the worker's tick), so that picks take the
  /// fast path again once none is recent, also for endpoints that are gone.
  void forget_refusals(Clock::time_point now) {
    refused_.forget_older_than(now, kAvoidAfterRefusal);
  }

 private:
  /// The less loaded of two random ones among `n`, `index(k)` naming the k-th in `endpoints`.
  template <class Endpoint, class Index>
  std::size_t pick_of(std::span<const Endpoint> endpoints, Index index, std::size_t n) {
    return index(
        l7::pick_two(n, random_, [&](std::size_t k) { return load(endpoints[index(k)].addr); }));
  }

  l7::FastRandom random_;
  const SuspectPeers& suspects_;
  std::unordered_map<SockAddr, uint32_t> active_;
  RecentMarks<SockAddr> refused_;        ///< the last refusal per endpoint
  std::vector<std::size_t> candidates_;  ///< pick()'s scratch
};

}  // namespace weft::proxy

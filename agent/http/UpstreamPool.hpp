// HTTP/2 connections to endpoints, pooled per (calling pod, endpoint) and shared by requests.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "agent/http/ExchangeOwner.hpp"
#include "agent/http/H2Connection.hpp"
#include "agent/http/Http1Upstream.hpp"
#include "agent/netns/PodSockets.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "common/Error.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

class Loop;

/// A connection is opened from inside the calling pod (so the endpoint sees the pod's address)
/// and carries requests of that pod only; delivering inbound requests, from inside the
/// destination pod bound to the client's address (IP_TRANSPARENT, as for TCP delivery). A new one
/// is opened when every pooled one is at the endpoint's concurrent-stream limit or going away; idle
/// ones close after kIdleTimeout.
class UpstreamPool final : public H2Connection::Owner, public Http1Upstream::Owner {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kIdleTimeout = std::chrono::seconds(60);

  UpstreamPool(Loop& loop, PodSockets& sockets, unsigned connect_timeout_ms)
      : loop_(loop), sockets_(sockets), connect_timeout_ms_(connect_timeout_ms) {}
  ~UpstreamPool();

  /// A connection from `pod` to `endpoint` that takes one more request; with `source`, bound
  /// to that address.
  Result<H2Connection*> get(const agent::MeshedPod& pod, const SockAddr& endpoint,
                            const std::optional<IpAddr>& source = std::nullopt);
  /// An idle HTTP/1.1 connection from `pod` to `endpoint` (a new one when none is idle).
  Result<Http1Upstream*> get_http1(const agent::MeshedPod& pod, const SockAddr& endpoint,
                                   const std::optional<IpAddr>& source = std::nullopt);
  /// Either of the two above, by the protocol the app at `endpoint` is spoken to in.
  Result<UpstreamLink> link(const agent::MeshedPod& pod, const SockAddr& endpoint, bool http1,
                            const std::optional<IpAddr>& source = std::nullopt);
  /// Closes connections without streams that have been idle for kIdleTimeout.
  void tick(Clock::time_point now);
  std::size_t size() const { return keys_.size(); }

  void connection_finished(H2Connection& connection) override;
  void upstream_idle(Http1Upstream& connection) override;
  void upstream_finished(Http1Upstream& connection) override;

 private:
  struct Key {
    uint32_t pod_id = 0;
    SockAddr endpoint;
    std::optional<IpAddr> source;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      return (std::hash<SockAddr>{}(k.endpoint) * 31 + k.pod_id) * 31 +
             (k.source ? std::hash<IpAddr>{}(*k.source) : 0);
    }
  };
  struct Pooled {
    std::unique_ptr<H2Connection> connection;
    Clock::time_point idle_since;
  };

  Loop& loop_;
  PodSockets& sockets_;
  unsigned connect_timeout_ms_;
  std::unordered_map<Key, std::vector<Pooled>, KeyHash> pools_;
  std::unordered_map<H2Connection*, Key> keys_;
  struct Pooled1 {
    std::unique_ptr<Http1Upstream> connection;
    Clock::time_point idle_since;
  };
  std::unordered_map<Key, std::vector<Pooled1>, KeyHash> pools1_;
  std::unordered_map<Http1Upstream*, Key> keys1_;
};

}  // namespace weft::proxy

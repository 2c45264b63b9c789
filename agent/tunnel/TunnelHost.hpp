// What a tunnel session needs from whoever owns it (the Dispatcher): its loop, sockets in pods,
// metrics and timeouts, the authorization of each stream, the pool and ticket store it belongs
// to, and the HTTP side for the requests it carries.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/http/HttpHost.hpp"
#include "agent/identity/OpenSsl.hpp"
#include "agent/loop/TimeLimits.hpp"
#include "agent/metrics/TcpMetrics.hpp"
#include "agent/metrics/TunnelMetrics.hpp"
#include "agent/netns/PodSockets.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/plan/Redial.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tunnel/TunnelPool.hpp"

namespace weft::proxy {

class Loop;
class TunnelSession;

/// Also sends on a connection whose tunnel stream was refused or lost unanswered (Redialer).
class TunnelHost : public Redialer {
 public:
  virtual Loop& loop() = 0;
  /// Where the requests (not CONNECT streams) a server session carries go.
  virtual HttpHost& http() = 0;
  virtual PodSockets& sockets() = 0;
  virtual agent::TunnelMetrics& tunnel_metrics() = 0;
  virtual const TimeLimits& limits() const = 0;
  virtual const std::string& trust_domain() const = 0;
  /// The TCP metric series of a stream's flow.
  virtual std::vector<agent::FlowCounters> counters_for(const FlowPlan& plan) = 0;
  /// A CONNECT request arrived on `pod`'s :15008: plan (and authorize, counting refusals).
  virtual std::optional<FlowPlan> plan_tunnel_stream(const agent::MeshedPod& pod,
                                                     const TunnelRequest& req,
                                                     const std::string& principal) = 0;
  /// The current credential generation of a local identity (0 when it has none).
  virtual uint64_t identity_generation(const std::string& principal) const = 0;
  /// The session takes no new streams any more: drop it from the pool.
  virtual void tunnel_unusable(TunnelSession& session) = 0;
  /// Client side: the agent at `destination` did not answer (a PING, or a handshake begun while
  /// it was suspect): its endpoints get new work only when no other can take it, and new
  /// sessions to it a short handshake limit (see SuspectPeers).
  virtual void peer_unreachable(const IpAddr& destination) = 0;
  /// Client side: a session to `destination` completed its handshake.
  virtual void peer_reachable(const IpAddr& destination) = 0;
  virtual void store_ticket(const TunnelKey& key, identity::SslSessionPtr ticket) = 0;
  /// The session is dead with nothing in flight: destroy it.
  virtual void session_finished(TunnelSession& session) = 0;

 protected:
  ~TunnelHost() = default;
};

}  // namespace weft::proxy

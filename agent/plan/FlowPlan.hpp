// Where an accepted connection goes, how it is labelled and whether the destination's policy
// lets it through: pure functions over a NodeView.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "agent/metrics/TcpMetrics.hpp"
#include "agent/plan/Balancer.hpp"
#include "agent/plan/NodeView.hpp"

namespace weft::proxy {

/// The decision for one connection.
struct FlowPlan {
  enum class Route {
    Direct,  ///< connect to `target` from inside the pod (plaintext, or same node)
    Tunnel,  ///< a CONNECT stream to the agent owning `target`'s pod, through its :15008
  };
  SockAddr target;  ///< the app's address: where the agent (or the peer agent) connects
  Route route = Route::Direct;
  std::string expected_peer;  ///< Tunnel: the SPIFFE ID the destination agent must present
  /// The calling workload's address. Tunnel: sent to the peer agent (CONNECT `forwarded`).
  /// Inbound: the source address the app sees (an IP_TRANSPARENT delivering socket); empty
  /// when it is not known, then the app sees its own pod's address.
  std::optional<IpAddr> client_ip;
  /// Tunnel: the Service address the app dialled, sent to the peer agent so that it can name
  /// the Service (destination_service) too; empty for a pod address.
  std::optional<SockAddr> service_address;
  agent::FlowLabels labels;  ///< as this connection's reporter sees it
  /// Set when both ends are meshed on this node: the destination side is reported here too,
  /// since no other agent sees the flow.
  std::optional<agent::FlowLabels> local_destination_labels;
  /// Carried as TCP, the connection closes once idle for the agent's tcp_idle limit; false for
  /// a Service port named in its weft.io/no-idle-timeout-ports annotation.
  bool idle_timeout = true;
  /// Non-empty when the destination's MeshPolicy refuses the connection: the reason label of
  /// weft_tcp_connections_denied_total ("not_allowed", "plaintext_in_strict").
  std::string denied;
};

/// Outbound: `src` connected to `original_dst`. A Service address is balanced over its ready
/// endpoints but those in `tried`; anything else goes where the app asked. A meshed pod on
/// another node is reached through the tunnel; one on this node directly, authorized here.
/// Empty when a Service has no ready endpoint left.
std::optional<FlowPlan> plan_outbound(const NodeView& view, const agent::MeshedPod& src,
                                      const SockAddr& original_dst, Balancer& balancer,
                                      std::span<const SockAddr> tried,
                                      Balancer::Clock::time_point now);

/// Outbound to `endpoint`, chosen among the endpoints of `service` (dialled at
/// `service_address`).
FlowPlan plan_endpoint(const NodeView& view, const agent::MeshedPod& src,
                       const discovery::Endpoint& endpoint, const discovery::Service& service,
                       const SockAddr& service_address);

/// Outbound to `target` itself: `dst_pod` is the pod discovery says owns it (nullptr: none).
FlowPlan plan_to(const NodeView& view, const agent::MeshedPod& src, const SockAddr& target,
                 const discovery::PodInfo* dst_pod, std::string destination_service = {});

/// Inbound plaintext (captured by tc into 15006): `peer` connected to `local` (the app's
/// address) in `dst`. Authorized as an unauthenticated source.
FlowPlan plan_inbound(const NodeView& view, const agent::MeshedPod& dst, const SockAddr& peer,
                      const SockAddr& local);

/// What a tunnel stream's CONNECT request says besides its target.
struct TunnelRequest {
  SockAddr target;        ///< `:authority`: the app's address in the destination pod
  IpAddr claimed_client;  ///< `forwarded`, else the tunnel's own source address
  std::optional<SockAddr> service_address;  ///< `weft-service-address`, when the app dialled one
};

/// Inbound through the tunnel: an agent proven to act for `source_principal` asks to reach
/// `req.target` in `dst`. The claimed client is believed only when discovery says a pod with
/// that address runs as `source_principal`; the Service address only when that Service has
/// `req.target` as an endpoint. Empty when the target is not an app address of `dst` (another
/// pod's IP, or one of weft's own ports).
std::optional<FlowPlan> plan_tunnel_inbound(const NodeView& view, const agent::MeshedPod& dst,
                                            const TunnelRequest& req,
                                            const std::string& source_principal);

/// The identity the local pod `pod` runs as.
agent::WorkloadIdentity identity_of_local(const NodeView& view, const agent::MeshedPod& pod);

/// Identity of whatever owns `ip`: a pod meshed here, else a pod discovery knows, else unknown.
agent::WorkloadIdentity identity_of_ip(const NodeView& view, const IpAddr& ip);

}  // namespace weft::proxy

// Where an accepted connection goes and how it is labelled: pure functions over a NodeView.
#pragma once

#include <optional>
#include <string>

#include "agent/metrics/TcpMetrics.hpp"
#include "agent/proxy/Balancer.hpp"
#include "agent/proxy/NodeView.hpp"

namespace weft::proxy {

/// The decision for one connection.
struct FlowPlan {
  SockAddr target;           ///< where the agent connects (from inside the pod's netns)
  agent::FlowLabels labels;  ///< as this connection's reporter sees it
  /// Set when both ends are meshed on this node: the destination side is reported here too,
  /// since no other agent sees the flow.
  std::optional<agent::FlowLabels> local_destination_labels;
};

/// Outbound: `src` connected to `original_dst`. A Service address is balanced over its ready
/// endpoints; anything else goes where the app asked. Empty when a Service has no ready endpoint.
std::optional<FlowPlan> plan_outbound(const NodeView& view, const agent::MeshedPod& src,
                                      const SockAddr& original_dst, Balancer& balancer);

/// Inbound (captured by tc into 15006): `peer` connected to `local` (the app's address) in `dst`.
FlowPlan plan_inbound(const NodeView& view, const agent::MeshedPod& dst, const SockAddr& peer,
                      const SockAddr& local);

}  // namespace weft::proxy

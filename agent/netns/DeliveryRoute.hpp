// The return path that lets the agent deliver inbound connections to a pod's app with the
// client's address as source (as Istio ambient's in-pod mode does, without iptables).
//
// The agent's delivering socket is IP_TRANSPARENT, bound to the client's address and marked
// with the delivery mark. With net.ipv4.tcp_fwmark_accept=1 the app's accepted socket inherits
// that mark from the SYN, so its replies carry it too; a policy rule sends packets with the mark
// to a table whose only route is "local default dev lo", so the replies come back to the agent
// instead of leaving the pod towards the client's real address. With net.ipv4.fwmark_reflect=1
// (and ipv6) what the pod's kernel answers by itself to such a packet, a RST from a closed port
// above all, carries the mark as well and comes back the same way. Nothing else in the pod
// carries the mark, so nothing else is rerouted.
#pragma once

#include <cstdint>
#include <string>

#include "common/Error.hpp"

namespace weft {

/// The policy rule's priority and table (in the pod's netns only).
constexpr uint32_t kDeliveryRulePriority = 15006;
constexpr uint32_t kDeliveryTable = 15006;

/// Installs the sysctls, rules (IPv4 and, where the pod has IPv6, IPv6) and local routes in the
/// calling thread's netns. The sysctls are written through `proc_dir` (a procfs: /proc, or in a
/// container whose /proc/sys is read-only, a read-write mount such as the host's /proc; either
/// way /proc/sys/net is the netns of the writing thread). Idempotent: a re-meshed pod keeps what
/// is there.
Result<void> install_delivery_route(uint32_t delivery_mark, const std::string& proc_dir);

}  // namespace weft

// Sockets the agent opens inside a pod's netns (the calling thread must already be there).
#pragma once

#include <cstdint>

#include "common/Error.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"

namespace weft {

/// A TCP listener on `addr` in the current netns. SO_REUSEPORT lets every worker own one socket
/// of the group, so the kernel spreads new connections over the cores.
Result<Fd> listen_tcp(const SockAddr& addr, int backlog = 4096);

/// net.ipv4.tcp_migrate_req=1 in the current netns (through `proc_dir`, see NetSysctl.hpp; it
/// covers TCP over IPv6 too): when an agent closes its listeners (hand-over), the connections
/// queued on them, handshakes in progress included, move to another socket of the same
/// SO_REUSEPORT group (the successor's) instead of being reset.
Result<void> enable_listener_migration(const std::string& proc_dir);

}  // namespace weft

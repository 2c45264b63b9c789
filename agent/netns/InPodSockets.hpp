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

}  // namespace weft

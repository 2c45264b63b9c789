// Opening the agent's own sockets inside a pod's network namespace, as the data plane needs
// them: outbound from the calling pod (so the pod IP stays the source), or delivering inbound
// from the client's address.
#pragma once

#include <sys/socket.h>

#include <optional>

#include "agent/pods/MeshedPod.hpp"
#include "common/Error.hpp"
#include "common/Fd.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

class PodSockets {
 public:
  /// A TCP socket inside `pod`'s netns, marked so the BPF hooks leave it alone. With
  /// `transparent_source` (inbound delivery) it is bound to that foreign address with
  /// IP_TRANSPARENT and carries the delivery mark, so the app sees the real client.
  virtual Result<Fd> open_upstream(
      const agent::MeshedPod& pod, sa_family_t family,
      const std::optional<IpAddr>& transparent_source = std::nullopt) = 0;

 protected:
  ~PodSockets() = default;
};

}  // namespace weft::proxy

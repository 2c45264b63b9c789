// A pod this node's agent meshes: what weft-cni registered plus the handles the agent opened.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/netns/Netns.hpp"
#include "common/IpAddr.hpp"
#include "common/PodRegistration.hpp"

namespace weft::agent {

/// Immutable once built; shared (const) between the control thread and the workers.
struct MeshedPod {
  uint32_t id = 0;               ///< the agent's handle, also the BPF map's pod_id
  PodRegistration registration;  ///< as weft-cni sent it (persisted in the state file)
  std::vector<IpAddr> ips;
  Netns netns;
  uint64_t netns_cookie = 0;

  const std::string& name() const { return registration.pod_name; }
  const std::string& ns() const { return registration.pod_namespace; }
  /// "namespace/name", or the container id when the runtime gave no pod name.
  std::string display_name() const;
};

}  // namespace weft::agent

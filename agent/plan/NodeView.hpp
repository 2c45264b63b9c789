// The read-only picture a worker routes by: discovery's World, this node's meshed pods and the
// certificates they present.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "agent/discovery/World.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tls/TlsIdentity.hpp"
#include "common/IpAddr.hpp"

namespace weft::proxy {

/// Published by the control thread as a new shared_ptr<const NodeView> whenever manifests or
/// pods change; each worker swaps its pointer between events, so routing takes no locks.
struct NodeView {
  std::shared_ptr<const discovery::World> world;
  std::unordered_map<IpAddr, std::shared_ptr<const agent::MeshedPod>> local_pods;  ///< by pod IP
  std::string trust_domain;
  /// TLS contexts of the identities of this node's pods, by SPIFFE ID (renewals publish anew).
  std::unordered_map<std::string, std::shared_ptr<const tunnel::TlsIdentity>> identities;
};

}  // namespace weft::proxy

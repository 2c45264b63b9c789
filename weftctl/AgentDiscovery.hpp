// Where the agents are, in a cluster: the Running pods of weft's DaemonSet that the API server
// lists (label app.kubernetes.io/name=weft-agent), each at its pod IP and the agents' port. The
// API is reached as the agent's own discovery reaches it (agent/kube): a kubeconfig file, or
// in-cluster settings when weftctl runs in a pod.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.hpp"

namespace weft::weftctl {

struct AgentLookup {
  std::string kubeconfig;  ///< empty: in-cluster (KUBERNETES_SERVICE_HOST, the pod's token)
  std::string ns = "weft-system";
  uint16_t port = 15020;  ///< the admin port (tap over mTLS: tap_tls_address's)
};

/// host:port of every Running agent pod with an IP, sorted; an error when the API cannot be
/// read or lists none.
Result<std::vector<std::string>> agents_from_api(const AgentLookup& lookup);

/// The same from a PodList's JSON (what the API answered to the list request).
Result<std::vector<std::string>> agent_addresses(std::string_view pod_list, uint16_t port);

}  // namespace weft::weftctl

#include "agent/discovery/Workload.hpp"

namespace weft::discovery {

std::string workload_name(const Pod& pod) {
  const OwnerReference* controller = nullptr;
  for (const OwnerReference& owner : pod.owners) {
    if (owner.controller) {
      controller = &owner;
      break;
    }
  }
  if (controller == nullptr) {
    return pod.name;
  }
  if (controller->kind == "ReplicaSet") {
    // The Deployment controller names its ReplicaSets "<deployment>-<pod-template-hash>".
    auto hash = pod.labels.find("pod-template-hash");
    const std::string& rs = controller->name;
    if (hash != pod.labels.end() && !hash->second.empty() && rs.size() > hash->second.size() + 1 &&
        rs.ends_with(hash->second) && rs[rs.size() - hash->second.size() - 1] == '-') {
      return rs.substr(0, rs.size() - hash->second.size() - 1);
    }
  }
  return controller->name;
}

}  // namespace weft::discovery

// The workload a pod belongs to, as Istio's *_workload metric labels name it.
#pragma once

#include <string>

#include "agent/discovery/Objects.hpp"

namespace weft::discovery {

/// The pod's controller: a ReplicaSet "<deploy>-<hash>" whose pods carry the label
/// pod-template-hash=<hash> is the Deployment "<deploy>"; any other controller (StatefulSet,
/// DaemonSet, Job, a bare ReplicaSet...) is named as is; a pod without one is its own workload.
std::string workload_name(const Pod& pod);

}  // namespace weft::discovery

// Where the agent's World comes from: a directory of manifests (ManifestDir) or the Kubernetes
// API server (kube::KubeSource). The control thread polls fd() and calls process_events().
#pragma once

#include <memory>

#include "agent/discovery/World.hpp"

namespace weft::discovery {

class Source {
 public:
  virtual ~Source() = default;
  /// A descriptor to poll for POLLIN; then call process_events().
  virtual int fd() const = 0;
  /// Takes in what changed; never blocks. True when a new World is available. Called once more
  /// after synced() turned true, its World must hold everything synced() vouched for.
  virtual bool process_events() = 0;
  /// The current snapshot; never null.
  virtual std::shared_ptr<const World> world() const = 0;
  /// Whether every kind of object has been read once: before that the World may lack objects
  /// (policies, say) and must not decide what a pod is allowed.
  virtual bool synced() const = 0;
};

}  // namespace weft::discovery

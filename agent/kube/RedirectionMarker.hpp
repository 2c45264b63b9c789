// Keeps `weft.io/redirection: enabled` on the Pod objects of exactly the pods this node's agent
// meshes, so that other nodes' agents reach them through the mTLS tunnel (FlowPlan.cpp) and
// nobody has to set it by hand. Level-triggered on its own thread: it compares what the agent
// meshes with what the API server's Pod objects say and PATCHes the difference (merge patch),
// retrying every few seconds until they agree.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "agent/discovery/World.hpp"
#include "agent/kube/ApiClient.hpp"

namespace weft::kube {

class RedirectionMarker {
 public:
  RedirectionMarker(std::unique_ptr<ApiClient> client, std::string node_name)
      : client_(std::move(client)), node_name_(std::move(node_name)) {}

  /// The pods meshed now ("namespace/name"). Nothing is unmarked before the first call: until the
  /// agent has restored its pods, a mark that looks stale may belong to one it is restoring.
  void set_meshed(std::set<std::string> pods);
  /// Another agent keeps the marks from now on: nothing more is patched (as before the first
  /// set_meshed).
  void hand_over();
  /// The latest World (its pods of this node carry their full annotations).
  void set_world(std::shared_ptr<const discovery::World> world);
  /// The thread's body, until `stop` (the one the client was made with); wake() ends a wait.
  void run(const std::atomic<bool>& stop);
  void wake();

  /// PATCHes sent, and those that failed.
  std::atomic<uint64_t> patches{0};
  std::atomic<uint64_t> patch_failures{0};

 private:
  /// The patches the current state needs: pod key -> the annotation's new value (nullopt:
  /// remove it).
  std::map<std::string, std::optional<std::string>> wanted_changes();
  bool send(const std::string& key, const std::optional<std::string>& value);

  std::unique_ptr<ApiClient> client_;
  std::string node_name_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::optional<std::set<std::string>> meshed_;
  std::shared_ptr<const discovery::World> world_;
  /// What was last sent per pod and when: not sent again while the watch has not caught up.
  std::map<std::string,
           std::pair<std::optional<std::string>, std::chrono::steady_clock::time_point>>
      sent_;
};

}  // namespace weft::kube

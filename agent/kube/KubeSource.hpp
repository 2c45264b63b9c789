// The Kubernetes API server as the agent's discovery source: one Reflector thread per
// collection of the watch table, merged into a World on the control thread a little after one
// of them changed (a timerfd tells it: a burst of events costs one merge), and the
// RedirectionMarker's thread. Nothing here runs on a
// data-plane worker.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/discovery/Source.hpp"
#include "agent/kube/ApiServerConfig.hpp"
#include "agent/kube/RedirectionMarker.hpp"
#include "agent/kube/Reflector.hpp"
#include "common/Error.hpp"
#include "common/Fd.hpp"

namespace weft::kube {

struct KubeOptions {
  std::string node_name;
  std::chrono::seconds watch_timeout{300};  ///< see ReflectorOptions
  uint64_t seed = 0;
};

class KubeSource final : public discovery::Source {
 public:
  /// Starts the threads; they connect, list and watch on their own from then on (failures are
  /// logged and retried, never returned). Fails only when a thread or descriptor cannot be made.
  static Result<std::unique_ptr<KubeSource>> start(ApiServerConfig config, KubeOptions options);
  /// Stops and joins every thread (within about a second).
  ~KubeSource() override;

  int fd() const override { return timer_.get(); }
  /// Merges the stores into a new World (always: see KubeSource.cpp); true.
  bool process_events() override;
  std::shared_ptr<const discovery::World> world() const override { return world_; }
  bool synced() const override;
  /// The collections not listed yet, by name.
  std::vector<std::string_view> unsynced() const;

  /// The pods the agent meshes now ("namespace/name"); see RedirectionMarker.
  void set_meshed(std::set<std::string> pods) { marker_->set_meshed(std::move(pods)); }
  /// A successor agent keeps the marks from now on: no more PATCHes from this one.
  void hand_over_marks() { marker_->hand_over(); }
  const std::vector<std::unique_ptr<Reflector>>& reflectors() const { return reflectors_; }
  const RedirectionMarker& marker() const { return *marker_; }

 private:
  explicit KubeSource(Fd timer) : timer_(std::move(timer)) {}
  /// From any reflector thread: a store changed; arms the timer unless it is armed.
  void notify();

  /// How long after a change the World is merged: four times what the last merge took, from
  /// 10 ms to 500 ms, so merging takes at most a fifth of the control thread however busy the
  /// API is. bench/kube_scale.py, 5,000 pods under 100 pod updates/s: a merge takes ~30 ms,
  /// and one per event took 100% of a core (60% with a fixed 50 ms, 21% with 200 ms).
  std::chrono::nanoseconds coalesce_delay() const;
  static constexpr std::chrono::milliseconds kMinDelay{10};
  static constexpr std::chrono::milliseconds kMaxDelay{500};

  Fd timer_;  ///< timerfd, armed by notify()
  std::atomic<bool> pending_{false};
  std::atomic<int64_t> merge_ns_{0};  ///< how long the last merge took
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Reflector>> reflectors_;  ///< in watch_table() order
  std::unique_ptr<RedirectionMarker> marker_;
  std::vector<std::thread> threads_;
  std::shared_ptr<const discovery::World> world_ = discovery::World::empty();
};

}  // namespace weft::kube

// Agent: the pods of the state file meshed again when the agent starts (ARCHITECTURE.md, "Pod
// lifecycle", Restart, and "While the agent is absent").
#include <sys/socket.h>

#include <algorithm>

#include "agent/Agent.hpp"
#include "agent/netns/Netns.hpp"
#include "agent/pods/StateFile.hpp"
#include "common/Fd.hpp"
#include "common/Log.hpp"

namespace weft::agent {
namespace {

/// The cookie of the netns at `path` (the key of weft_pods), read from a socket made inside it.
Result<uint64_t> netns_cookie_at(const Netns& home, const std::string& path) {
  auto netns = Netns::open(path);
  if (!netns) {
    return std::unexpected(netns.error());
  }
  return netns->run(home, []() -> Result<uint64_t> {
    Fd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe) {
      return fail_errno("socket");
    }
    return redirect::netns_cookie_of_socket(probe.get());
  });
}

}  // namespace

void Agent::restore_pods() {
  auto saved = load_state(config_.state_file);
  if (!saved) {
    log::error("state.unreadable", "file={} error=\"{}\" (starting with no pods)",
               config_.state_file, saved.error().message);
    return;
  }
  // Every pod's listeners are opened first and queue what arrives; the workers start on them
  // with one view that holds them all. A restored client never sees a pod of this node that is
  // not restored yet (it would take it for another node's and dial its tunnel port).
  std::vector<OpenedPod> opened;
  for (const auto& reg : *saved) {
    auto ok = open_pod(reg);
    if (ok) {
      opened.push_back(std::move(*ok));
      continue;
    }
    if (fd_exhausted(ok.error())) {
      fd_metrics_->exhausted(FdOperation::PodMesh);
    }
    not_restored(reg, netns_cookie_at(*home_, reg.netns), ok.error());
  }
  std::vector<std::vector<proxy::PodListeners>> served;
  for (OpenedPod& pod : opened) {
    const PodRegistration reg = pod.pod->registration;
    uint64_t cookie = pod.pod->netns_cookie;
    if (auto listeners = serve_pod(std::move(pod))) {
      served.push_back(std::move(*listeners));
    } else {
      not_restored(reg, cookie, listeners.error());
    }
  }
  publish_view();
  for (auto& listeners : served) {
    start_listeners(std::move(listeners));
  }
  // Pods that vanished while the agent was down must not stay redirected to nowhere.
  auto cookies = redirector_->pod_cookies();
  for (uint64_t cookie : cookies) {
    bool known = std::any_of(pods_.begin(), pods_.end(),
                             [&](const auto& p) { return p.second->netns_cookie == cookie; }) ||
                 std::any_of(unrestored_.begin(), unrestored_.end(),
                             [&](const auto& p) { return p.second.netns_cookie == cookie; });
    if (!known) {
      [[maybe_unused]] auto ok = redirector_->remove_pod(cookie);
    }
  }
  pods_changed();
}

void Agent::not_restored(const PodRegistration& reg, const Result<uint64_t>& cookie,
                         const Error& error) {
  if (!cookie) {
    log::warn("pod.restore_failed", "container={} pod={}/{} error=\"{}\" (dropped: {})",
              reg.container_id, reg.pod_namespace, reg.pod_name, error.message,
              cookie.error().message);
    return;
  }
  // A pod that still exists keeps failing closed rather than bypass the mesh unseen.
  unrestored_[reg.container_id] = {reg, *cookie};
  log::error("pod.restore_failed",
             "container={} pod={}/{} error=\"{}\" (kept in the mesh, fail closed, until an ADD "
             "meshes it again or a DEL removes it)",
             reg.container_id, reg.pod_namespace, reg.pod_name, error.message);
}

}  // namespace weft::agent

// Agent: the registration socket and the hand-over between two agents on one node, and the
// drain after SIGTERM (ARCHITECTURE.md, "Hand-over").
#include <poll.h>

#include <algorithm>
#include <chrono>

#include "agent/Agent.hpp"
#include "agent/pods/Predecessor.hpp"
#include "common/Log.hpp"

namespace weft::agent {
namespace {

/// How long a predecessor may take to answer the registrations it has queued (each within the
/// registration server's 2 s) and hand over.
constexpr std::chrono::milliseconds kHandOverTimeout{30000};
/// After the drain deadline, how long the workers have to end what is left (FIN) before the
/// agent exits anyway.
constexpr std::chrono::seconds kEndGrace{2};

}  // namespace

Result<void> Agent::open_registration() {
  auto server = RegistrationServer::listen(config_.registration_socket);
  if (!server) {
    return std::unexpected(server.error());
  }
  // Connected before our socket takes the path, asked after: every registration the
  // predecessor queued is answered by it, every later one by us.
  auto predecessor = Predecessor::connect(config_.registration_socket);
  if (!predecessor) {
    return std::unexpected(predecessor.error());
  }
  if (auto ok = server->install(); !ok) {
    return ok;
  }
  registration_ = std::make_unique<RegistrationServer>(std::move(*server));
  if (*predecessor) {
    auto started = std::chrono::steady_clock::now();
    if (auto ok = (*predecessor)->hand_over(kHandOverTimeout); !ok) {
      log::warn("agent.hand_over_failed", "error=\"{}\" (going on from the state file)",
                ok.error().message);
    } else {
      log::info("agent.handed_over", "ms={}",
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count());
    }
  }
  return {};
}

RegistrationReply Agent::hand_over() {
  if (handing_over_ || handed_over_) {
    return {false, "this agent is handing the node over already"};
  }
  handing_over_ = true;
  // Our socket file is the successor's now: nobody can queue here after these.
  registration_->serve_queued([this](const PodRegistration& reg) { return handle(reg); });
  persist();
  handing_over_ = false;
  handed_over_ = true;
  if (kube_ != nullptr) {
    kube_->hand_over_marks();
  }
  log::info("agent.handing_over",
            "pods={} (the successor owns them and the registration socket "
            "now; this agent carries its connections until SIGTERM)",
            pods_.size());
  return {true, {}};
}

void Agent::drain() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config_.drain_seconds);
  ready_ = false;         // /ready: 503 from now on
  registration_.reset();  // a successor serves them, or (none) weft-cni says no agent runs
  for (auto& w : workers_) {
    w->post(proxy::Drain{deadline});
  }
  auto started = std::chrono::steady_clock::now();
  // A worker ends what is left at the deadline, on its next tick; give it that long.
  auto give_up = deadline + kEndGrace;
  bool drained = false;
  while (!drained && std::chrono::steady_clock::now() < give_up) {
    pollfd fds[] = {{signals_.get(), POLLIN, 0}};
    if (::poll(fds, 1, 100) > 0) {
      log::warn("agent.drain_cut", "a second signal: what is left is reset");
      break;
    }
    drained =
        std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->drained(); });
  }
  log::info("agent.drained", "ms={} complete={}",
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count(),
            drained);
}

}  // namespace weft::agent

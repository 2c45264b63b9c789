// A data-plane thread: one io_uring, the per-core listener of every meshed pod, and the relays
// accepted on them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "agent/dispatch/ProtocolSniffer.hpp"
#include "agent/http/AppHttp.hpp"
#include "agent/http/OutboundHttp.hpp"
#include "agent/http/PlaintextInboundHttp.hpp"
#include "agent/http/UpstreamPool.hpp"
#include "agent/loop/Loop.hpp"
#include "agent/loop/Ring.hpp"
#include "agent/metrics/FdMetrics.hpp"
#include "agent/metrics/RequestMetrics.hpp"
#include "agent/metrics/TcpMetrics.hpp"
#include "agent/metrics/TunnelMetrics.hpp"
#include "agent/netns/Netns.hpp"
#include "agent/plan/Balancer.hpp"
#include "agent/plan/EndpointLoads.hpp"
#include "agent/plan/FlowPlan.hpp"
#include "agent/plan/NodeView.hpp"
#include "agent/pods/MeshedPod.hpp"
#include "agent/tunnel/TunnelSession.hpp"
#include "common/Fd.hpp"
#include "l7/PowerOfTwoChoices.hpp"
#include "l7/ProtocolDetector.hpp"
#include "l7/RetryBudget.hpp"

namespace weft::redirect {
class Redirector;
}

namespace weft::proxy {

class Relay;

/// What a worker needs from the rest of the agent. Everything here is safe to use from several
/// threads: map lookups are syscalls, counters are atomics, families lock internally.
struct WorkerContext {
  const redirect::Redirector& redirector;
  agent::TcpMetrics& metrics;
  agent::TunnelMetrics& tunnel_metrics;
  agent::RequestMetrics& request_metrics;
  agent::FdMetrics& fd_metrics;
  unsigned connect_timeout_ms = 5000;
  uint32_t socket_mark = 0;
  /// How long an outbound connection to a Service may stay silent before it is carried as TCP
  /// (server-speaks-first protocols).
  unsigned protocol_detection_timeout_ms = 1000;
  /// A TCP connection that holds bytes none of which moved for this long is reset (0: never).
  std::chrono::seconds stall_timeout{300};
  /// Seed of the random choices (worker `i` uses seed + i); empty: from getrandom().
  std::optional<uint64_t> random_seed;
};

/// Listeners for one pod on one worker (each is one socket of a SO_REUSEPORT group).
struct PodListeners {
  std::shared_ptr<const agent::MeshedPod> pod;
  Fd outbound_v4;  ///< 127.0.0.1:15001
  Fd outbound_v6;  ///< [::1]:15001, empty when the pod has no IPv6 loopback
  Fd inbound;      ///< 0.0.0.0:15006 (tc assigns captured SYNs here)
  Fd tunnel;       ///< 0.0.0.0:15008 (mTLS from other agents)
};

/// Messages from the control thread. Applied on the worker's own thread, in order.
struct AddPod {
  PodListeners listeners;
};
struct RemovePod {
  uint32_t pod_id = 0;
};
struct UpdateView {
  std::shared_ptr<const NodeView> view;
};
using WorkerCommand = std::variant<AddPod, RemovePod, UpdateView>;

class Worker {
 public:
  static Result<std::unique_ptr<Worker>> create(unsigned index, WorkerContext context,
                                                std::shared_ptr<const NodeView> view);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Starts the thread.
  void start();
  /// Thread-safe: queues a command and wakes the loop.
  void post(WorkerCommand command);
  /// Stops the loop and joins the thread; open connections are reset.
  void stop();

  // Used by Relay, on this worker's thread only.
  unsigned index() const { return index_; }
  Ring& ring() { return *ring_; }
  Loop& loop() { return loop_; }
  Balancer& balancer() { return balancer_; }
  const WorkerContext& context() const { return context_; }
  const std::string& trust_domain() const { return view_->trust_domain; }
  void destroy(Relay* relay);

  // Used by TunnelSession, on this worker's thread only.
  /// Opens an upstream socket inside `pod`'s netns, marked so the BPF hooks leave it alone.
  /// With `transparent_source` (inbound delivery) it is bound to that foreign address with
  /// IP_TRANSPARENT and carries the delivery mark, so the app sees the real client.
  Result<Fd> open_upstream(const agent::MeshedPod& pod, sa_family_t family,
                           const std::optional<IpAddr>& transparent_source = std::nullopt);
  std::vector<agent::FlowCounters> counters_for(const FlowPlan& plan);
  /// A CONNECT request arrived on `pod`'s :15008: plan (and authorize, counting refusals).
  std::optional<FlowPlan> plan_tunnel_stream(const agent::MeshedPod& pod, const TunnelRequest& req,
                                             const std::string& principal);
  /// The current credential generation of a local identity (0 when it has none).
  uint64_t identity_generation(const std::string& principal) const;
  /// The session takes no new streams any more: drop it from the pool.
  void tunnel_unusable(TunnelSession* session);
  void store_ticket(const TunnelKey& key, tunnel::SslSessionPtr ticket);
  void destroy(TunnelSession* session);

  // Used by the L7 path (AppHttp, L7Exchange, H2Connection, ProtocolSniffer), on this
  // worker's thread only.
  const std::shared_ptr<const NodeView>& view() const { return view_; }
  UpstreamPool& upstreams() { return upstreams_; }
  EndpointLoads& endpoint_loads() { return endpoint_loads_; }
  /// A pooled (or new) tunnel session from `pod` to the agent behind `plan.target` that takes
  /// one more stream.
  Result<TunnelSession*> tunnel_for(const agent::MeshedPod& pod, const FlowPlan& plan);
  void destroy(AppHttp* http);
  /// Carries an outbound connection by its protocol; `received` was read by detection.
  void dispatch_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream,
                         const SockAddr& original, l7::Protocol protocol,
                         std::span<const uint8_t> received);
  /// Carries an unmeshed client's connection from `peer` to `pod`'s app at `local` by its
  /// protocol: HTTP per request, anything else as TCP; refused when the pod's policy of this
  /// moment denies it.
  void dispatch_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream,
                        const SockAddr& peer, const SockAddr& local, l7::Protocol protocol,
                        std::span<const uint8_t> received);
  /// The retry budget of requests to the Service at `service` (per worker).
  l7::RetryBudget& retry_budget(const SockAddr& service) { return retry_budgets_[service]; }
  /// Protocol detection is over for the sniffer's connection (Undecided: it failed).
  void detected(ProtocolSniffer& sniffer, l7::Protocol protocol);

 private:
  enum class ListenerKind { Outbound, Inbound, Tunnel };

  /// A multishot accept on one listening socket.
  struct Listener final : Operation {
    Worker* worker = nullptr;
    std::shared_ptr<const agent::MeshedPod> pod;
    Fd fd;
    ListenerKind kind = ListenerKind::Outbound;
    bool closing = false;
    void complete(int res, unsigned flags) override;
  };

  /// A one-second timeout, re-armed forever: drives tunnel handshake and idle timeouts.
  struct Tick final : Operation {
    Worker* worker = nullptr;
    __kernel_timespec interval{1, 0};
    void complete(int res, unsigned flags) override;
  };

  /// An absolute timeout at the earliest request deadline; every completion expires what is due.
  struct DeadlineTimer final : Operation {
    Worker* worker = nullptr;
    __kernel_timespec at{};
    void complete(int res, unsigned flags) override;
  };

  /// Reads the eventfd the control thread writes after posting commands.
  struct Wakeup final : Operation {
    Worker* worker = nullptr;
    uint64_t value = 0;
    void complete(int res, unsigned flags) override;
  };

  Worker(unsigned index, WorkerContext context, std::shared_ptr<const NodeView> view, Netns home,
         std::unique_ptr<Ring> ring, Fd wakeup_fd, uint64_t seed);
  void run();
  void arm_wakeup();
  void drain_commands();
  void apply(AddPod& cmd);
  void apply(RemovePod& cmd);
  void apply(UpdateView& cmd);
  void add_listener(std::shared_ptr<const agent::MeshedPod> pod, Fd fd, ListenerKind kind);
  void arm_accept(Listener& l);
  void on_accept(Listener& l, int res, unsigned flags);
  void accept_outbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream);
  /// The loop's settle(), then the deadline timer for what is due next.
  void settle();
  /// Arms the deadline timer when the earliest deadline is sooner than the one it waits for.
  void arm_deadline_timer();
  void accept_inbound(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream);
  void accept_tunnel(std::shared_ptr<const agent::MeshedPod> pod, Fd downstream);
  /// Counts and refuses a connection the destination's policy does not allow.
  void refuse(Fd downstream, const FlowPlan& plan);
  void launch(const agent::MeshedPod& pod, Fd downstream, FlowPlan plan,
              std::span<const uint8_t> received = {});
  /// Carries `downstream` over a pooled (or new) tunnel session to the destination's agent.
  void launch_tunneled(const agent::MeshedPod& pod, Fd downstream, FlowPlan plan,
                       std::span<const uint8_t> received = {});
  void arm_tick();
  void on_tick();
  /// Counts a descriptor the worker could not get, and logs it at most once per tick.
  void out_of_fds(agent::FdOperation operation, const std::string& detail);

  unsigned index_;
  WorkerContext context_;
  std::shared_ptr<const NodeView> view_;
  std::unique_ptr<Ring> ring_;
  Netns home_;
  Fd wakeup_fd_;
  Wakeup wakeup_;
  Balancer balancer_;
  std::unordered_map<Listener*, std::unique_ptr<Listener>> listeners_;
  std::vector<Listener*> paused_;  ///< listeners whose accept waits for the next tick
  bool fd_warned_ = false;         ///< out_of_fds logged since the last tick
  std::unordered_map<Relay*, std::unique_ptr<Relay>> relays_;
  Tick tick_;
  std::unordered_map<TunnelSession*, std::unique_ptr<TunnelSession>> tunnels_;
  /// Client sessions that take new streams, by (source identity, destination pod).
  TunnelPool<TunnelSession> tunnel_pool_;
  /// The newest resumption ticket per key; expired ones are dropped on the tick.
  TicketStore tickets_;
  // L7. Declared in this order so that destruction runs exchanges (in http_) first, then the
  // pooled connections they used, while the loop's lists they report to still exist.
  Loop loop_;
  std::unordered_map<SockAddr, l7::RetryBudget> retry_budgets_;
  DeadlineTimer deadline_timer_;
  std::optional<std::chrono::steady_clock::time_point> timer_armed_for_;
  EndpointLoads endpoint_loads_;
  UpstreamPool upstreams_;
  std::unordered_map<ProtocolSniffer*, std::unique_ptr<ProtocolSniffer>> sniffers_;
  std::unordered_map<AppHttp*, std::unique_ptr<AppHttp>> http_;
  std::mutex mutex_;  // guards commands_ between the control thread and this one
  std::deque<WorkerCommand> commands_;
  std::atomic<bool> stopping_ = false;  ///< read once per loop turn: no lock for it
  std::thread thread_;
};

}  // namespace weft::proxy
